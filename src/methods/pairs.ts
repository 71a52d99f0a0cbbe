// Views of a batch for two-modality losses when items may lack a modality: per-modality rows with their labels,
// and the rows of the items that have both (for cross-modal terms).
import * as tf from '@tensorflow/tfjs';
import { gatherRows } from '../engine/ops.js';
import type { Batch } from './method.js';

export interface PairedViews {
  /** Every item has both modalities (no gathers needed). */
  complete: boolean;
  labelsA: tf.Tensor;
  labelsB: tf.Tensor;
  /** Rows of u and v (the two modalities' outputs) for items that have both, and their labels. */
  pairA(u: tf.Tensor): tf.Tensor;
  pairB(v: tf.Tensor): tf.Tensor;
  pairLabels: tf.Tensor;
  pairs: number;
}

export function pairedViews(batch: Batch, a: string, b: string, width: number): PairedViews {
  const ra = batch.rows[a] as Int32Array;
  const rb = batch.rows[b] as Int32Array;
  if (ra.length === batch.size && rb.length === batch.size) {
    return { complete: true, labelsA: batch.labels, labelsB: batch.labels, pairA: (u) => u, pairB: (v) => v, pairLabels: batch.labels, pairs: batch.size };
  }
  const inB = new Map(Array.from(rb, (r, k) => [r, k]));
  const ia: number[] = [];
  const ib: number[] = [];
  ra.forEach((r, k) => {
    const j = inB.get(r);
    if (j !== undefined) {
      ia.push(k);
      ib.push(j);
    }
  });
  const labelsA = tf.gather(batch.labels, ra);
  return {
    complete: false,
    labelsA,
    labelsB: tf.gather(batch.labels, rb),
    pairA: (u) => (ia.length ? gatherRows(u as tf.Tensor2D, ia) : tf.zeros([0, width])),
    pairB: (v) => (ib.length ? gatherRows(v as tf.Tensor2D, ib) : tf.zeros([0, width])),
    pairLabels: tf.gather(labelsA, Int32Array.from(ia)),
    pairs: ia.length,
  };
}
