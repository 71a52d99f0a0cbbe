// A trained run, loaded back: its configuration, data set and the selected model with per-modality encoders.
import { existsSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { Dataset } from '../data/dataset.js';
import { initEngine } from '../engine/engine.js';
import { UserError } from '../errors.js';
import '../methods/index.js';
import type { Method, MethodContext } from '../methods/method.js';
import { create, resolve } from '../methods/registry.js';
import { firstDifference } from '../util/json-diff.js';
import { readJsonFileAs } from '../util/read-file.js';
import type { RecordedConfig } from './config.js';
import { encoderOf, type Encoder } from './encoder.js';
import { ENSEMBLE_FILE, ensembleMethod, isEnsemble, readEnsemble } from './ensemble.js';
import { BestMetaSchema, loadModelState, readRecordedConfig, runPaths } from './files.js';

export interface LoadedRun {
  dir: string;
  config: RecordedConfig;
  dataset: Dataset;
  /** The selected model (evaluation and embedding of whole splits). */
  method: Method;
  /** The same model as index and serve use it. */
  encoder: Encoder;
  bestEpoch: number;
  /** The selection score of the selected epoch (-Infinity when none was finite). */
  bestScore: number;
}

/** A run as index and serve use it: its model only through the encoder. */
export type EncodingRun = Omit<LoadedRun, 'method'>;

/**
 * What a method is built from: the data set's modalities and labels, and label statistics (co-occurrence) from
 * the training items, whatever modalities they have. Training and loading build it the same way.
 */
export function methodContext(ds: Dataset, trainItems: Int32Array, seed: number): MethodContext {
  const labelEmbeddings = ds.labelEmbeddings();
  return {
    dims: Object.fromEntries(ds.manifest.modalities.map((m) => [m.name, m.dim])),
    labelNames: ds.labelNames,
    trainLabels: ds.labels(trainItems),
    ...(labelEmbeddings ? { labelEmbeddings } : {}),
    seed,
  };
}

/** The run's method with its recorded configuration, freshly initialised. */
export function createRecordedMethod(config: RecordedConfig, ds: Dataset, trainItems: Int32Array): Method {
  const resolved = resolve(config.method, config.preset, config.resolved.options, config.resolved.training);
  return create(resolved, methodContext(ds, trainItems, config.seed));
}

/**
 * Another data set than the one a run was trained on must featurise raw input the same way (same vocabulary,
 * same image layer and weights), or its vectors mean something else to the model: refused, saying what differs.
 */
function checkSameFeaturizers(trainedOn: string, dataset: Dataset): void {
  if (resolvePath(trainedOn) === resolvePath(dataset.dir) || !existsSync(join(trainedOn, 'dataset.json'))) return;
  const original = Dataset.open(trainedOn);
  for (const m of dataset.modalityNames) {
    if (!original.modalityNames.includes(m)) continue;
    const diff = firstDifference(original.featurizerState(m) ?? null, dataset.featurizerState(m) ?? null);
    if (diff) throw new UserError(`${dataset.dir}: the ${m} featuriser differs from the one the run was trained on (${trainedOn}): ${diff}`);
  }
}

/**
 * `dataDir` overrides the recorded data set (same modalities, dimensions and labels are required); a transfer
 * run's default is its target domain.
 */
export async function loadRun(dir: string, dataDir?: string): Promise<LoadedRun> {
  if (isEnsemble(dir)) return loadEnsemble(dir, dataDir);
  const paths = runPaths(dir);
  if (!existsSync(paths.config)) throw new UserError(`${dir}: not an xmodal run (no config.json)`);
  if (!existsSync(join(paths.best, 'model.json'))) throw new UserError(`${dir}: the run has no selected model yet (no best/; did training finish an epoch?)`);
  const config = readRecordedConfig(dir);
  // A transfer run serves its target domain.
  const dataset = Dataset.open(dataDir ?? config.targetDataset?.path ?? config.dataset.path).verify();
  if (dataDir) checkSameFeaturizers(config.dataset.path, dataset);
  await initEngine();
  const method = createRecordedMethod(config, dataset, dataset.split('train'));
  loadModelState(method, paths.best);
  const meta = readJsonFileAs(join(paths.best, 'meta.json'), BestMetaSchema);
  return { dir, config, dataset, method, encoder: encoderOf(method), bestEpoch: meta.epoch, bestScore: meta.score };
}

/** Runs loaded on one data set and combined (ensemble.ts); refuses members that do not fit together. */
export async function loadEnsembleOf(dir: string, members: string[], dataDir?: string): Promise<LoadedRun> {
  if (members.length < 2) throw new UserError('an ensemble needs at least two runs');
  const loaded: LoadedRun[] = [];
  for (const m of members) {
    if (!existsSync(m)) throw new UserError(`${join(dir, ENSEMBLE_FILE)}: member ${m} is missing`);
    // Every member embeds the first member's data set (or --data), as `xmodal index RUN --data` would.
    loaded.push(await loadRun(m, dataDir ?? loaded[0]?.dataset.dir));
  }
  const first = loaded[0]!;
  const method = ensembleMethod(loaded.map((r) => r.method));
  const config = { ...first.config, method: 'ensemble', selection: `each of ${loaded.length} members by its own ${first.config.selection}` };
  return { dir, config, dataset: first.dataset, method, encoder: encoderOf(method), bestEpoch: first.bestEpoch, bestScore: Number.NaN };
}

/** An ensemble directory (ensemble.json): its members loaded on one data set, embedding as one model. */
function loadEnsemble(dir: string, dataDir?: string): Promise<LoadedRun> {
  return loadEnsembleOf(dir, readEnsemble(dir).members, dataDir);
}
