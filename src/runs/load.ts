// A trained run, loaded back: its configuration, data set and the selected model with per-modality encoders.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Dataset } from '../data/dataset.js';
import { initEngine } from '../engine/engine.js';
import { UserError } from '../errors.js';
import '../methods/index.js';
import type { Method } from '../methods/method.js';
import { create, resolve } from '../methods/registry.js';
import { readJsonFileAs } from '../util/read-file.js';
import { BestMetaSchema, loadModelState, readRecordedConfig, runPaths } from './run-dir.js';
import type { RecordedConfig } from './trainer.js';

export interface LoadedRun {
  dir: string;
  config: RecordedConfig;
  dataset: Dataset;
  method: Method;
  bestEpoch: number;
  /** The selection score of the selected epoch (-Infinity when none was finite). */
  bestScore: number;
}

/**
 * `dataDir` overrides the recorded data set (same modalities, dimensions and labels are required); a transfer
 * run's default is its target domain.
 */
export async function loadRun(dir: string, dataDir?: string): Promise<LoadedRun> {
  const paths = runPaths(dir);
  if (!existsSync(paths.config)) throw new UserError(`${dir}: not an xmodal run (no config.json)`);
  if (!existsSync(join(paths.best, 'model.json'))) throw new UserError(`${dir}: the run has no selected model yet (no best/; did training finish an epoch?)`);
  const config = readRecordedConfig(dir);
  // A transfer run serves its target domain.
  const dataset = Dataset.open(dataDir ?? config.targetDataset?.path ?? config.dataset.path).verify();
  await initEngine();
  const resolved = resolve(config.method, config.preset, config.resolved.options, config.resolved.training);
  const trainLabels = dataset.labels(dataset.split('train'));
  const labelEmbeddings = dataset.labelEmbeddings();
  const method = create(resolved, {
    dims: Object.fromEntries(dataset.manifest.modalities.map((m) => [m.name, m.dim])),
    labelNames: dataset.labelNames,
    trainLabels,
    ...(labelEmbeddings ? { labelEmbeddings } : {}),
    seed: config.seed,
  });
  loadModelState(method, paths.best);
  const meta = readJsonFileAs(join(paths.best, 'meta.json'), BestMetaSchema);
  return { dir, config, dataset, method, bestEpoch: meta.epoch, bestScore: meta.score };
}
