// One split's features and labels as typed arrays (never whole as tensors); batches become tensors one at a time.
import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../data/dataset.js';
import type { Batch, Method } from '../methods/method.js';
import type { Matrix32 } from '../eval/similarity.js';

export interface SplitData {
  /** Data set item indices of the split's usable items. */
  items: Int32Array;
  /** Row per item; rows of items lacking the modality are zero and flagged absent in `present`. */
  features: Record<string, Float32Array>;
  present: Record<string, Uint8Array>;
  dims: Record<string, number>;
  labels: Uint8Array;
  classes: number;
  /** Items left out (lacking every modality, or, with `complete`, any). */
  skipped: number;
}

/**
 * Items of `indices` with their features, presence and labels: by default every item that has at least one of
 * `modalities`; with `complete`, only items that have all of them; with `zeroFill`, absent features count as
 * present zero vectors (the official code's behaviour, an explicit option).
 */
export function loadSplit(ds: Dataset, indices: Int32Array, modalities: string[], options: { complete?: boolean; zeroFill?: boolean } = {}): SplitData {
  const present = modalities.map((m) => ds.present(m, indices));
  const keep = indices.filter((_, k) => (options.complete ? present.every((p) => p[k]) : present.some((p) => p[k])));
  const features: Record<string, Float32Array> = {};
  const presence: Record<string, Uint8Array> = {};
  const dims: Record<string, number> = {};
  for (const m of modalities) {
    features[m] = ds.features(m, keep);
    presence[m] = options.zeroFill ? new Uint8Array(keep.length).fill(1) : ds.present(m, keep);
    dims[m] = ds.modality(m).dim;
  }
  return { items: keep, features, present: presence, dims, labels: ds.labels(keep), classes: ds.labelNames.length, skipped: indices.length - keep.length };
}

export function rows(data: Float32Array, dim: number, positions: ArrayLike<number>): Float32Array {
  const out = new Float32Array(positions.length * dim);
  for (let k = 0; k < positions.length; k++) {
    const p = positions[k] as number;
    out.set(data.subarray(p * dim, (p + 1) * dim), k * dim);
  }
  return out;
}

/**
 * A batch of the split's positions (0..items-1) as tensors; each modality holds only the items that have it,
 * so no absent (zero) feature reaches a loss. The caller disposes the tensors.
 */
export function makeBatch(split: SplitData, positions: ArrayLike<number>): Batch {
  const x: Record<string, tf.Tensor2D> = {};
  const batchRows: Record<string, Int32Array> = {};
  for (const [m, data] of Object.entries(split.features)) {
    const dim = split.dims[m] as number;
    const present = split.present[m] as Uint8Array;
    const here: number[] = [];
    for (let k = 0; k < positions.length; k++) if (present[positions[k] as number]) here.push(k);
    batchRows[m] = Int32Array.from(here);
    x[m] = tf.tensor2d(rows(data, dim, here.map((k) => positions[k] as number)), [here.length, dim]);
  }
  const labels = new Float32Array(positions.length * split.classes);
  for (let k = 0; k < positions.length; k++) {
    const p = positions[k] as number;
    for (let c = 0; c < split.classes; c++) labels[k * split.classes + c] = split.labels[p * split.classes + c] as number;
  }
  return { x, rows: batchRows, labels: tf.tensor2d(labels, [positions.length, split.classes]), size: positions.length };
}

/** Evaluation-mode embeddings of the split's items that have each modality, with those items' labels. */
export function embedSplit(method: Method, split: SplitData, batchSize = 1024): { embeddings: Record<string, Matrix32>; labels: Record<string, Uint8Array> } {
  const embeddings: Record<string, Matrix32> = {};
  const labels: Record<string, Uint8Array> = {};
  for (const m of method.modalities) {
    const dim = split.dims[m] as number;
    const here = Array.from(split.present[m] as Uint8Array, (p, k) => (p ? k : -1)).filter((k) => k >= 0);
    const features = rows(split.features[m] as Float32Array, dim, here);
    const n = here.length;
    const data = new Float32Array(n * method.embeddingDim);
    for (let start = 0; start < n; start += batchSize) {
      const count = Math.min(batchSize, n - start);
      const emb = tf.tidy(() => method.embed(m, tf.tensor2d(features.subarray(start * dim, (start + count) * dim), [count, dim])));
      data.set(emb.dataSync() as Float32Array, start * method.embeddingDim);
      emb.dispose();
    }
    embeddings[m] = { rows: n, cols: method.embeddingDim, data };
    const C = split.classes;
    labels[m] = Uint8Array.from({ length: n * C }, (_, i) => split.labels[(here[Math.floor(i / C)] as number) * C + (i % C)] as number);
  }
  return { embeddings, labels };
}

