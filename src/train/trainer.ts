// The training run (nanoGPT style: short and plain). The method supplies parameters and loss terms; the run
// resolves its configuration (setup.ts), plans and loads its items (data.ts), runs its stages (stage.ts: main,
// --refit, modal reconstruction), selects the best epoch on validation, checkpoints, and writes its test result.
import { Adam } from '../engine/adam.js';
import { initEngine } from '../engine/engine.js';
import { UserError } from '../errors.js';
import type { CrossModalResult } from '../eval/crossmodal.js';
import type { Method } from '../methods/method.js';
import type { RecordedConfig, TrainConfigInput } from '../runs/config.js';
import { appendEpoch, loadCheckpoint, loadModelState, runPaths, saveCheckpoint, snapshotBest, truncateEpochs, writeBest, type BestSnapshot, type EpochRecord } from '../runs/files.js';
import { createRecordedMethod } from '../runs/load.js';
import { writeFileAtomically } from '../util/atomic-dir.js';
import { loadTrainingData, planItems } from './data.js';
import { evaluateFully, evaluateSplit } from './evaluate.js';
import { reconstructionBatches, reconstructionOptimizer } from './reconstruct.js';
import { writeTestResult } from './results.js';
import { setUpRun } from './setup.js';
import { learningRateAt, runStage, shuffledBatches } from './stage.js';

export type TrainEvent =
  | { type: 'start'; config: RecordedConfig; trainItems: number; selectionItems: number; testItems: number; startEpoch: number; notes: string[] }
  | { type: 'step'; epoch: number; epochs: number; step: number; steps: number; loss: number; stage?: 'refit' }
  | { type: 'refit'; epoch: number; epochs: number; seconds: number; losses: Record<string, number>; trainItems: number }
  | { type: 'epoch'; epochs: number; record: EpochRecord; best: boolean }
  | { type: 'done'; result: TrainResult };

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

