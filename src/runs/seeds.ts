// The multi-seed protocol (#21): one configuration trained with several seeds, one run per seed in
// DIR/seed-N, and DIR/seeds.json with the plan (so an interrupted job resumes) and, once every seed is done, the
// mean and standard deviation of each figure. Figures come from each run's result.json, computed once per run
// after its model was selected on validation; nothing here chooses anything.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors.js';
import { readJsonFileAs } from '../util/read-file.js';

export const SEEDS_FILE = 'seeds.json';

/** "0-4" or "0,3,7" (or a mix, "0-2,9"): distinct non-negative seeds in the order given. */
export function parseSeeds(text: string): number[] {
  const seeds: number[] = [];
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new UserError(`--seeds '${text}': expected seeds such as 0-4 or 0,3,7`);
    const [from, to] = [Number(m[1]), Number(m[2] ?? m[1])];
    if (to < from) throw new UserError(`--seeds '${text}': ${from}-${to} runs backwards`);
    for (let s = from; s <= to; s++) seeds.push(s);
  }
  if (new Set(seeds).size !== seeds.length) throw new UserError(`--seeds '${text}': a seed is given twice`);
  if (seeds.length < 2) throw new UserError(`--seeds '${text}': give at least two seeds (one seed is --seed)`);
  if (seeds.length > 100) throw new UserError(`--seeds '${text}': at most 100 seeds`);
  return seeds;
}

export const seedRunDir = (dir: string, seed: number) => join(dir, `seed-${seed}`);

const StatSchema = z.object({ mean: z.number(), std: z.number(), min: z.number(), max: z.number() });

export const SeedsFileSchema = z.object({
  format: z.literal('xmodal-seeds'),
  version: z.literal(1),
  seeds: z.array(z.number().int().nonnegative()),
  /** The training settings every seed shares (xmodal train's, without seed and out). */
  train: z.record(z.string(), z.unknown()),
  /** Present once every seed's run has finished. */
  summary: z.object({
    /** Per seed: its run directory, selected epoch, validation score, and test figures (mAP per direction, mean; rSum for transfer runs). */
    runs: z.array(z.object({ seed: z.number(), dir: z.string(), bestEpoch: z.number(), validation: z.number(), test: z.record(z.string(), z.number()) })),
    /** Each test figure and the validation score over the seeds: mean, sample standard deviation (n - 1), min, max. */
    test: z.record(z.string(), StatSchema),
    validation: StatSchema,
  }).optional(),
});
export type SeedsFile = z.infer<typeof SeedsFileSchema>;

const ResultSchema = z.object({
  bestEpoch: z.number(),
  bestScore: z.number(),
  averageMAP: z.number().optional(),
  rSum: z.number().optional(),
  directions: z.record(z.string(), z.object({ mAP: z.number() }).passthrough()).optional(),
}).passthrough();

export function stat(values: number[]): z.infer<typeof StatSchema> {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const std = values.length > 1 ? Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1)) : 0;
  return { mean, std, min: Math.min(...values), max: Math.max(...values) };
}

/** The summary over finished seed runs; a run without result.json (no test split, or unfinished) is named. */
export function summarizeSeeds(dir: string, seeds: number[]): NonNullable<SeedsFile['summary']> {
  const runs = seeds.map((seed) => {
    const runDir = seedRunDir(dir, seed);
    const path = join(runDir, 'result.json');
    if (!existsSync(path)) throw new UserError(`${path}: missing (the seed-${seed} run has not finished, or its data set has no test split)`);
    const r = readJsonFileAs(path, ResultSchema);
    const test: Record<string, number> = {};
    for (const [direction, d] of Object.entries(r.directions ?? {})) test[direction] = d.mAP;
    if (r.averageMAP !== undefined) test.mean = r.averageMAP;
    if (r.rSum !== undefined) test.rSum = r.rSum;
    return { seed, dir: runDir, bestEpoch: r.bestEpoch, validation: r.bestScore, test };
  });
  const figures = Object.keys(runs[0]!.test);
  return {
    runs,
    test: Object.fromEntries(figures.map((f) => [f, stat(runs.map((r) => r.test[f] ?? Number.NaN))])),
    validation: stat(runs.map((r) => r.validation)),
  };
}

export function readSeedsFile(dir: string): SeedsFile {
  const path = join(dir, SEEDS_FILE);
  if (!existsSync(path)) throw new UserError(`${path}: missing (not a directory made by xmodal train --seeds)`);
  return readJsonFileAs(path, SeedsFileSchema);
}

/** The summary as a table, one line per seed and a mean ± std line. */
export function formatSeeds(summary: NonNullable<SeedsFile['summary']>): string {
  const figures = Object.keys(summary.test);
  const lines = [['seed', 'epoch', 'val', ...figures].join('\t')];
  for (const r of summary.runs) lines.push([r.seed, r.bestEpoch, r.validation.toFixed(4), ...figures.map((f) => (r.test[f] as number).toFixed(4))].join('\t'));
  lines.push(['mean ± std', '', `${summary.validation.mean.toFixed(4)} ± ${summary.validation.std.toFixed(4)}`, ...figures.map((f) => `${summary.test[f]!.mean.toFixed(4)} ± ${summary.test[f]!.std.toFixed(4)}`)].join('\t'));
  return lines.join('\n');
}

