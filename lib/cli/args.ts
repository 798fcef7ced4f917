// Node's own parseArgs: the CLI needs flags and typed options only, which no dependency does better.
import { parseArgs } from 'node:util';
import { errorMessage } from '../errorMessage';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

type OptionSpec = { type: 'string' | 'boolean'; short?: string };

export function parseCommandArgs<O extends Record<string, OptionSpec>>(args: string[], options: O) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(errorMessage(error));
  }
}

export function numberOption(value: string | undefined, name: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed) || parsed < min) {
    throw new UsageError(`--${name} must be a number ≥ ${min}, not "${value}"`);
  }
  return parsed;
}

export function integerOption(value: string | undefined, name: string, fallback: number, min = 0): number {
  const parsed = numberOption(value, name, fallback, min);
  if (!Number.isInteger(parsed)) throw new UsageError(`--${name} must be a whole number, not "${value}"`);
  return parsed;
}

export function fractionOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = numberOption(value, name, 0);
  if (parsed > 1) throw new UsageError(`--${name} is a share of events from 0 to 1, not ${value}`);
  return parsed;
}

/** A duration as seconds, or with a unit: `90`, `90s`, `15m`, `2h`; returned in milliseconds. */
export function durationOption(value: string | undefined, name: string, fallbackMs: number): number {
  if (value === undefined) return fallbackMs;
  const match = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(value.trim());
  if (!match || Number(match[1]) <= 0) {
    throw new UsageError(`--${name} must be a positive duration such as 90s, 15m or 2h, not "${value}"`);
  }
  return Number(match[1]) * { s: 1_000, m: 60_000, h: 3_600_000 }[match[2] ?? 's']!;
}

export function booleanText(value: string | undefined, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new UsageError(`--${name} must be true or false, not "${value}"`);
}