export async function train(input: TrainConfigInput, options: TrainOptions = {}): Promise<TrainResult> {
  const emit = options.onEvent ?? (() => {});
  const { out, config, transfer, ds, targetDs } = setUpRun(input, options);
  const paths = runPaths(out);
  const training = config.resolved.training;
  const plan = planItems(config, ds, transfer, targetDs !== undefined);
  config.valItems = config.selectOn === 'val' ? Array.from(plan.selection) : null;

  await initEngine();
  const method = createRecordedMethod(config, ds, plan.train);
  if (config.refit && method.fit) throw new UserError(`--refit: ${config.method} is fitted in closed form, not trained by epochs`);
  if (config.reconstruct && (!method.generate || method.fit)) throw new UserError(`--reconstruct: ${config.method} has no generators to reconstruct missing modalities with (dagnn, pgnn-con and ignn-con have)`);
  const data = loadTrainingData(config, plan, ds, targetDs, method, transfer);
  // Written once every start-up check has passed: a refused run leaves its directory empty, free for a retry.
  if (!options.resume) {
    writeFileAtomically(paths.config, JSON.stringify(config, null, 2) + '\n');
    writeFileAtomically(paths.artifacts, JSON.stringify(method.artifacts()) + '\n');
  }
  const adamFor = (m: Method) => new Adam(m.trainableVariables(), { lr: training.lr, beta1: training.beta1, beta2: training.beta2, eps: 1e-8, weightDecay: training.weightDecay });
  const optimizer = adamFor(method);
  const protocol = transfer ? 'instances' : 'labels';

  let startEpoch = 1;
  let best = { epoch: 0, score: -Infinity };
  if (options.resume) {
    const meta = loadCheckpoint(out, method, optimizer);
    startEpoch = meta.epoch + 1;
    best = { epoch: meta.bestEpoch, score: meta.bestScore };
    truncateEpochs(out, meta.epoch);
  }
  emit({ type: 'start', config, trainItems: data.train.items.length, selectionItems: data.selection.items.length, testItems: data.test?.items.length ?? 0, startEpoch, notes: plan.notes });

  // The best model is copied in memory when it improves and written with the next checkpoint or at the end:
  // writing it at every improvement took ~0.15 s each (92 times in a 200-epoch Wikipedia run). best/ on disk
  // therefore always matches the checkpoint's bestEpoch, which is what --resume continues from.
  let unsavedBest: BestSnapshot | undefined;
  const flushBest = () => {
    if (unsavedBest) writeBest(out, unsavedBest);
    unsavedBest = undefined;
  };
  let lastCheckpoint = performance.now();
  const checkpoint = (epoch: number) => {
    flushBest();
    saveCheckpoint(out, method, optimizer, { epoch, bestEpoch: best.epoch, bestScore: best.score, step: optimizer.iterations });
    lastCheckpoint = performance.now();
  };
  const totalEpochs = training.epochs + (config.reconstruct?.epochs ?? 0);
  // Evaluation on the selection split, model selection, the metrics line.
  const endEpoch = async (epoch: number, started: number, losses: Record<string, number>, stage: string) => {
    const selection = await evaluateSplit(method, data.selection, ds.labelNames, protocol);
    const record: EpochRecord = {
      epoch,
      seconds: (performance.now() - started) / 1000,
      losses,
      selection: { split: config.selectOn === 'test' ? 'test' : 'val', ...selection },
      ...(stage !== 'main' ? { stage } : {}),
    };
    if (config.trackTest && data.test && config.selectOn !== 'test') record.test = await evaluateSplit(method, data.test, ds.labelNames, protocol);
    const improved = selection.average > best.score;
    if (improved) {
      best = { epoch, score: selection.average };
      unsavedBest = snapshotBest(method, { epoch, score: best.score });
    }
    appendEpoch(out, record);
    emit({ type: 'epoch', epochs: totalEpochs, record, best: improved });
  };
  const stepEvent = (epochs: number, stage?: 'refit') => (epoch: number, step: number, steps: number, loss: number) =>
    emit({ type: 'step', epoch, epochs, step, steps, loss, ...(stage ? { stage } : {}) });
  const mainSchedule = {
    progress: (epoch: number, s: number, steps: number) => (epoch - 1 + s / steps) / training.epochs,
    learningRate: (progress: number) => learningRateAt(training.lr, training.lrSchedule, progress),
    divergence: (epoch: number, step: number, loss: number) => `training diverged at epoch ${epoch}, step ${step}: the loss is ${loss} (try a lower --lr)`,
  };

  if (method.fit && startEpoch === 1) {
    // Closed-form methods fit once; the selection split scores their choices. Recorded as epoch 1.
    const started = performance.now();
    const fitted = await method.fit(data.train, async () => (await evaluateSplit(method, data.selection, ds.labelNames, protocol)).average);
    writeFileAtomically(paths.artifacts, JSON.stringify({ ...method.artifacts(), fit: fitted }) + '\n');
    await endEpoch(1, started, {}, 'fit');
    checkpoint(training.epochs);
  }
  let stopped = false;
  if (!method.fit) {
    await runStage({
      method, optimizer, first: startEpoch, last: training.epochs, ...mainSchedule,
      batches: shuffledBatches(data.train, training.batchSize, config.seed, data.target),
      onStep: stepEvent(totalEpochs),
      onEpoch: async (epoch, losses, started) => {
        await endEpoch(epoch, started, losses, 'main');
        // A checkpoint holds the model and both Adam moments; writing one every epoch would cost more than the epoch.
        if (epoch === training.epochs || options.stopAfterEpoch === epoch || performance.now() - lastCheckpoint >= config.checkpointSeconds * 1000) checkpoint(epoch);
        stopped = options.stopAfterEpoch === epoch;
        return stopped ? 'stop' : undefined;
      },
    });
  }
  if (stopped) {
    method.dispose();
    optimizer.dispose();
    return { dir: out, bestEpoch: best.epoch, bestScore: best.score, selection: config.selection, test: undefined };
  }

  if (config.refit) {
    // --refit: the epoch count chosen on validation, a fresh model (same seed and initialisation) trained for that
    // many epochs on every training item, validation included; it becomes the run's model. Not checkpointed: an
    // interrupted refit is run again by --resume.
    flushBest();
    if (best.epoch < 1) throw new UserError('--refit: no epoch scored a finite validation mAP, so there is no epoch count to refit for');
    const refitMethod = createRecordedMethod(config, ds, plan.refit);
    const refitOptimizer = adamFor(refitMethod);
    const refitData = data.loadRefit();
    await runStage({
      method: refitMethod, optimizer: refitOptimizer, first: 1, last: best.epoch, ...mainSchedule,
      batches: shuffledBatches(refitData, training.batchSize, config.seed, data.target),
      onStep: stepEvent(best.epoch, 'refit'),
      onEpoch: async (epoch, losses, started) => emit({ type: 'refit', epoch, epochs: best.epoch, seconds: (performance.now() - started) / 1000, losses, trainItems: refitData.items.length }),
    });
    writeBest(out, snapshotBest(refitMethod, { epoch: best.epoch, score: best.score, refit: { trainItems: refitData.items.length } }));
    writeFileAtomically(paths.artifacts, JSON.stringify(refitMethod.artifacts()) + '\n');
    refitMethod.dispose();
    refitOptimizer.dispose();
  }

  const reconstruct = config.reconstruct;
  if (reconstruct) {
    // Stage 2, modal reconstruction (methods.md 4.5), from the selected model. Not checkpointed: an interrupted
    // stage 2 is run again from the selected model by --resume.
    flushBest();
    loadModelState(method, paths.best);
    method.beginReconstruction?.(reconstruct.argOrder, reconstruct.normStatistics);
    const stage2 = reconstructionOptimizer(method, reconstruct, training);
    await runStage({
      method, optimizer: stage2, first: training.epochs + 1, last: totalEpochs,
      batches: reconstructionBatches(method, data.train, training.batchSize, config.seed),
      progress: () => 1,
      divergence: (epoch, _step, loss) => `reconstruction stage diverged at epoch ${epoch}: the loss is ${loss} (try a lower reconstruction lr)`,
      onStep: stepEvent(totalEpochs),
      onEpoch: (epoch, losses, started) => endEpoch(epoch, started, losses, 'reconstruction'),
    });
    stage2.dispose();
  }

  // The selected model, evaluated once on test with the papers' protocol and every other metric.
  flushBest();
  loadModelState(method, paths.best);
  const full = data.test ? await evaluateFully(method, data.test, ds.labelNames, protocol) : undefined;
  const test = full ? { directions: full.directions, averageMAP: full.averageMAP } : undefined;
  if (test) writeTestResult(out, config, (targetDs ?? ds).name, { test, rSum: full?.rSum }, best);
  method.dispose();
  optimizer.dispose();
  const result = { dir: out, bestEpoch: best.epoch, bestScore: best.score, selection: config.selection, test, ...(full?.rSum !== undefined ? { rSum: full.rSum } : {}) };
  emit({ type: 'done', result });
  return result;
}
