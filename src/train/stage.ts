// One training stage: epochs of optimisation steps over batches, then whatever the stage does at an epoch's end.
// The main stage, --refit and modal reconstruction all run through runStage; they differ in their batches.
import { createRng, permutation } from '../engine/random.js';
import { tf } from '../engine/engine.js';
import { UserError } from '../errors.js';
import type { Batch, Method } from '../methods/method.js';
import { makeBatch, type SplitData, type UnalignedPool } from './split-data.js';
import { targetBatches } from './target-domain.js';

export interface Optimizer {
  minimize(loss: () => tf.Scalar): number;
  setLearningRate?(lr: number): void;
}

/** An epoch's batches: how many steps, and the batch of each (built when the step runs). */
export interface EpochBatches {
  steps: number;
  batch(step: number): Batch;
}

export interface Stage {
  method: Method;
  optimizer: Optimizer;
  /** Epoch numbers, inclusive (reconstruction epochs continue the main stage's numbering). */
  first: number;
  last: number;
  batches(epoch: number): EpochBatches;
  /** Fraction of training done at a step (the methods' schedules read it). */
  progress(epoch: number, step: number, steps: number): number;
  /** The learning rate at a progress; undefined keeps the optimiser's. */
  learningRate?: (progress: number) => number;
  /** Said when the loss is not finite. */
  divergence: (epoch: number, step: number, loss: number) => string;
  onStep(epoch: number, step: number, steps: number, loss: number): void;
  /** After each epoch, with its mean loss terms per step; 'stop' ends the stage. */
  onEpoch(epoch: number, losses: Record<string, number>, started: number): Promise<'stop' | void>;
}

/** The learning rate at `progress` (0 at the first step, 1 at the end of the last epoch). */
export function learningRateAt(lr: number, schedule: 'constant' | 'cosine' | undefined, progress: number): number {
  return schedule === 'cosine' ? (lr * (1 + Math.cos(Math.PI * progress))) / 2 : lr;
}

/** The seed of an epoch's shuffles: the batch order depends only on the run's seed and the epoch. */
export const epochSeed = (seed: number, epoch: number) => (seed * 7919 + epoch * 104729) >>> 0;

/** One optimisation step; adds the step's loss terms to `sums` and disposes the batch. */
function optimizationStep(stage: Stage, batch: Batch, progress: number, sums: Record<string, number>): number {
  let terms: Record<string, tf.Scalar> = {};
  const loss = stage.optimizer.minimize(() => {
    const result = stage.method.losses(batch, { progress });
    // Clones: a term may be the very tensor returned as the total, which the optimiser disposes.
    terms = Object.fromEntries(Object.entries(result.terms).map(([k, v]) => [k, tf.keep(tf.clone(v))]));
    return result.total;
  });
  stage.method.afterStep();
  for (const [k, v] of Object.entries(terms)) sums[k] = (sums[k] ?? 0) + (v.dataSync()[0] as number);
  sums.total = (sums.total ?? 0) + loss;
  tf.dispose([...Object.values(terms), ...Object.values(batch.x), batch.labels, ...Object.values(batch.target?.x ?? {})]);
  return loss;
}

export async function runStage(stage: Stage): Promise<void> {
  for (let epoch = stage.first; epoch <= stage.last; epoch++) {
    const started = performance.now();
    const { steps, batch } = stage.batches(epoch);
    const sums: Record<string, number> = {};
    for (let s = 0; s < steps; s++) {
      const b = batch(s);
      const progress = stage.progress(epoch, s, steps);
      if (stage.learningRate) stage.optimizer.setLearningRate?.(stage.learningRate(progress));
      const loss = optimizationStep(stage, b, progress, sums);
      if (!Number.isFinite(loss)) throw new UserError(stage.divergence(epoch, s + 1, loss));
      stage.onStep(epoch, s + 1, steps, loss);
    }
    const losses = Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / steps]));
    if ((await stage.onEpoch(epoch, losses, started)) === 'stop') return;
  }
}

/** Shuffled batches of a split (and, for transfer runs, the step's target rows). */
export function shuffledBatches(data: SplitData, batchSize: number, seed: number, target: { pools?: Record<string, UnalignedPool> | undefined; pairs?: SplitData | undefined }) {
  return (epoch: number): EpochBatches => {
    const n = data.items.length;
    const order = permutation(createRng(epochSeed(seed, epoch)), n);
    const drawTarget = targetBatches(target, epochSeed(seed, epoch), batchSize);
    return {
      steps: Math.ceil(n / batchSize),
      batch: (s) => {
        const b = makeBatch(data, order.subarray(s * batchSize, Math.min(n, (s + 1) * batchSize)));
        if (drawTarget) b.target = drawTarget(s);
        return b;
      },
    };
  };
}
