// Parsing of CLI option values, each failure a one-line user error that names the option.
import { UserError } from '../errors.js';

export function positiveInt(option: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`${option}: '${value}' is not a positive integer`);
  return n;
}

export function nonNegativeInt(option: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UserError(`${option}: '${value}' is not a non-negative integer`);
  return n;
}

export function nonNegativeNumber(option: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new UserError(`${option}: '${value}' is not a non-negative number`);
  return n;
}

/** "a=1,b=2" -> {a: 1, b: 2}. */
export function numberMap(option: string, value: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [key, raw] = part.split('=');
    const n = Number(raw);
    if (!key || raw === undefined || !Number.isFinite(n)) throw new UserError(`${option}: '${part}' is not NAME=NUMBER`);
    out[key] = n;
  }
  return out;
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function oneOf<T extends string>(option: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new UserError(`${option}: '${value}' is not one of ${allowed.join(', ')}`);
  return value as T;
}
