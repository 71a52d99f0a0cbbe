// Ops the methods need that tfjs lacks or cannot differentiate on wasm.
import * as tf from '@tensorflow/tfjs';
import { BATCH_NORM, BATCH_NORM_GRAD, nativeBatchNorm } from './batchnorm-kernel.js';

/**
 * Gradient reversal (Ganin & Lempitsky): identity forward, gradient times -lambda backward. It turns one
 * optimiser step into the minimax of an adversarial game: the discriminator minimises its loss while
 * everything upstream of this op maximises it.
 */
export function gradReverse(x: tf.Tensor, lambda = 1): tf.Tensor {
  const op = tf.customGrad((...args) => {
    const input = args[0] as tf.Tensor;
    return { value: tf.clone(input), gradFunc: (dy: tf.Tensor) => tf.mul(dy, -lambda) };
  });
  return op(x) as tf.Tensor;
}

/** Identity forward, zero gradient: tfjs has no stopGradient. */
export function stopGradient(x: tf.Tensor): tf.Tensor {
  const op = tf.customGrad((...args) => {
    const input = args[0] as tf.Tensor;
    return { value: tf.clone(input), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) };
  });
  return op(x) as tf.Tensor;
}

/** Rows scaled to unit L2 norm, as torch.nn.functional.normalize (eps 1e-12 on the norm). */
export function l2Normalize(x: tf.Tensor2D, eps = 1e-12): tf.Tensor2D {
  return tf.tidy(() => {
    const norm = tf.sqrt(tf.sum(tf.square(x), 1, true));
    return tf.div(x, tf.maximum(norm, eps));
  });
}

/**
 * Rows of `table` picked by index, differentiable on wasm: tf.gather's gradient (UnsortedSegmentSum) has
 * no wasm kernel, so gather through a one-hot product instead.
 */
export function gatherRows(table: tf.Tensor2D, indices: ArrayLike<number>): tf.Tensor2D {
  return tf.tidy(() => {
    const rows = table.shape[0];
    const picks = new Float32Array(indices.length * rows);
    for (let i = 0; i < indices.length; i++) {
      const j = indices[i] as number;
      if (!Number.isInteger(j) || j < 0 || j >= rows) throw new RangeError(`gatherRows: index ${j} out of [0, ${rows})`);
      picks[i * rows + j] = 1;
    }
    return tf.matMul(tf.tensor2d(picks, [indices.length, rows]), table);
  });
}

/** The inverse of gatherRows: row k of `x` placed at row positions[k] of a `size`-row matrix, zeros elsewhere. */
export function scatterRows(x: tf.Tensor2D, positions: ArrayLike<number>, size: number): tf.Tensor2D {
  return tf.tidy(() => {
    const n = x.shape[0];
    const place = new Float32Array(size * n);
    for (let k = 0; k < positions.length; k++) {
      const j = positions[k] as number;
      if (!Number.isInteger(j) || j < 0 || j >= size) throw new RangeError(`scatterRows: position ${j} out of [0, ${size})`);
      place[j * n + k] = 1;
    }
    return tf.matMul(tf.tensor2d(place, [size, n]), x);
  });
}

/**
 * log(sum(exp(x))) along `axis` with its gradient taken as softmax(x) directly: tfjs's own logSumExp also
 * differentiates through its max-subtraction, which costs Equal and Tile kernels for nothing (that part of
 * the gradient is zero).
 */
export function logSumExp(x: tf.Tensor, axis: number, keepDims = false): tf.Tensor {
  const op = tf.customGrad((...args) => {
    const input = args[0] as tf.Tensor;
    const save = args[1] as unknown as tf.GradSaveFunc;
    const kept = tf.tidy(() => {
      const m = tf.max(input, axis, true);
      return tf.add(m, tf.log(tf.sum(tf.exp(tf.sub(input, m)), axis, true)));
    });
    // Tensors the gradient needs must be saved through customGrad, or the tape disposes them.
    save([input, kept]);
    return {
      value: keepDims ? kept : tf.squeeze(kept, [axis]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedInput, savedValue] = saved as [tf.Tensor, tf.Tensor];
        const dyKeep = keepDims ? dy : tf.expandDims(dy, axis);
        return tf.mul(dyKeep, tf.exp(tf.sub(savedInput, savedValue)));
      },
    };
  });
  return op(x) as tf.Tensor;
}

