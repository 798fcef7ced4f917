/** Order dates as the contract accepts them: `YYYY-MM-DD` or the Kaggle file's `M/D/YYYY`. */

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const US_DATE = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/;

/** The ISO form of a real calendar date in either accepted format, or undefined. */
export function parseOrderDate(text: string): string | undefined {
  let match = ISO_DATE.exec(text);
  let year: number, month: number, day: number;
  if (match) {
    [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  } else {
    match = US_DATE.exec(text);
    if (!match) return undefined;
    [month, day, year] = [Number(match[1]), Number(match[2]), Number(match[3])];
  }
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}
