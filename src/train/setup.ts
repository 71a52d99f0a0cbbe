// A run's configuration: the user's settings checked and resolved against the method's defaults and preset (a
// new run), or the settings a run recorded (--resume). Nothing here trains.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { Dataset } from '../data/dataset.js';
import { tf } from '../engine/engine.js';
import { UserError } from '../errors.js';
import '../methods/index.js';
import type { TrainingDefaults } from '../methods/method.js';
import { resolve } from '../methods/registry.js';
import { TrainConfigSchema, type RecordedConfig, type TrainConfigInput } from '../runs/config.js';
import { readRecordedConfig, runPaths } from '../runs/files.js';
import { VERSION } from '../version.js';

export interface RunSetup {
  out: string;
  config: RecordedConfig;
  /** Transfer methods learn from a source data set and a target domain, and are evaluated on the target's pairs. */
  transfer: boolean;
  ds: Dataset;
  targetDs: Dataset | undefined;
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

function describe(ds: Dataset): RecordedConfig['dataset'] {
  return { path: resolvePath(ds.dir), name: ds.name, sha256: sha256(`${ds.dir}/dataset.json`), items: ds.size };
}

function prepareRunDir(dir: string, resume: boolean, force: boolean): void {
  if (resume) {
    if (!existsSync(runPaths(dir).config)) throw new UserError(`${dir}: no run to resume (no config.json)`);
    return;
  }
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    if (!force) throw new UserError(`${dir}: already exists (use --resume to continue it or --force to replace it)`);
    rmSync(dir, { recursive: true, force: true });
  }
  mkdirSync(dir, { recursive: true });
}

function newConfig(input: TrainConfigInput, out: string, ds: Dataset): RecordedConfig {
  const parsed = TrainConfigSchema.safeParse(input);
  if (!parsed.success) throw new UserError(`training option ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
  const c = parsed.data;
  const trainingKeys = ['epochs', 'batchSize', 'lr', 'beta1', 'beta2', 'weightDecay', 'lrSchedule'] as const;
  const overrides = Object.fromEntries(trainingKeys.filter((k) => c[k] !== undefined).map((k) => [k, c[k]])) as Partial<TrainingDefaults>;
  if (c.refit && c.selectOn === 'test') throw new UserError('--refit: with --select-on test every training item is already trained on; refit is for selection on validation');
  if (c.refit && c.reconstruct) throw new UserError('--refit cannot be combined with --reconstruct');
  const r = resolve(c.method, c.preset, c.options, overrides);
  return {
    ...c,
    out,
    resolved: { options: r.options, training: { ...r.training }, preset: r.preset ?? null },
    selection: c.selectOn === 'test'
      ? 'best epoch on the test split (the papers\' protocol; optimistic, not a held-out estimate)'
      : (ds.splitNames.includes('val') ? 'best epoch on the data set\'s val split' : `best epoch on a validation split carved from train (${Math.round(c.valFraction * 100)}%, stratified, seed ${c.seed})`)
        + (c.refit ? ', then a fresh model trained on train + validation for that many epochs (--refit)' : ''),
    dataset: describe(ds),
    ...(c.target ? { targetDataset: describe(Dataset.open(c.target)) } : {}),
    versions: { xmodal: VERSION, node: process.version, tfjs: tf.version.tfjs },
    valItems: null,
  };
}

export function setUpRun(input: TrainConfigInput, options: { resume?: boolean | undefined; force?: boolean | undefined }): RunSetup {
  const out = resolvePath(input.out);
  prepareRunDir(out, options.resume ?? false, options.force ?? false);
  const recorded = options.resume ? readRecordedConfig(out) : undefined;
  // Every file is checked against dataset.json's checksums: a tampered or truncated file never trains silently.
  const ds = Dataset.open(recorded ? recorded.dataset.path : input.data).verify();
  let config: RecordedConfig;
  if (recorded) {
    config = recorded;
    for (const d of [config.dataset, config.targetDataset]) {
      if (d && sha256(`${d.path}/dataset.json`) !== d.sha256) throw new UserError(`${d.path}: the data set changed since the run started (dataset.json hash differs)`);
    }
    // The one setting a resume may change: how often it checkpoints (it does not change the result).
    if (input.checkpointSeconds !== undefined) config.checkpointSeconds = input.checkpointSeconds;
  } else {
    config = newConfig(input, out, ds);
  }
  const resolved = resolve(config.method, config.preset, config.resolved.options, config.resolved.training);
  const transfer = resolved.factory.transfer === true;
  if (transfer && !config.targetDataset) throw new UserError(`${config.method} learns a transfer task: give the target domain with --target DIR (the source is --data)`);
  if (!transfer && config.targetDataset) throw new UserError(`--target: ${config.method} does not learn transfer tasks (aeir does)`);
  if (transfer && config.refit) throw new UserError(`--refit: ${config.method} selects on the source domain's validation pairs; refit is not available for transfer runs`);
  const targetDs = config.targetDataset ? Dataset.open(config.targetDataset.path).verify() : undefined;
  return { out, config, transfer, ds, targetDs };
}