/** Row norms as sqrt(sum(x^2)): tf.norm goes through Pow and Abs, whose gradients cost far more. */
export function rowNorms(x: tf.Tensor, keepDims = true): tf.Tensor {
  return tf.sqrt(tf.sum(tf.square(x), 1, keepDims));
}

// Hand-derived gradients for the blocks a training step runs most (training-mode batch norm here; the contrastive,
// classification and cross-entropy losses in methods/losses.ts; I-GNN's similarity in graph/label-graph.ts): tfjs
// differentiates them op by op, dozens of wasm kernels each with their own tape entries, which on a Wikipedia-shape
// step cost more than the arithmetic (docs/engine.md#fused-gradients). Off, the methods take the op-by-op path as
// before (`npm run bench -- full-run` runs both); results agree to float32 rounding (test/engine/fused-gradients.test.ts).
let fused = true;

/** Whether the methods use the hand-derived gradients (default) or tfjs's op-by-op ones; returns the previous setting. */
export function setFusedGradients(enabled: boolean): boolean {
  const previous = fused;
  fused = enabled;
  return previous;
}

export function fusedGradients(): boolean {
  return fused;
}

/**
 * Training-mode batch norm over axis 0, y = gamma (x - mean) / sqrt(var + eps) + beta with the batch's biased
 * variance, in one differentiable op. The forward pass is tf.moments' arithmetic, so y is bit-identical to the
 * op-by-op form; the gradient is the closed form
 *   dx = (dxhat - mean(dxhat) - xhat mean(dxhat xhat)) / sqrt(var + eps),  dxhat = dy gamma,
 *   dgamma = sum(dy xhat), dbeta = sum(dy).
 * `stats` receives the batch mean and variance (kept: the caller disposes them) for the running statistics.
 */
export function batchNormTraining(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number, stats?: (mean: tf.Tensor, variance: tf.Tensor) => void): tf.Tensor {
  // With the addon (a float32 matrix of at least one row): one native pass each way (engine/batchnorm-kernel.ts).
  const native = nativeBatchNorm() && x.rank === 2 && x.shape[0]! > 0 && x.dtype === 'float32';
  const op = tf.customGrad((...args) => {
    const [input, g, b] = args as [tf.Tensor, tf.Tensor, tf.Tensor];
    const save = args[3] as unknown as tf.GradSaveFunc;
    let y: tf.Tensor;
    let mean: tf.Tensor;
    let variance: tf.Tensor;
    let xhat: tf.Tensor;
    let invStd: tf.Tensor;
    if (native) {
      [y, mean, variance, xhat, invStd] = tf.engine().runKernel(BATCH_NORM, { x: input, gamma: g, beta: b }, { eps }) as tf.Tensor[] as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    } else {
      ({ mean, variance } = tf.moments(input, 0));
      invStd = tf.rsqrt(tf.add(variance, eps));
      xhat = tf.mul(tf.sub(input, mean), invStd);
      y = tf.add(tf.mul(xhat, g), b);
    }
    if (stats) stats(tf.keep(mean), tf.keep(variance));
    save([xhat, invStd, g]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, inv, gm] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        if (native) return tf.engine().runKernel(BATCH_NORM_GRAD, { dy, xhat: xh, invStd: inv, gamma: gm }, {}) as tf.Tensor[];
        const dxhat = tf.mul(dy, gm);
        const dx = tf.mul(tf.sub(tf.sub(dxhat, tf.mean(dxhat, 0)), tf.mul(xh, tf.mean(tf.mul(dxhat, xh), 0))), inv);
        return [dx, tf.sum(tf.mul(dy, xh), 0), tf.sum(dy, 0)];
      },
    };
  });
  return op(x, gamma, beta) as tf.Tensor;
}
