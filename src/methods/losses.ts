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

/**
 * cla_loss: mean over items of the L2 norm (not squared) of prediction minus labels, summed over both views.
 * With missing modalities each view has its own items: `labelsB` are the second view's labels.
 */
export function classificationLoss(predA: tf.Tensor, predB: tf.Tensor, labels: tf.Tensor, labelsB: tf.Tensor = labels): tf.Scalar {
  return tf.tidy(() => {
    const term = (p: tf.Tensor, y: tf.Tensor) => (p.shape[0] ? tf.mean(tf.sqrt(tf.sum(tf.square(tf.sub(p, y)), 1))) : tf.scalar(0));
    return tf.add(term(predA, labels), term(predB, labelsB)) as tf.Scalar;
  });
}

/** The items of each view for the intra-modal terms, when they differ from the paired items (missing modalities). */
export interface Views {
  u: tf.Tensor;
  uLabels: tf.Tensor;
  v: tf.Tensor;
  vLabels: tf.Tensor;
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
export function labelSimilarityLoss(u: tf.Tensor, v: tf.Tensor, labels: tf.Tensor, views?: Views): tf.Scalar {
  return tf.tidy(() => {
    const term = (a: tf.Tensor, la: tf.Tensor, b: tf.Tensor, lb: tf.Tensor) => {
      if (!a.shape[0] || !b.shape[0]) return tf.scalar(0);
      const theta = tf.div(cosineMatrix(a, b), 2);
      return tf.mean(tf.sub(tf.log(tf.add(tf.exp(theta), 1)), tf.mul(tf.matMul(la, lb, false, true), theta)));
    };
    const w = views ?? { u, uLabels: labels, v, vLabels: labels };
    return tf.addN([term(w.u, w.uLabels, w.u, w.uLabels), term(u, labels, v, labels), term(w.v, w.vLabels, w.v, w.vLabels)]) as tf.Scalar;
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

/**
 * soft_con_loss of the TPAMI paper (methods.md 4.3). u and v are paired rows (the same items); with missing
 * modalities, `views` gives every item of each modality for the intra-modal terms.
 */
export function softContrastiveLoss(u: tf.Tensor, v: tf.Tensor, labels: tf.Tensor, o: ContrastiveOptions, views?: Views): tf.Scalar {
  return tf.tidy(() => {
    const similarity = (a: tf.Tensor, b: tf.Tensor) => {
      const shared = tf.matMul(a, b, false, true);
      if (o.labelSimilarity !== 'jaccard') return tf.minimum(shared, 1);
      const union = tf.sub(tf.add(tf.sum(a, 1, true), tf.transpose(tf.sum(b, 1, true))), shared);
      return tf.div(shared, tf.maximum(union, 1e-6));
    };
    const logits = (s: tf.Tensor) => tf.sub(s, logSumExp(tf.mul(s, o.lseFactor), 1, true));
    const expected = (p: tf.Tensor, s: tf.Tensor) => tf.mean(tf.sum(tf.mul(p, logits(s)), 1));
    const normalize = (x: tf.Tensor) => l2Normalize(x as tf.Tensor2D);
    let inter: tf.Tensor = tf.scalar(0);
    if (u.shape[0]) {
      const s12 = tf.div(tf.matMul(normalize(u), normalize(v), false, true), o.tau);
      const sim = similarity(labels, labels);
      const pInter = tf.div(sim, tf.maximum(tf.sum(sim, 1, true), 1e-6));
      inter = tf.add(expected(pInter, s12), expected(pInter, tf.transpose(s12)));
    }
    const intraTerm = (x: tf.Tensor, y: tf.Tensor) => {
      if (!x.shape[0]) return tf.scalar(0);
      const xn = normalize(x);
      const s = tf.div(tf.matMul(xn, xn, false, true), o.tau);
      const intra = tf.relu(tf.sub(similarity(y, y), tf.eye(x.shape[0])));
      return expected(tf.div(intra, tf.maximum(tf.sum(intra, 1, true), 1e-6)), s);
    };
    const w = views ?? { u, uLabels: labels, v, vLabels: labels };
    const intra = tf.add(intraTerm(w.u, w.uLabels), intraTerm(w.v, w.vLabels));
    return tf.neg(tf.add(inter, tf.mul(intra, o.gamma))) as tf.Scalar;
  });
}

/** Mean softmax cross-entropy of 2-way logits against one class for every row. */
export function modalityCrossEntropy(logits: tf.Tensor, target: 0 | 1): tf.Scalar {
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits);
    return tf.neg(tf.mean(tf.slice(logp, [0, target], [-1, 1]))) as tf.Scalar;
  });
}
