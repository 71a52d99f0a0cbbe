// Which items a run trains, selects and tests on, loaded as typed arrays: train, the selection split (val, a
// validation split carved from train, or test under --select-on test), test, and for --refit train + val.
import type { Dataset } from '../data/dataset.js';
import { carveValidation } from '../data/splits.js';
import { UserError } from '../errors.js';
import type { Method } from '../methods/method.js';
import type { RecordedConfig } from '../runs/config.js';
import { loadSplit, unalignedPools, type SplitData, type UnalignedPool } from './split-data.js';
import { checkTargetDomain } from './target-domain.js';

export interface ItemPlan {
  train: Int32Array;
  selection: Int32Array;
  /** Everything that may be trained on (--refit): train plus val. */
  refit: Int32Array;
  /** What the user should know about the plan (printed and in the start event). */
  notes: string[];
}

export function planItems(config: RecordedConfig, ds: Dataset, transfer: boolean, hasTarget: boolean): ItemPlan {
  let train = ds.split('train');
  const refit = ds.splitNames.includes('val') ? Int32Array.from([...train, ...ds.split('val')]).sort() : train;
  let selection: Int32Array;
  const notes: string[] = [];
  if (config.selectOn === 'test' && !ds.splitNames.includes('test')) throw new UserError(`--select-on test: ${ds.dir} has no test split`);
  if (config.selectOn === 'test') selection = ds.split('test');
  else if (ds.splitNames.includes('val')) selection = ds.split('val');
  else {
    const carved = carveValidation(train, ds.labels(ds.all()), ds.labelNames.length, config.valFraction, config.seed);
    train = carved.train;
    selection = carved.val;
    const incomplete = carved.val.length ? ds.modalityNames.filter((m) => ds.present(m, carved.val).some((p) => !p)) : [];
    if (incomplete.length) notes.push(`the validation items carved from train lack some ${incomplete.join(', ')} features, as train does (for complete validation items, import with --val-fraction before --drop)`);
  }
  if (!transfer) {
    const labelled = (items: Int32Array) => ds.labels(items).some((v) => v !== 0);
    const selectionName = config.selectOn === 'test' ? 'test' : 'validation';
    if (!labelled(train)) throw new UserError(`${ds.dir}: no training item has a label; supervised methods learn from labels (check the labels of the import)`);
    if (!selection.length) throw new UserError(`${ds.dir}: the ${selectionName} split is empty, so no epoch can be selected`);
    if (!labelled(selection)) throw new UserError(`${ds.dir}: no ${selectionName} item has a label, so no query has a relevant item and no epoch can be selected`);
  }
  if (!ds.splitNames.includes('test') && !hasTarget) notes.push(`${ds.dir} has no test split: the run will select its model on validation but write no test result (result.json); import with a test split (e.g. --test-fraction) to get one`);
  return { train, selection, refit, notes };
}

export interface TrainingData {
  train: SplitData;
  selection: SplitData;
  test: SplitData | undefined;
  /** Transfer runs: the target's training rows, unaligned (or, for an oracle, as pairs). */
  target: { pools?: Record<string, UnalignedPool> | undefined; pairs?: SplitData | undefined };
  /** Loads the --refit items the way train was loaded. */
  loadRefit(): SplitData;
}

export function loadTrainingData(config: RecordedConfig, plan: ItemPlan, ds: Dataset, targetDs: Dataset | undefined, method: Method, transfer: boolean): TrainingData {
  const modalities = method.modalities;
  if (targetDs) checkTargetDomain(ds, targetDs, modalities);
  // Instance-level evaluation and the source pairs need both modalities of an item.
  const pairs = { complete: transfer };
  const zeroFill = config.missing === 'zero-fill';
  const train = loadSplit(ds, plan.train, modalities, { ...pairs, zeroFill });
  if (train.items.length === 0) throw new UserError(`${ds.dir}: no training item has ${modalities.join(' or ')}`);
  const selection = targetDs && config.selectOn === 'test' ? loadSplit(targetDs, targetDs.split('test'), modalities, pairs) : loadSplit(ds, plan.selection, modalities, pairs);
  const testDs = targetDs ?? ds;
  const test = testDs.splitNames.includes('test') ? loadSplit(testDs, testDs.split('test'), modalities, pairs) : undefined;
  const target = {
    pools: targetDs && method.targetData === 'unaligned' ? unalignedPools(targetDs, targetDs.split('train'), modalities) : undefined,
    pairs: targetDs && method.targetData === 'aligned' ? loadSplit(targetDs, targetDs.split('train'), modalities, pairs) : undefined,
  };
  return { train, selection, test, target, loadRefit: () => loadSplit(ds, plan.refit, modalities, { ...pairs, zeroFill }) };
}
