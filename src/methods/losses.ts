// Loss terms of the DAGNN family, transcribed from the official loss.py (methods.md 3.6, 4.3) and checked
// against its golden values.
import * as tf from '@tensorflow/tfjs';
import { l2Normalize, logSumExp, rowNorms } from '../engine/ops.js';

/** Cosine scores of features against classifiers: <u, z_c> / (|u| |z_c| + 1e-6), no sigmoid (methods.md 3.4). */
export function cosineScores(features: tf.Tensor, classifiers: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const norms = tf.matMul(rowNorms(features), rowNorms(classifiers), false, true);
    return tf.div(tf.matMul(features, classifiers, false, true), tf.add(norms, 1e-6));
  });
}

/** cla_loss: mean over items of the L2 norm (not squared) of prediction minus labels, summed over both views. */
export function classificationLoss(predA: tf.Tensor, predB: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const term = (p: tf.Tensor) => tf.mean(tf.sqrt(tf.sum(tf.square(tf.sub(p, labels)), 1)));
    return tf.add(term(predA), term(predB)) as tf.Scalar;
  });
}

/** Cosine matrix with the official clamp of the norm product at 1e-6. */
function cosineMatrix(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const norms = tf.matMul(rowNorms(a), rowNorms(b), false, true);
  return tf.div(tf.matMul(a, b, false, true), tf.maximum(norms, 1e-6));
}

/**
 * DSCMR's label-similarity loss (mdl_loss, the AAAI term): theta = cos/2, S = Y Y^T (shared label count,
 * not clamped); for (U,U), (U,V), (V,V): mean of log(1 + e^theta) - S theta; summed.
 */
export function labelSimilarityLoss(u: tf.Tensor, v: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const sim = tf.matMul(labels, labels, false, true);
    const term = (a: tf.Tensor, b: tf.Tensor) => {
      const theta = tf.div(cosineMatrix(a, b), 2);
      return tf.mean(tf.sub(tf.log(tf.add(tf.exp(theta), 1)), tf.mul(sim, theta)));
    };
    return tf.addN([term(u, u), term(u, v), term(v, v)]) as tf.Scalar;
  });
}

export interface ContrastiveOptions {
  tau: number;
  gamma: number;
  /** The official code multiplies the scores by 1.06 inside the log-sum-exp only; 1 gives a true log-softmax. */
  lseFactor: number;
  /** binary: share at least one label (official); jaccard: |a and b| / |a or b|. */
  labelSimilarity: 'binary' | 'jaccard';
}

/** soft_con_loss of the TPAMI paper (methods.md 4.3). */
export function softContrastiveLoss(u: tf.Tensor, v: tf.Tensor, labels: tf.Tensor, o: ContrastiveOptions): tf.Scalar {
  return tf.tidy(() => {
    const un = l2Normalize(u as tf.Tensor2D);
    const vn = l2Normalize(v as tf.Tensor2D);
    const s12 = tf.div(tf.matMul(un, vn, false, true), o.tau);
    const s11 = tf.div(tf.matMul(un, un, false, true), o.tau);
    const s22 = tf.div(tf.matMul(vn, vn, false, true), o.tau);
    const shared = tf.matMul(labels, labels, false, true);
    let sim: tf.Tensor;
    if (o.labelSimilarity === 'jaccard') {
      const counts = tf.sum(labels, 1, true);
      const union = tf.sub(tf.add(counts, tf.transpose(counts)), shared);
      sim = tf.div(shared, tf.maximum(union, 1e-6));
    } else {
      sim = tf.minimum(shared, 1);
    }
    const n = labels.shape[0];
    const pInter = tf.div(sim, tf.maximum(tf.sum(sim, 1, true), 1e-6));
    const intra = tf.relu(tf.sub(sim, tf.eye(n)));
    const pIntra = tf.div(intra, tf.maximum(tf.sum(intra, 1, true), 1e-6));
    const logits = (s: tf.Tensor) => tf.sub(s, logSumExp(tf.mul(s, o.lseFactor), 1, true));
    const expected = (p: tf.Tensor, s: tf.Tensor) => tf.mean(tf.sum(tf.mul(p, logits(s)), 1));
    const inter = tf.add(expected(pInter, s12), expected(pInter, tf.transpose(s12)));
    const intraTerm = tf.add(expected(pIntra, s11), expected(pIntra, s22));
    return tf.neg(tf.add(inter, tf.mul(intraTerm, o.gamma))) as tf.Scalar;
  });
}

/** Mean softmax cross-entropy of 2-way logits against one class for every row. */
export function modalityCrossEntropy(logits: tf.Tensor, target: 0 | 1): tf.Scalar {
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits);
    return tf.neg(tf.mean(tf.slice(logp, [0, target], [-1, 1]))) as tf.Scalar;
  });
}
