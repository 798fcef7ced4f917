/**
 * EnqueuedTimeUtc as Capture writes it: US culture, 12-hour clock, UTC, no zone marker
 * (`11/24/2026 9:16:48 AM`). ISO 8601 text is accepted too, for files written by other tools.
 */
const CAPTURE_TIME = /^(\d{1,2})\/(\d{1,2})\/(\d{4}) (\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))? ?([AP]M)$/i;

export class EnqueuedTimeError extends Error {
  constructor(readonly text: string) {
    super(`EnqueuedTimeUtc "${text}" is not a Capture time (M/D/YYYY h:mm:ss AM|PM)`);
    this.name = 'EnqueuedTimeError';
  }
}

export function parseEnqueuedTimeUtc(text: string): Date {
  const match = CAPTURE_TIME.exec(text);
  if (!match) {
    const iso = /^\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2})$/.test(text) ? new Date(text) : undefined;
    if (iso && !Number.isNaN(iso.getTime())) return iso;
    throw new EnqueuedTimeError(text);
  }
  const [, month, day, year, hour12, minute, second, fraction = '', meridiem] = match;
  const h = Number(hour12);
  if (h < 1 || h > 12) throw new EnqueuedTimeError(text);
  const hour = (h % 12) + (meridiem.toUpperCase() === 'PM' ? 12 : 0);
  const millis = Number(fraction.padEnd(3, '0').slice(0, 3));
  const date = new Date(
    Date.UTC(Number(year), Number(month) - 1, Number(day), hour, Number(minute), Number(second), millis),
  );
  if (date.getUTCDate() !== Number(day) || date.getUTCMonth() !== Number(month) - 1) {
    throw new EnqueuedTimeError(text);
  }
  return date;
}

export function formatEnqueuedTimeUtc(date: Date): string {
  const hour = date.getUTCHours();
  const pad = (n: number): string => String(n).padStart(2, '0');
  return (
    `${date.getUTCMonth() + 1}/${date.getUTCDate()}/${date.getUTCFullYear()} ` +
    `${hour % 12 === 0 ? 12 : hour % 12}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} ` +
    (hour < 12 ? 'AM' : 'PM')
  );
}
