// The training loop (nanoGPT style: short and plain). The method supplies parameters and loss terms; this
// file owns data, batching, the optimiser, seeds, per-epoch evaluation, model selection, checkpoints, logs.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { Dataset } from '../data/dataset.js';
import { Adam } from '../engine/adam.js';
import { initEngine, tf } from '../engine/engine.js';
import { createRng, permutation } from '../engine/random.js';
import { UserError } from '../errors.js';
import type { CrossModalResult } from '../eval/crossmodal.js';
import { evaluateFully, evaluateSplit, type Protocol } from './evaluate.js';
import { checkTargetDomain, targetBatches } from './target-domain.js';
import { markdownTable, runResult, serializeReport } from '../eval/report.js';
import '../methods/index.js';
import type { Batch, Method, TrainingDefaults } from '../methods/method.js';
import { create, resolve } from '../methods/registry.js';
import { writeFileAtomically } from '../util/atomic-dir.js';
import { VERSION } from '../version.js';
import { learningRateAt, TrainConfigSchema, type TrainConfig, type TrainConfigInput } from './config.js';
import { appendEpoch, loadCheckpoint, loadModelState, readRecordedConfig, runPaths, saveCheckpoint, snapshotBest, truncateEpochs, writeBest, type BestSnapshot, type EpochRecord } from './run-dir.js';
import { loadSplit, makeBatch, reconstructMissing, unalignedPools, type SplitData } from './split-data.js';
import { Sgd } from '../engine/sgd.js';
import { carveValidation } from '../data/splits.js';

export type TrainEvent =
  | { type: 'start'; config: RecordedConfig; trainItems: number; selectionItems: number; testItems: number; startEpoch: number; notes: string[] }
  | { type: 'step'; epoch: number; epochs: number; step: number; steps: number; loss: number; stage?: 'refit' }
  | { type: 'refit'; epoch: number; epochs: number; seconds: number; losses: Record<string, number>; trainItems: number }
  | { type: 'epoch'; epochs: number; record: EpochRecord; best: boolean }
  | { type: 'done'; result: TrainResult };

export interface RecordedConfig extends TrainConfig {
  resolved: { options: Record<string, unknown>; training: TrainingDefaults; preset: string | null };
  selection: string;
  dataset: { path: string; name: string; sha256: string; items: number };
  /** Transfer runs: the target domain's data set. */
  targetDataset?: { path: string; name: string; sha256: string; items: number };
  versions: { xmodal: string; node: string; tfjs: string };
  valItems: number[] | null;
}

export interface TrainResult {
  dir: string;
  bestEpoch: number;
  bestScore: number;
  selection: string;
  test: CrossModalResult | undefined;
  /** Transfer runs: the target test pairs' R@1+R@5+R@10 of both directions, in percent. */
  rSum?: number;
}

export interface TrainOptions {
  onEvent?: (event: TrainEvent) => void;
  resume?: boolean;
  force?: boolean;
  /** Stop after this epoch as if interrupted (tests of --resume). */
  stopAfterEpoch?: number;
}

const stepSeed = (seed: number, epoch: number) => (seed * 7919 + epoch * 104729) >>> 0;

/** Summed loss terms of an epoch as their mean per step. */
const perStep = (sums: Record<string, number>, steps: number) => Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / steps]));

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}


function describe(ds: Dataset): RecordedConfig['dataset'] {
  return { path: resolvePath(ds.dir), name: ds.name, sha256: sha256(`${ds.dir}/dataset.json`), items: ds.size };
}

function prepareRunDir(dir: string, options: TrainOptions): void {
  if (options.resume) {
    if (!existsSync(runPaths(dir).config)) throw new UserError(`${dir}: no run to resume (no config.json)`);
    return;
  }
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    if (!options.force) throw new UserError(`${dir}: already exists (use --resume to continue it or --force to replace it)`);
    rmSync(dir, { recursive: true, force: true });
  }
  mkdirSync(dir, { recursive: true });
}

