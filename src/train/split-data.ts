// One split's features and labels as typed arrays (never whole as tensors); batches become tensors one at a time.
import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../data/dataset.js';
import type { Batch, Method } from '../methods/method.js';
import type { Matrix32 } from '../eval/similarity.js';

export interface SplitData {
  /** Data set item indices of the split's usable items. */
  items: Int32Array;
  features: Record<string, Float32Array>;
  dims: Record<string, number>;
  labels: Uint8Array;
  classes: number;
  /** Items left out because they lack one of the modalities. */
  skipped: number;
}

/** Items of `indices` that have every one of `modalities`, with their features and labels. */
export function loadSplit(ds: Dataset, indices: Int32Array, modalities: string[]): SplitData {
  const present = modalities.map((m) => ds.present(m, indices));
  const keep = indices.filter((_, k) => present.every((p) => p[k]));
  const features: Record<string, Float32Array> = {};
  const dims: Record<string, number> = {};
  for (const m of modalities) {
    features[m] = ds.features(m, keep);
    dims[m] = ds.modality(m).dim;
  }
  return { items: keep, features, dims, labels: ds.labels(keep), classes: ds.labelNames.length, skipped: indices.length - keep.length };
}

function rows(data: Float32Array, dim: number, positions: ArrayLike<number>): Float32Array {
  const out = new Float32Array(positions.length * dim);
  for (let k = 0; k < positions.length; k++) {
    const p = positions[k] as number;
    out.set(data.subarray(p * dim, (p + 1) * dim), k * dim);
  }
  return out;
}

/** A batch of the split's positions (0..items-1) as tensors; the caller disposes them. */
export function makeBatch(split: SplitData, positions: ArrayLike<number>): Batch {
  const x: Record<string, tf.Tensor2D> = {};
  for (const [m, data] of Object.entries(split.features)) {
    const dim = split.dims[m] as number;
    x[m] = tf.tensor2d(rows(data, dim, positions), [positions.length, dim]);
  }
  const labels = new Float32Array(positions.length * split.classes);
  for (let k = 0; k < positions.length; k++) {
    const p = positions[k] as number;
    for (let c = 0; c < split.classes; c++) labels[k * split.classes + c] = split.labels[p * split.classes + c] as number;
  }
  return { x, labels: tf.tensor2d(labels, [positions.length, split.classes]), size: positions.length };
}

/** Evaluation-mode embeddings of every item of the split, per modality. */
export function embedSplit(method: Method, split: SplitData, batchSize = 1024): Record<string, Matrix32> {
  const out: Record<string, Matrix32> = {};
  const n = split.items.length;
  for (const m of method.modalities) {
    const dim = split.dims[m] as number;
    const data = new Float32Array(n * method.embeddingDim);
    for (let start = 0; start < n; start += batchSize) {
      const count = Math.min(batchSize, n - start);
      const emb = tf.tidy(() => method.embed(m, tf.tensor2d((split.features[m] as Float32Array).subarray(start * dim, (start + count) * dim), [count, dim])));
      data.set(emb.dataSync() as Float32Array, start * method.embeddingDim);
      emb.dispose();
    }
    out[m] = { rows: n, cols: method.embeddingDim, data };
  }
  return out;
}
