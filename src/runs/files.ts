// The files of a run directory, each read through its schema: config.json, artifacts.json (label graph, label
// vectors), metrics.jsonl (one line per epoch), checkpoint/ (resume state, replaced atomically), best/ (the selected
// model), result.json/.md.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { UserError } from '../errors.js';
import type { Adam } from '../engine/adam.js';
import type { Method } from '../methods/method.js';
import { writeDirectoryAtomicallySync, writeFileAtomically } from '../util/atomic-dir.js';
import { readJsonFileAs } from '../util/read-file.js';
import { RecordedConfigSchema, type RecordedConfig } from './config.js';
import { readTensors, writeTensors, type NamedArray } from './tensor-file.js';

// JSON has no NaN: a score that is undefined (no query had a relevant item) is written as null.
const figure = z.number().nullable();

const ScoresSchema = z.object({ metric: z.enum(['mAP', 'rSum']), scores: z.record(z.string(), figure), average: figure });

/** One line of metrics.jsonl. */
export const EpochRecordSchema = z.object({
  epoch: z.number().int().positive(),
  seconds: z.number().nonnegative(),
  /** Mean loss terms per step. */
  losses: z.record(z.string(), figure),
  /**
   * Validation (or, under selectOn=test, test) scores: mAP per direction and their mean (label protocol), or
   * Recall@K per direction and their sum rSum (instance protocol of transfer runs).
   */
  selection: ScoresSchema.extend({ split: z.string() }),
  /** Test scores when tracked; never used for selection under selectOn=val. */
  test: ScoresSchema.optional(),
  /** Set for epochs of a later stage (fit, modal reconstruction). */
  stage: z.string().optional(),
});

export interface Scores {
  metric: 'mAP' | 'rSum';
  scores: Record<string, number>;
  average: number;
}

export interface EpochRecord {
  epoch: number;
  seconds: number;
  losses: Record<string, number>;
  selection: { split: string } & Scores;
  test?: Scores;
  stage?: string;
}

export interface CheckpointMeta {
  epoch: number;
  bestEpoch: number;
  bestScore: number;
  step: number;
}

/** A run's config.json, checked (one line naming the file when it is corrupt). */
export function readRecordedConfig(dir: string): RecordedConfig {
  return readJsonFileAs(runPaths(dir).config, RecordedConfigSchema);
}

// JSON has no -Infinity: a best score not yet set is written as null.
const score = z.number().nullable().transform((v) => v ?? -Infinity);
const CheckpointMetaSchema = z.object({ epoch: z.number().int().nonnegative(), bestEpoch: z.number().int().nonnegative(), bestScore: score, step: z.number().int().nonnegative() });
export const BestMetaSchema = z.object({ epoch: z.number().int().nonnegative(), score, refit: z.object({ trainItems: z.number() }).optional() });

export const runPaths = (dir: string) => ({
  config: join(dir, 'config.json'),
  artifacts: join(dir, 'artifacts.json'),
  metrics: join(dir, 'metrics.jsonl'),
  checkpoint: join(dir, 'checkpoint'),
  best: join(dir, 'best'),
  result: join(dir, 'result.json'),
  resultMd: join(dir, 'result.md'),
});

/** Copies (dataSync reads the values out of the backend). */
function modelArrays(method: Method): NamedArray[] {
  return [...method.state()].map(([name, v]) => ({ name, shape: v.shape, data: v.dataSync() as Float32Array }));
}

export function loadModelState(method: Method, dir: string, base = 'model'): void {
  const saved = readTensors(dir, base);
  for (const [name, v] of method.state()) {
    const t = saved.get(name);
    if (!t) throw new UserError(`${join(dir, `${base}.json`)}: no tensor ${name} (the run was made by another model)`);
    if (t.data.length !== v.size) throw new UserError(`${join(dir, `${base}.json`)}: tensor ${name} has ${t.data.length} values, the model needs ${v.size}`);
    v.assign(tf.tensor(t.data, v.shape));
  }
}

export interface BestMeta {
  epoch: number;
  /** The selection score of that epoch. */
  score: number;
  /** Set when the model was retrained on train + validation for `epoch` epochs (--refit). */
  refit?: { trainItems: number };
}

/** A copy of the model's state at its best epoch so far, held until it is written with the next checkpoint. */
export interface BestSnapshot {
  arrays: NamedArray[];
  meta: BestMeta;
}

export function snapshotBest(method: Method, meta: BestMeta): BestSnapshot {
  return { arrays: modelArrays(method), meta };
}

export function writeBest(dir: string, best: BestSnapshot): void {
  writeDirectoryAtomicallySync(runPaths(dir).best, true, (tmp) => {
    writeTensors(tmp, 'model', best.arrays);
    writeFileSync(join(tmp, 'meta.json'), JSON.stringify(best.meta) + '\n');
  });
}

export function saveCheckpoint(dir: string, method: Method, optimizer: Adam, meta: CheckpointMeta): void {
  writeDirectoryAtomicallySync(runPaths(dir).checkpoint, true, (tmp) => {
    writeTensors(tmp, 'model', modelArrays(method));
    const state = optimizer.getState();
    const vars = optimizer.variables;
    writeTensors(tmp, 'optimizer', vars.flatMap((v, i) => [
      { name: `m/${i}`, shape: v.shape, data: state.m[i] as Float32Array },
      { name: `v/${i}`, shape: v.shape, data: state.v[i] as Float32Array },
    ]));
    writeFileSync(join(tmp, 'meta.json'), JSON.stringify({ ...meta, step: state.step }) + '\n');
  });
}

export function loadCheckpoint(dir: string, method: Method, optimizer: Adam): CheckpointMeta {
  const paths = runPaths(dir);
  if (!existsSync(join(paths.checkpoint, 'meta.json'))) throw new UserError(`${dir}: no checkpoint to resume from`);
  const meta: CheckpointMeta = readJsonFileAs(join(paths.checkpoint, 'meta.json'), CheckpointMetaSchema);
  loadModelState(method, paths.checkpoint);
  const saved = readTensors(paths.checkpoint, 'optimizer');
  const n = optimizer.variables.length;
  const get = (name: string) => {
    const t = saved.get(name);
    if (!t) throw new UserError(`${paths.checkpoint}: optimizer state ${name} missing`);
    return t.data;
  };
  optimizer.setState({ step: meta.step, m: Array.from({ length: n }, (_, i) => get(`m/${i}`)), v: Array.from({ length: n }, (_, i) => get(`v/${i}`)) });
  return meta;
}

/** Appends one epoch; on resume, lines past the checkpoint are dropped first so the log matches the state. */
export function appendEpoch(dir: string, record: EpochRecord): void {
  appendFileSync(runPaths(dir).metrics, JSON.stringify(record) + '\n');
}

/** metrics.jsonl, each line checked (a NaN figure is written, and read back, as null). */
export function readEpochs(dir: string): EpochRecord[] {
  const path = runPaths(dir).metrics;
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((line, i) => {
    let parsed;
    try {
      parsed = EpochRecordSchema.safeParse(JSON.parse(line));
    } catch {
      throw new UserError(`${path}:${i + 1}: not JSON`);
    }
    if (!parsed.success) throw new UserError(`${path}:${i + 1}: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
    return parsed.data as EpochRecord;
  });
}

export function truncateEpochs(dir: string, upTo: number): void {
  const kept = readEpochs(dir).filter((r) => r.epoch <= upTo);
  writeFileAtomically(runPaths(dir).metrics, kept.map((r) => JSON.stringify(r) + '\n').join(''));
}