export async function train(input: TrainConfigInput, options: TrainOptions = {}): Promise<TrainResult> {
  const emit = options.onEvent ?? (() => {});
  const out = resolvePath(input.out);
  prepareRunDir(out, options);
  const paths = runPaths(out);
  let config: RecordedConfig;
  const recorded = options.resume ? readRecordedConfig(out) : undefined;
  // Every file is checked against dataset.json's checksums: a tampered or truncated file never trains silently.
  const ds = Dataset.open(recorded ? recorded.dataset.path : input.data).verify();
  if (recorded) {
    config = recorded;
    for (const d of [config.dataset, config.targetDataset]) {
      if (d && sha256(`${d.path}/dataset.json`) !== d.sha256) throw new UserError(`${d.path}: the data set changed since the run started (dataset.json hash differs)`);
    }
    // The one setting a resume may change: how often it checkpoints (it does not change the result).
    if (input.checkpointSeconds !== undefined) config.checkpointSeconds = input.checkpointSeconds;
  } else {
    const parsed = TrainConfigSchema.safeParse(input);
    if (!parsed.success) throw new UserError(`training option ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
    const c = parsed.data;
    const trainingKeys = ['epochs', 'batchSize', 'lr', 'beta1', 'beta2', 'weightDecay', 'lrSchedule'] as const;
    const overrides = Object.fromEntries(trainingKeys.filter((k) => c[k] !== undefined).map((k) => [k, c[k]])) as Partial<TrainingDefaults>;
    if (c.refit && c.selectOn === 'test') throw new UserError('--refit: with --select-on test every training item is already trained on; refit is for selection on validation');
    if (c.refit && c.reconstruct) throw new UserError('--refit cannot be combined with --reconstruct');
    const r = resolve(c.method, c.preset, c.options, overrides);
    config = {
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
  const training = config.resolved.training;
  const resolved = resolve(config.method, config.preset, config.resolved.options, training);
  // Transfer methods learn from a source data set (--data) and a target domain (--target) whose training
  // images and texts are used without their pairing; they are evaluated on the target's test pairs.
  const transfer = resolved.factory.transfer === true;
  if (transfer && !config.targetDataset) throw new UserError(`${config.method} learns a transfer task: give the target domain with --target DIR (the source is --data)`);
  if (!transfer && config.targetDataset) throw new UserError(`--target: ${config.method} does not learn transfer tasks (aeir does)`);
  if (transfer && config.refit) throw new UserError(`--refit: ${config.method} selects on the source domain's validation pairs; refit is not available for transfer runs`);
  const targetDs = config.targetDataset ? Dataset.open(config.targetDataset.path).verify() : undefined;
  const protocol: Protocol = transfer ? 'instances' : 'labels';

  // Splits: train, selection (val or test), test. refitItems: everything that may be trained on (--refit).
  let trainItems = ds.split('train');
  const refitItems = ds.splitNames.includes('val') ? Int32Array.from([...trainItems, ...ds.split('val')]).sort() : trainItems;
  let selectionItems: Int32Array;
  const notes: string[] = [];
  if (config.selectOn === 'test' && !ds.splitNames.includes('test')) throw new UserError(`--select-on test: ${ds.dir} has no test split`);
  if (config.selectOn === 'test') selectionItems = ds.split('test');
  else if (ds.splitNames.includes('val')) selectionItems = ds.split('val');
  else {
    const carved = carveValidation(trainItems, ds.labels(ds.all()), ds.labelNames.length, config.valFraction, config.seed);
    trainItems = carved.train;
    selectionItems = carved.val;
    const incomplete = carved.val.length ? ds.modalityNames.filter((m) => ds.present(m, carved.val).some((p) => !p)) : [];
    if (incomplete.length) notes.push(`the validation items carved from train lack some ${incomplete.join(', ')} features, as train does (for complete validation items, import with --val-fraction before --drop)`);
  }
  if (!transfer) {
    const labelled = (items: Int32Array) => ds.labels(items).some((v) => v !== 0);
    const selectionName = config.selectOn === 'test' ? 'test' : 'validation';
    if (!labelled(trainItems)) throw new UserError(`${ds.dir}: no training item has a label; supervised methods learn from labels (check the labels of the import)`);
    if (!selectionItems.length) throw new UserError(`${ds.dir}: the ${selectionName} split is empty, so no epoch can be selected`);
    if (!labelled(selectionItems)) throw new UserError(`${ds.dir}: no ${selectionName} item has a label, so no query has a relevant item and no epoch can be selected`);
  }
  if (!ds.splitNames.includes('test') && !targetDs) notes.push(`${ds.dir} has no test split: the run will select its model on validation but write no test result (result.json); import with a test split (e.g. --test-fraction) to get one`);
  config.valItems = config.selectOn === 'val' ? Array.from(selectionItems) : null;

  await initEngine();
  const labelEmbeddings = ds.labelEmbeddings();
  // Label statistics (co-occurrence) come from every training item, whatever modalities it has.
  const createMethod = (items: Int32Array) => create(resolved, {
    dims: Object.fromEntries(ds.manifest.modalities.map((m) => [m.name, m.dim])),
    labelNames: ds.labelNames,
    trainLabels: ds.labels(items),
    ...(labelEmbeddings ? { labelEmbeddings } : {}),
    seed: config.seed,
  });
  const method = createMethod(trainItems);
  if (config.refit && method.fit) throw new UserError(`--refit: ${config.method} is fitted in closed form, not trained by epochs`);
  const modalities = method.modalities;
  if (targetDs) checkTargetDomain(ds, targetDs, modalities);
  // Instance-level evaluation and the source pairs need both modalities of an item.
  const pairs = { complete: transfer };
  const trainData = loadSplit(ds, trainItems, modalities, { ...pairs, zeroFill: config.missing === 'zero-fill' });
  const selectionData = targetDs && config.selectOn === 'test' ? loadSplit(targetDs, targetDs.split('test'), modalities, pairs) : loadSplit(ds, selectionItems, modalities, pairs);
  const testDs = targetDs ?? ds;
  const testData = testDs.splitNames.includes('test') ? loadSplit(testDs, testDs.split('test'), modalities, pairs) : undefined;
  const targetPools = targetDs && method.targetData === 'unaligned' ? unalignedPools(targetDs, targetDs.split('train'), modalities) : undefined;
  const targetPairs = targetDs && method.targetData === 'aligned' ? loadSplit(targetDs, targetDs.split('train'), modalities, pairs) : undefined;
  if (trainData.items.length === 0) throw new UserError(`${ds.dir}: no training item has ${modalities.join(' or ')}`);
  // Written once every start-up check has passed: a refused run leaves its directory empty, free for a retry.
  if (!options.resume) {
    writeFileAtomically(paths.config, JSON.stringify(config, null, 2) + '\n');
    writeFileAtomically(paths.artifacts, JSON.stringify(method.artifacts()) + '\n');
  }
  const adamFor = (m: Method) => new Adam(m.trainableVariables(), { lr: training.lr, beta1: training.beta1, beta2: training.beta2, eps: 1e-8, weightDecay: training.weightDecay });
  const optimizer = adamFor(method);

  let startEpoch = 1;
  let bestEpoch = 0;
  let bestScore = -Infinity;
  if (options.resume) {
    const meta = loadCheckpoint(out, method, optimizer);
    startEpoch = meta.epoch + 1;
    bestEpoch = meta.bestEpoch;
    bestScore = meta.bestScore;
    truncateEpochs(out, meta.epoch);
  }
  emit({ type: 'start', config, trainItems: trainData.items.length, selectionItems: selectionData.items.length, testItems: testData?.items.length ?? 0, startEpoch, notes });

  let lastCheckpoint = performance.now();
  // The best model is copied in memory when it improves and written with the next checkpoint or at the end:
  // writing it at every improvement took ~0.15 s each (92 times in a 200-epoch Wikipedia run). best/ on disk
  // therefore always matches the checkpoint's bestEpoch, which is what --resume continues from.
  let unsavedBest: BestSnapshot | undefined;
  const flushBest = () => {
    if (unsavedBest) writeBest(out, unsavedBest);
    unsavedBest = undefined;
  };
  const checkpoint = (meta: Parameters<typeof saveCheckpoint>[3]) => {
    flushBest();
    saveCheckpoint(out, method, optimizer, meta);
  };
  const reconstruct = config.reconstruct;
  const totalEpochs = training.epochs + (reconstruct?.epochs ?? 0);
  // One optimisation step on a batch; returns the loss. Shared by every stage.
  const step = (m: Method, opt: { minimize(f: () => tf.Scalar): number }, batch: Batch, progress: number, sums: Record<string, number>): number => {
    let terms: Record<string, tf.Scalar> = {};
    const loss = opt.minimize(() => {
      const result = m.losses(batch, { progress });
      // Clones: a term may be the very tensor returned as the total, which the optimiser disposes.
      terms = Object.fromEntries(Object.entries(result.terms).map(([k, v]) => [k, tf.keep(tf.clone(v))]));
      return result.total;
    });
    m.afterStep();
    for (const [k, v] of Object.entries(terms)) sums[k] = (sums[k] ?? 0) + (v.dataSync()[0] as number);
    sums.total = (sums.total ?? 0) + loss;
    tf.dispose([...Object.values(terms), ...Object.values(batch.x), batch.labels, ...Object.values(batch.target?.x ?? {})]);
    return loss;
  };
  // Evaluation, selection, the metrics line; returns whether the epoch is the best so far.
  const endEpoch = async (epoch: number, started: number, sums: Record<string, number>, stepsDone: number, stage: string): Promise<EpochRecord> => {
    const selection = await evaluateSplit(method, selectionData, ds.labelNames, protocol);
    const record: EpochRecord = {
      epoch,
      seconds: (performance.now() - started) / 1000,
      losses: perStep(sums, stepsDone),
      selection: { split: config.selectOn === 'test' ? 'test' : 'val', ...selection },
      ...(stage !== 'main' ? { stage } : {}),
    };
    if (config.trackTest && testData && config.selectOn !== 'test') record.test = await evaluateSplit(method, testData, ds.labelNames, protocol);
    const improved = selection.average > bestScore;
    if (improved) {
      bestScore = selection.average;
      bestEpoch = epoch;
      unsavedBest = snapshotBest(method, { epoch, score: bestScore });
    }
    appendEpoch(out, record);
    emit({ type: 'epoch', epochs: totalEpochs, record, best: improved });
    return record;
  };

  if (method.fit && startEpoch === 1) {
    // Closed-form methods fit once; the selection split scores their choices. Recorded as epoch 1.
    const started = performance.now();
    const fitted = await method.fit(trainData, async () => (await evaluateSplit(method, selectionData, ds.labelNames, protocol)).average);
    writeFileAtomically(paths.artifacts, JSON.stringify({ ...method.artifacts(), fit: fitted }) + '\n');
    await endEpoch(1, started, {}, 1, 'fit');
    checkpoint({ epoch: training.epochs, bestEpoch, bestScore, step: 0 });
  }
  // One epoch of shuffled batches (the order depends only on the seed and the epoch); returns the summed terms.
  const trainEpoch = (m: Method, opt: Adam, data: SplitData, epoch: number, stage?: 'refit') => {
    const n = data.items.length;
    const steps = Math.ceil(n / training.batchSize);
    const order = permutation(createRng(stepSeed(config.seed, epoch)), n);
    const drawTarget = targetBatches({ pools: targetPools, pairs: targetPairs }, stepSeed(config.seed, epoch), training.batchSize);
    const sums: Record<string, number> = {};
    for (let s = 0; s < steps; s++) {
      const batch = makeBatch(data, order.subarray(s * training.batchSize, Math.min(n, (s + 1) * training.batchSize)));
      if (drawTarget) batch.target = drawTarget(s);
      const progress = (epoch - 1 + s / steps) / training.epochs;
      opt.setLearningRate(learningRateAt(training.lr, training.lrSchedule, progress));
      const loss = step(m, opt, batch, progress, sums);
      if (!Number.isFinite(loss)) throw new UserError(`training diverged at epoch ${epoch}, step ${s + 1}: the loss is ${loss} (try a lower --lr)`);
      emit({ type: 'step', epoch, epochs: stage ? bestEpoch : totalEpochs, step: s + 1, steps, loss, ...(stage ? { stage } : {}) });
    }
    return { sums, steps };
  };
  for (let epoch = startEpoch; epoch <= training.epochs && !method.fit; epoch++) {
    const started = performance.now();
    const { sums, steps } = trainEpoch(method, optimizer, trainData, epoch);
    await endEpoch(epoch, started, sums, steps, 'main');
    // A checkpoint holds the model and both Adam moments; writing one every epoch would cost more than the epoch.
    if (epoch === training.epochs || options.stopAfterEpoch === epoch || performance.now() - lastCheckpoint >= config.checkpointSeconds * 1000) {
      checkpoint({ epoch, bestEpoch, bestScore, step: optimizer.iterations });
      lastCheckpoint = performance.now();
    }
    if (options.stopAfterEpoch === epoch) {
      method.dispose();
      optimizer.dispose();
      return { dir: out, bestEpoch, bestScore, selection: config.selection, test: undefined };
    }
  }

  if (config.refit) {
    // --refit: the epoch count chosen on validation, a fresh model (same seed and initialisation) trained for that
    // many epochs on every training item, validation included; it becomes the run's model. Not checkpointed: an
    // interrupted refit is run again by --resume.
    flushBest();
    if (bestEpoch < 1) throw new UserError('--refit: no epoch scored a finite validation mAP, so there is no epoch count to refit for');
    const refitMethod = createMethod(refitItems);
    const refitOptimizer = adamFor(refitMethod);
    const refitData = loadSplit(ds, refitItems, modalities, { ...pairs, zeroFill: config.missing === 'zero-fill' });
    for (let epoch = 1; epoch <= bestEpoch; epoch++) {
      const started = performance.now();
      const { sums, steps } = trainEpoch(refitMethod, refitOptimizer, refitData, epoch, 'refit');
      emit({ type: 'refit', epoch, epochs: bestEpoch, seconds: (performance.now() - started) / 1000, losses: perStep(sums, steps), trainItems: refitData.items.length });
    }
    writeBest(out, snapshotBest(refitMethod, { epoch: bestEpoch, score: bestScore, refit: { trainItems: refitData.items.length } }));
    writeFileAtomically(paths.artifacts, JSON.stringify(refitMethod.artifacts()) + '\n');
    refitMethod.dispose();
    refitOptimizer.dispose();
  }

  if (reconstruct) {
    // Stage 2, modal reconstruction (methods.md 4.5), from the selected model. Not checkpointed: an interrupted
    // stage 2 is run again from the selected model by --resume.
    flushBest();
    loadModelState(method, paths.best);
    if (reconstruct.argOrder === 'official-code') {
      // main.py passes (temp, gamma, alpha, beta) where train_model_incomplete expects (alpha, beta, temp, gamma).
      const o = config.resolved.options as { alpha: number; beta: number; tau: number; gamma: number };
      method.configure?.({ alpha: o.tau, beta: o.gamma, tau: o.alpha, gamma: o.beta });
    }
    const stage2 = reconstruct.optimizer === 'sgd'
      ? new Sgd(method.trainableVariables(), reconstruct.lr)
      : new Adam(method.trainableVariables(), { lr: reconstruct.lr, beta1: training.beta1, beta2: training.beta2, eps: 1e-8 });
    const steps = Math.ceil(trainData.items.length / training.batchSize);
    for (let e = 1; e <= reconstruct.epochs; e++) {
      const epoch = training.epochs + e;
      const started = performance.now();
      const filled = reconstructMissing(method, trainData);
      const rng = createRng(stepSeed(config.seed, epoch));
      const pools = filled.pools.map((p) => Array.from(permutation(rng, p.length), (i) => p[i] as number));
      const cursor = [0, 0, 0];
      const shares = [Math.round(training.batchSize / 5), Math.round((2 * training.batchSize) / 5)];
      shares.push(training.batchSize - (shares[0] as number) - (shares[1] as number));
      const sums: Record<string, number> = {};
      for (let s = 0; s < steps; s++) {
        const positions: number[] = [];
        pools.forEach((pool, k) => {
          for (let i = 0; i < (shares[k] as number) && pool.length; i++) positions.push(pool[cursor[k]!++ % pool.length] as number);
        });
        const loss = step(method, stage2, makeBatch(filled.split, positions), 1, sums);
        if (!Number.isFinite(loss)) throw new UserError(`reconstruction stage diverged at epoch ${epoch}: the loss is ${loss} (try a lower reconstruction lr)`);
        emit({ type: 'step', epoch, epochs: totalEpochs, step: s + 1, steps, loss });
      }
      await endEpoch(epoch, started, sums, steps, 'reconstruction');
    }
    stage2.dispose();
  }

  // The selected model, evaluated once on test with the papers' protocol and every other metric.
  flushBest();
  loadModelState(method, paths.best);
  let test: CrossModalResult | undefined;
  let rSum: number | undefined;
  const full = testData ? await evaluateFully(method, testData, ds.labelNames, protocol) : undefined;
  if (full) test = { directions: full.directions, averageMAP: full.averageMAP };
  if (test && full?.rSum !== undefined) {
    rSum = full.rSum;
    const report = serializeReport({ title: `${config.method} on ${testDs.name}: test pairs (instance-level), model selected by ${config.selection}`, directions: test.directions });
    writeFileAtomically(paths.result, JSON.stringify(runResult(report, { rSum, selection: config.selection, bestEpoch, bestScore, split: 'test' }), null, 2) + '\n');
    writeFileAtomically(paths.resultMd, `# ${report.title}\n\nSelected epoch: ${bestEpoch} (${config.selection}).\n\nrSum (R@1+R@5+R@10 of both directions, %): ${rSum.toFixed(1)}\n\n${markdownTable(report, ['recall@k', 'map'])}\n`);
  } else if (test) {
    const report = serializeReport({ title: `${config.method} on ${ds.name}: test split, model selected by ${config.selection}`, directions: test.directions, averageMAP: test.averageMAP });
    writeFileAtomically(paths.result, JSON.stringify(runResult(report, { selection: config.selection, bestEpoch, bestScore, split: 'test' }), null, 2) + '\n');
    writeFileAtomically(paths.resultMd, `# ${report.title}\n\nSelected epoch: ${bestEpoch} (${config.selection}).\n\n${markdownTable(report)}\n`);
  }
  method.dispose();
  optimizer.dispose();
  const result = { dir: out, bestEpoch, bestScore, selection: config.selection, test, ...(rSum !== undefined ? { rSum } : {}) };
  emit({ type: 'done', result });
  return result;
}
