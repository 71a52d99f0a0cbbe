// Modal reconstruction (TPAMI, methods.md 4.5): after the main stage, each missing feature is generated from the
// item's other modality by the model's generators, and training continues on batches that mix complete,
// first-only and second-only items (1/5, 2/5, 2/5 of the batch), with plain SGD as the official code does.
import { tf } from '../engine/engine.js';
import { Adam } from '../engine/adam.js';
import { createRng, permutation } from '../engine/random.js';
import { Sgd } from '../engine/sgd.js';
import type { Method, TrainingDefaults } from '../methods/method.js';
import type { RecordedConfig } from '../runs/config.js';
import { makeBatch, rows, type SplitData } from './split-data.js';
import { epochSeed, type EpochBatches, type Optimizer } from './stage.js';

/**
 * Each missing feature generated from the item's other modality (evaluation mode, no gradient). Returns the
 * completed split and the positions of complete, first-modality-only and second-modality-only items.
 */
export function reconstructMissing(method: Method, split: SplitData): { split: SplitData; pools: [number[], number[], number[]] } {
  if (!method.generate) throw new Error(`${method.name} has no generators to reconstruct missing modalities`);
  const [a, b] = method.modalities as [string, string];
  const pa = split.present[a] as Uint8Array;
  const pb = split.present[b] as Uint8Array;
  const pools: [number[], number[], number[]] = [[], [], []];
  for (let k = 0; k < split.items.length; k++) {
    if (pa[k] && pb[k]) pools[0].push(k);
    else if (pa[k]) pools[1].push(k);
    else if (pb[k]) pools[2].push(k);
  }
  const features = { ...split.features, [a]: (split.features[a] as Float32Array).slice(), [b]: (split.features[b] as Float32Array).slice() };
  const fill = (from: string, to: string, positions: number[]) => {
    if (!positions.length) return;
    const dFrom = split.dims[from] as number;
    const dTo = split.dims[to] as number;
    const generated = tf.tidy(() => method.generate!(from, to, tf.tensor2d(rows(split.features[from] as Float32Array, dFrom, positions), [positions.length, dFrom])));
    const data = generated.dataSync() as Float32Array;
    generated.dispose();
    positions.forEach((p, i) => (features[to] as Float32Array).set(data.subarray(i * dTo, (i + 1) * dTo), p * dTo));
  };
  fill(a, b, pools[1]);
  fill(b, a, pools[2]);
  const all = new Uint8Array(split.items.length).fill(1);
  return { split: { ...split, features, present: { ...split.present, [a]: all, [b]: all } }, pools };
}

/** An epoch's batches: features regenerated with the current model, then the three pools drawn in their shares. */
export function reconstructionBatches(method: Method, data: SplitData, batchSize: number, seed: number) {
  return (epoch: number): EpochBatches => {
    const filled = reconstructMissing(method, data);
    const rng = createRng(epochSeed(seed, epoch));
    const pools = filled.pools.map((p) => Array.from(permutation(rng, p.length), (i) => p[i] as number));
    const cursor = [0, 0, 0];
    const shares = [Math.round(batchSize / 5), Math.round((2 * batchSize) / 5)];
    shares.push(batchSize - (shares[0] as number) - (shares[1] as number));
    return {
      steps: Math.ceil(data.items.length / batchSize),
      batch: () => {
        const positions: number[] = [];
        pools.forEach((pool, k) => {
          for (let i = 0; i < (shares[k] as number) && pool.length; i++) positions.push(pool[cursor[k]!++ % pool.length] as number);
        });
        return makeBatch(filled.split, positions);
      },
    };
  };
}

export function reconstructionOptimizer(method: Method, settings: NonNullable<RecordedConfig['reconstruct']>, training: TrainingDefaults): Optimizer & { dispose(): void } {
  return settings.optimizer === 'sgd'
    ? new Sgd(method.trainableVariables(), settings.lr)
    : new Adam(method.trainableVariables(), { lr: settings.lr, beta1: training.beta1, beta2: training.beta2, eps: 1e-8 });
}