/** One modality's target-domain training rows, with no item identity left. */
export interface UnalignedPool {
  modality: string;
  dim: number;
  rows: number;
  data: Float32Array;
}

function compareRows(data: Float32Array, dim: number, a: number, b: number): number {
  for (let j = 0; j < dim; j++) {
    const d = (data[a * dim + j] as number) - (data[b * dim + j] as number);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Each modality's rows of `items` (those that have it), sorted by their values: the order, and so the pairing,
 * of the files cannot reach training. The only way an unaligned transfer method sees target training data.
 */
export function unalignedPools(ds: Dataset, items: Int32Array, modalities: string[]): Record<string, UnalignedPool> {
  const pools: Record<string, UnalignedPool> = {};
  for (const m of modalities) {
    const present = ds.present(m, items);
    const here = items.filter((_, k) => present[k]);
    const dim = ds.modality(m).dim;
    const raw = ds.features(m, here);
    const order = Array.from({ length: here.length }, (_, i) => i).sort((a, b) => compareRows(raw, dim, a, b));
    pools[m] = { modality: m, dim, rows: here.length, data: rows(raw, dim, order) };
  }
  return pools;
}

/** `size` rows of every pool from `start` of its own order (cyclic): independent draws per modality. */
export function unalignedBatch(pools: Record<string, UnalignedPool>, orders: Record<string, Int32Array>, start: number, size: number): Record<string, tf.Tensor2D> {
  const x: Record<string, tf.Tensor2D> = {};
  for (const [m, p] of Object.entries(pools)) {
    const order = orders[m] as Int32Array;
    const count = Math.min(size, p.rows);
    const picks = Array.from({ length: count }, (_, i) => order[(start + i) % p.rows] as number);
    x[m] = tf.tensor2d(rows(p.data, p.dim, picks), [count, p.dim]);
  }
  return x;
}

/**
 * Evaluation-mode aggregation of each item's present modalities (methods with `aggregate`), in item order, from
 * embedSplit's embeddings (rows of the items that have each modality).
 */
export function aggregateSplit(method: Method, split: SplitData, embeddings: Record<string, Matrix32> = embedSplit(method, split).embeddings, batchSize = 1024): Matrix32 {
  if (!method.aggregate) throw new Error(`${method.name} does not aggregate modalities`);
  const n = split.items.length;
  const d = method.embeddingDim;
  // Item-aligned rows per modality (zero where absent: the presence mask keeps them out).
  const aligned: Record<string, Float32Array> = {};
  for (const m of method.modalities) {
    const present = split.present[m] as Uint8Array;
    const source = (embeddings[m] as Matrix32).data;
    const rowsOf = new Float32Array(n * d);
    for (let k = 0, r = 0; k < n; k++) if (present[k]) rowsOf.set(source.subarray(r * d, (r++ + 1) * d), k * d);
    aligned[m] = rowsOf;
  }
  const data = new Float32Array(n * d);
  for (let start = 0; start < n; start += batchSize) {
    const count = Math.min(batchSize, n - start);
    const x: Record<string, tf.Tensor> = {};
    const present: Record<string, Uint8Array> = {};
    for (const m of method.modalities) {
      x[m] = tf.tensor2d((aligned[m] as Float32Array).subarray(start * d, (start + count) * d), [count, d]);
      present[m] = (split.present[m] as Uint8Array).subarray(start, start + count);
    }
    const emb = method.aggregate(x, present);
    data.set(emb.dataSync() as Float32Array, start * method.embeddingDim);
    tf.dispose([emb, ...Object.values(x)]);
  }
  return { rows: n, cols: method.embeddingDim, data };
}
