// Label graphs of the DAGNN family (methods.md 1.4, 3.2, 4.2).
// P-GNN: a fixed adjacency from training-label co-occurrence. I-GNN: a fixed part from label-embedding
// similarity, to which the model adds a learned part (src/methods/dagnn.ts).
import * as tf from '@tensorflow/tfjs';

export interface Cooccurrence {
  /** C x C counts; as the official generator does, the diagonal is counted twice (adj[i][i] = 2 nums[i]). */
  adj: Float64Array;
  /** Items carrying each label. */
  nums: Float64Array;
  classes: number;
}

/** ALGCN's gen_occurrence_adj.py over multi-hot training labels (N x C). */
export function cooccurrence(labels: Uint8Array, classes: number): Cooccurrence {
  const adj = new Float64Array(classes * classes);
  const nums = new Float64Array(classes);
  const rows = labels.length / classes;
  const on: number[] = [];
  for (let r = 0; r < rows; r++) {
    on.length = 0;
    for (let c = 0; c < classes; c++) if (labels[r * classes + c]) on.push(c);
    for (let a = 0; a < on.length; a++) {
      const i = on[a] as number;
      nums[i]!++;
      for (let b = a; b < on.length; b++) {
        const j = on[b] as number;
        adj[i * classes + j]!++;
        adj[j * classes + i]!++;
      }
    }
  }
  return { adj, nums, classes };
}

/**
 * gen_A: P = adj / nums (row-wise, P_ij ~ P(j | i)), binarised at t, then A = 0.5 P + I. A label that never
 * occurs has an all-zero row of P (the official code would divide by zero).
 */
export function genA(co: Cooccurrence, t = 0.4): Float64Array {
  const C = co.classes;
  const A = new Float64Array(C * C);
  for (let i = 0; i < C; i++) {
    const n = co.nums[i] as number;
    for (let j = 0; j < C; j++) {
      const p = n > 0 ? (co.adj[i * C + j] as number) / n : 0;
      A[i * C + j] = (p >= t ? 0.5 : 0) + (i === j ? 1 : 0);
    }
  }
  return A;
}

/**
 * gen_adj: D A^T D with D = diag(rowsum(A)^-1/2) (note the transpose: A is not symmetric), in float64 for P-GNN's
 * fixed graph. genAdjTensor below is the same formula on tensors, for I-GNN, whose graph is learned through it.
 * Two forms on purpose: computing P-GNN's graph in float32 tensors changes about 8% of its entries by an ulp, which
 * would move every P-GNN figure; the test checks both forms against methods.md's golden value.
 */
export function genAdj(A: Float64Array, C: number): Float64Array {
  const d = new Float64Array(C);
  for (let i = 0; i < C; i++) {
    let s = 0;
    for (let j = 0; j < C; j++) s += A[i * C + j] as number;
    d[i] = s > 0 ? 1 / Math.sqrt(s) : 0;
  }
  const out = new Float64Array(C * C);
  for (let i = 0; i < C; i++) for (let j = 0; j < C; j++) out[i * C + j] = (d[i] as number) * (A[j * C + i] as number) * (d[j] as number);
  return out;
}

/** gen_adj on a tensor (differentiable): D A^T D, D = diag(rowsum(A)^-1/2); rows of A must have positive sums. */
export function genAdjTensor(A: tf.Tensor): tf.Tensor {
  const dInvSqrt = tf.pow(tf.sum(A, 1), -0.5);
  return tf.mul(tf.mul(tf.reshape(dInvSqrt, [-1, 1]), tf.transpose(A)), tf.reshape(dInvSqrt, [1, -1]));
}

/** I-GNN's fixed part A0: cosine similarity of label embeddings, entries below t set to 0 (diagonal 1). */
export function embeddingAdjacency(embeddings: Float32Array | Float64Array, C: number, t = 0.4): Float64Array {
  const dim = embeddings.length / C;
  const norms = Array.from({ length: C }, (_, i) => {
    let s = 0;
    for (let k = 0; k < dim; k++) s += (embeddings[i * dim + k] as number) ** 2;
    return Math.sqrt(s);
  });
  const out = new Float64Array(C * C);
  for (let i = 0; i < C; i++) {
    for (let j = 0; j < C; j++) {
      let s = 0;
      for (let k = 0; k < dim; k++) s += (embeddings[i * dim + k] as number) * (embeddings[j * dim + k] as number);
      const cos = s / Math.max((norms[i] as number) * (norms[j] as number), 1e-12);
      out[i * C + j] = cos >= t ? cos : 0;
    }
  }
  return out;
}
