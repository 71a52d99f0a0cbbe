// Label graphs of the DAGNN family (methods.md 1.4, 3.2, 4.2).
// P-GNN: a fixed adjacency from training-label co-occurrence. I-GNN: a fixed part from label-embedding
// similarity, to which the model adds a learned part (src/methods/dagnn.ts).
import * as tf from '@tensorflow/tfjs';
import { fusedGradients, rowNorms } from '../engine/ops.js';
import { HEAD_SIMILARITY, HEAD_SIMILARITY_GRAD, nativeSimilarity } from '../engine/similarity-kernel.js';

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

/** One head's cosine matrix of the label vectors scaled by w: norm(X w) norm(X w)^T (F.normalize's 1e-12 clamp). */
function headCosine(inputs: tf.Tensor, w: tf.Tensor): tf.Tensor {
  const scaled = tf.mul(inputs, w);
  const weighted = tf.div(scaled, tf.maximum(rowNorms(scaled), 1e-12));
  return tf.matMul(weighted, weighted, false, true);
}

/**
 * I-GNN's learned similarity S = mean over the k heads of headCosine (methods.md 4.2). With fused gradients
 * (engine/ops.ts) one differentiable op instead of some 250 taped kernels of tiny tensors: the forward pass is the
 * same arithmetic in the same order. Gradient, per head with Y = X w, N = max(|Y|, 1e-12), Yn = Y / N:
 *   dYn = (dS + dS^T) Yn / k,  dY = (dYn - Yn <Yn, dYn>) / N (no projection where N is clamped),
 *   dX += dY w,  dw = sum over rows of dY X.
 */
export function headSimilarity(inputs: tf.Tensor, headWeights: tf.Tensor[]): tf.Tensor {
  const k = headWeights.length;
  if (!fusedGradients()) return tf.div(tf.addN(headWeights.map((w) => headCosine(inputs, w))), k);
  if (nativeSimilarity() && inputs.rank === 2 && inputs.dtype === 'float32') return similarityKernels(inputs, headWeights);
  const op = tf.customGrad((...args) => {
    const [x, ...ws] = args.slice(0, k + 1) as tf.Tensor[];
    const save = args[k + 1] as unknown as tf.GradSaveFunc;
    const scaled = ws.map((w) => tf.mul(x as tf.Tensor, w));
    const norms = scaled.map((y) => tf.maximum(rowNorms(y), 1e-12));
    const unit = scaled.map((y, h) => tf.div(y, norms[h] as tf.Tensor));
    save([x as tf.Tensor, ...ws, ...unit, ...norms]);
    return {
      value: tf.div(tf.addN(unit.map((yn) => tf.matMul(yn, yn, false, true))), k),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, ...rest] = saved as [tf.Tensor, ...tf.Tensor[]];
        const sw = rest.slice(0, k);
        const sunit = rest.slice(k, 2 * k);
        const snorm = rest.slice(2 * k);
        const sym = tf.div(tf.add(dy, tf.transpose(dy)), k);
        const dws: tf.Tensor[] = [];
        const dxs: tf.Tensor[] = [];
        for (let h = 0; h < k; h++) {
          const yn = sunit[h] as tf.Tensor;
          const n = snorm[h] as tf.Tensor;
          const dYn = tf.matMul(sym, yn);
          const free = tf.cast(tf.greater(n, 1e-12), 'float32');
          const dY = tf.div(tf.sub(dYn, tf.mul(yn, tf.mul(tf.sum(tf.mul(yn, dYn), 1, true), free))), n);
          dxs.push(tf.mul(dY, sw[h] as tf.Tensor));
          dws.push(tf.sum(tf.mul(dY, sx), 0));
        }
        return [tf.addN(dxs), ...dws];
      },
    };
  });
  return op(inputs, ...headWeights) as tf.Tensor;
}

/** The same op as two kernels, forward and gradient (engine/similarity-kernel.ts), with the same bits. */
function similarityKernels(inputs: tf.Tensor, headWeights: tf.Tensor[]): tf.Tensor {
  const k = headWeights.length;
  const named = (ws: tf.Tensor[]) => Object.fromEntries(ws.map((w, h) => [`w${h}`, w]));
  const op = tf.customGrad((...args) => {
    const [x, ...ws] = args.slice(0, k + 1) as tf.Tensor[];
    const save = args[k + 1] as unknown as tf.GradSaveFunc;
    const [S, unit, norms] = tf.engine().runKernel(HEAD_SIMILARITY, { x: x as tf.Tensor, ...named(ws) }) as tf.Tensor[];
    save([x as tf.Tensor, unit as tf.Tensor, norms as tf.Tensor, ...ws]);
    return {
      value: S as tf.Tensor,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sunit, snorms, ...sw] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, ...tf.Tensor[]];
        return tf.engine().runKernel(HEAD_SIMILARITY_GRAD, { dy, x: sx, unit: sunit, norms: snorms, ...named(sw) }) as tf.Tensor[];
      },
    };
  });
  return op(inputs, ...headWeights) as tf.Tensor;
}
