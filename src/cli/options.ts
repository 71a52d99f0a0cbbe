// CLI options through zod (as eval's): one schema per command gives the flags' types, their checks and the
// one-line message that names the flag. Commander hands over strings; `num` reads them as numbers first, so a
// flag can reuse the very schema of the setting it feeds (TrainConfigSchema's `lr` for --lr, say).
import { z } from 'zod';
import { UserError } from '../errors.js';
import { QueryExpansionSchema } from '../eval/rerank.js';
import { KReciprocalSchema } from '../eval/k-reciprocal.js';

/** A string flag read as a number (NaN for a non-number, so the schema's own check reports it). */
export function num<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => (typeof v === 'string' ? (v.trim() === '' ? Number.NaN : Number(v)) : v), schema);
}

export const positiveInt = num(z.number().int().positive());
export const nonNegativeInt = num(z.number().int().nonnegative());
export const nonNegativeNumber = num(z.number().nonnegative());
export const fraction = num(z.number().gt(0).lt(1));
export const flag = z.boolean().default(false);

/** "a=1,b=2" -> {a: 1, b: 2}. */
export const numberMap = z.string().transform((value, ctx) => {
  const out: Record<string, number> = {};
  for (const part of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [key, raw] = part.split('=');
    const n = Number(raw);
    if (!key || raw === undefined || raw.trim() === '' || !Number.isFinite(n)) {
      ctx.addIssue({ code: 'custom', message: `'${part}' is not NAME=NUMBER` });
      return z.NEVER;
    }
    out[key] = n;
  }
  return out;
});

/** "N,WEIGHT" read into the service's QueryExpansionSchema (N a count or a share below 1, WEIGHT >= 0). */
export const queryExpansionFlag = z.string().transform((s, ctx) => {
  const [n, weight, ...rest] = s.split(',').map((x) => (x.trim() === '' ? Number.NaN : Number(x)));
  const parsed = QueryExpansionSchema.safeParse({ n, weight });
  if (rest.length || !parsed.success) {
    ctx.addIssue({ code: 'custom', message: 'expected N,WEIGHT: N a count (1, 2, ...) or a share of the retrieval set (0 < N < 1), WEIGHT >= 0' });
    return z.NEVER;
  }
  return parsed.data;
});

/** A comma-separated list of names. */
export const list = z.string().transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));

export const flagName = (key: string) => (key.length === 1 ? `-${key}` : `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);

/** Commander's option values checked against a command's schema; the first problem as "--flag 'value': why". */
export function parseFlags<S extends z.ZodType>(schema: S, raw: Record<string, unknown>): z.output<S> {
  const parsed = schema.safeParse(raw, { error: plainWords });
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const key = String(issue?.path[0] ?? '');
  const value = raw[key];
  const shown = typeof value === 'string' ? ` '${value}'` : '';
  throw new UserError(`${key ? flagName(key) : 'options'}${shown}: ${issue?.message ?? 'invalid'}`);
}

/** zod's default number messages ("Too small: expected number to be >=0") said as a CLI user reads them; a schema's own message wins. */
function plainWords(issue: z.core.$ZodRawIssue): string | undefined {
  const bound = (issue as { minimum?: unknown; maximum?: unknown; inclusive?: boolean });
  if (issue.code === 'too_small' && issue.origin === 'number') return `must be ${bound.inclusive ? 'at least' : 'more than'} ${String(bound.minimum)}`;
  if (issue.code === 'too_big' && issue.origin === 'number') return `must be ${bound.inclusive ? 'at most' : 'less than'} ${String(bound.maximum)}`;
  if (issue.code === 'invalid_type' && issue.expected === 'int') return 'not a whole number';
  if (issue.code === 'invalid_type' && issue.expected === 'number') return 'not a number';
  return undefined;
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** "--k-reciprocal K1,K2,LAMBDA" (eval/k-reciprocal.ts). */
export const kReciprocalFlag = z.string().transform((s, ctx) => {
  const [k1, k2, lambda, ...rest] = s.split(',').map((x) => (x.trim() === '' ? Number.NaN : Number(x)));
  const parsed = KReciprocalSchema.safeParse({ k1, k2, lambda });
  if (rest.length || !parsed.success) {
    ctx.addIssue({ code: 'custom', message: 'expected K1,K2,LAMBDA: K1 neighbours (a count, or a share of the retrieval set below 1), K2 >= 1 a count, 0 <= LAMBDA <= 1 (weight of the plain distance; 1 is plain search)' });
    return z.NEVER;
  }
  return parsed.data;
});
