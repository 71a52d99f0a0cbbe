// Loss terms of the DAGNN family, transcribed from the official loss.py (methods.md 3.6, 4.3) and checked
// against its golden values.
import * as tf from '@tensorflow/tfjs';
import { fusedGradients, l2Normalize, logSumExp, rowNorms } from '../engine/ops.js';

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
  return tf.tidy(() => tf.add(distanceTerm(predA, labels), distanceTerm(predB, labelsB)) as tf.Scalar);
}

/** mean_i |p_i - y_i| (0 for no rows). */
function distanceTerm(p: tf.Tensor, y: tf.Tensor): tf.Tensor {
  return p.shape[0] ? tf.mean(tf.sqrt(tf.sum(tf.square(tf.sub(p, y)), 1))) : tf.scalar(0);
}

/**
 * classificationLoss(cosineScores(u, Z), cosineScores(v, Z), labels, labelsB), the DAGNN family's classification
 * term; with fused gradients each view's term is one op. With p = A / D, A = x Z^T, D = |x| |Z|^T + 1e-6,
 * r_i = |p_i - y_i|: dp = (p - y) / (n r), dA = dp / D, dD = -dp p / D,
 *   dx = dA Z + x (dD |Z|) / |x|,  dZ = dA^T x + Z (dD^T |x|) / |Z|.
 */
export function cosineClassificationLoss(u: tf.Tensor, v: tf.Tensor, classifiers: tf.Tensor, labels: tf.Tensor, labelsB: tf.Tensor = labels): tf.Scalar {
  if (!fusedGradients()) return classificationLoss(cosineScores(u, classifiers), cosineScores(v, classifiers), labels, labelsB);
  return tf.tidy(() => tf.add(cosineTermFused(u, classifiers, labels), cosineTermFused(v, classifiers, labelsB)) as tf.Scalar);
}

function cosineTermFused(x: tf.Tensor, classifiers: tf.Tensor, y: tf.Tensor): tf.Tensor {
  if (!x.shape[0]) return tf.scalar(0);
  const op = tf.customGrad((...args) => {
    const [f, z] = args as [tf.Tensor, tf.Tensor];
    const save = args[2] as unknown as tf.GradSaveFunc;
    // cosineScores and distanceTerm's arithmetic, in their order.
    const nf = rowNorms(f);
    const nz = rowNorms(z);
    const d = tf.add(tf.matMul(nf, nz, false, true), 1e-6);
    const p = tf.div(tf.matMul(f, z, false, true), d);
    const diff = tf.sub(p, y);
    const r = tf.sqrt(tf.sum(tf.square(diff), 1, true));
    save([f, z, nf, nz, d, p, diff, r]);
    return {
      value: tf.mean(tf.reshape(r, [-1])),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sf, sz, snf, snz, sd, sp, sdiff, sr] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        const dp = tf.mul(tf.div(sdiff, sr), tf.div(dy, sf.shape[0] as number));
        const dA = tf.div(dp, sd);
        const dD = tf.neg(tf.mul(dA, sp));
        const df = tf.add(tf.matMul(dA, sz), tf.mul(sf, tf.div(tf.matMul(dD, snz), snf)));
        const dz = tf.add(tf.matMul(dA, sf, true), tf.mul(sz, tf.div(tf.matMul(dD, snf, true), snz)));
        return [df, dz];
      },
    };
  });
  return op(x, classifiers) as tf.Tensor;
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
 *
 *   L = -( E(P, S_uv) + E(P, S_uv^T) + gamma (E(P_u, S_uu) + E(P_v, S_vv)) ),
 *   E(P, S) = mean_i sum_j P_ij (S_ij - LSE_j(f S_ij)),  S_ab = norm(a) norm(b)^T / tau,
 * P the row-normalised label similarity (P_u, P_v without the diagonal), f the official 1.06 (lseFactor).
 */
export function softContrastiveLoss(u: tf.Tensor, v: tf.Tensor, labels: tf.Tensor, o: ContrastiveOptions, views?: Views): tf.Scalar {
  return fusedGradients() ? contrastiveFused(u, v, labels, o, views) : contrastiveTaped(u, v, labels, o, views);
}

/** The label-similarity matrix of two label sets: shared labels capped at 1 (binary) or Jaccard. */
function labelSimilarity(a: tf.Tensor, b: tf.Tensor, kind: ContrastiveOptions['labelSimilarity']): tf.Tensor {
  const shared = tf.matMul(a, b, false, true);
  if (kind !== 'jaccard') return tf.minimum(shared, 1);
  const union = tf.sub(tf.add(tf.sum(a, 1, true), tf.transpose(tf.sum(b, 1, true))), shared);
  return tf.div(shared, tf.maximum(union, 1e-6));
}

/** Targets of the cross-modal term: P = sim / max(rowsum(sim), 1e-6). */
function interTargets(labels: tf.Tensor, o: ContrastiveOptions): tf.Tensor {
  const sim = labelSimilarity(labels, labels, o.labelSimilarity);
  return tf.div(sim, tf.maximum(tf.sum(sim, 1, true), 1e-6));
}

/** Targets of an intra-modal term: the label similarity without the diagonal, row-normalised. */
function intraTargets(labels: tf.Tensor, o: ContrastiveOptions): tf.Tensor {
  const intra = tf.relu(tf.sub(labelSimilarity(labels, labels, o.labelSimilarity), tf.eye(labels.shape[0] as number)));
  return tf.div(intra, tf.maximum(tf.sum(intra, 1, true), 1e-6));
}

/** The loss op by op, as the official loss.py reads; tfjs differentiates it (setFusedGradients(false)). */
function contrastiveTaped(u: tf.Tensor, v: tf.Tensor, labels: tf.Tensor, o: ContrastiveOptions, views?: Views): tf.Scalar {
  return tf.tidy(() => {
    const logits = (s: tf.Tensor) => tf.sub(s, logSumExp(tf.mul(s, o.lseFactor), 1, true));
    const expected = (p: tf.Tensor, s: tf.Tensor) => tf.mean(tf.sum(tf.mul(p, logits(s)), 1));
    const normalize = (x: tf.Tensor) => l2Normalize(x as tf.Tensor2D);
    let inter: tf.Tensor = tf.scalar(0);
    if (u.shape[0]) {
      const s12 = tf.div(tf.matMul(normalize(u), normalize(v), false, true), o.tau);
      const pInter = interTargets(labels, o);
      inter = tf.add(expected(pInter, s12), expected(pInter, tf.transpose(s12)));
    }
    const intraTerm = (x: tf.Tensor, y: tf.Tensor) => {
      if (!x.shape[0]) return tf.scalar(0);
      const xn = normalize(x);
      const s = tf.div(tf.matMul(xn, xn, false, true), o.tau);
      return expected(intraTargets(y, o), s);
    };
    const w = views ?? { u, uLabels: labels, v, vLabels: labels };
    const intra = tf.add(intraTerm(w.u, w.uLabels), intraTerm(w.v, w.vLabels));
    return tf.neg(tf.add(inter, tf.mul(intra, o.gamma))) as tf.Scalar;
  });
}

/**
 * The same loss as one differentiable op with its gradient written out (a few dozen kernels instead of some
 * four hundred). With s = f S and r_i = sum_j P_ij:
 *   dE/dS_ij = (P_ij - f r_i softmax_j(s)_ij) / n,
 *   dL/dnorm(u) = (G_uv norm(v) + (G_uu + G_uu^T) norm(u)) / tau,  G the loss's derivatives by each S,
 *   dL/du = (g - norm(u) <norm(u), g>) / max(|u|, 1e-12)  (the projection drops out where the norm is clamped).
 */
function contrastiveFused(u: tf.Tensor, v: tf.Tensor, labels: tf.Tensor, o: ContrastiveOptions, views?: Views): tf.Scalar {
  return tf.tidy(() => {
    const w = views ?? { u, uLabels: labels, v, vLabels: labels };
    // The targets depend on labels only: constants to the op.
    const pInter = u.shape[0] ? interTargets(labels, o) : undefined;
    const pu = w.u.shape[0] ? intraTargets(w.uLabels, o) : undefined;
    const pv = w.v.shape[0] ? intraTargets(w.vLabels, o) : undefined;
    // Each input once: the intra views are the paired rows themselves when no modality is missing.
    const inputs = views ? [u, v, views.u, views.v] : [u, v];
    const [iu, iv] = views ? [2, 3] : [0, 1];
    const op = tf.customGrad((...args) => {
      const xs = args.slice(0, inputs.length) as tf.Tensor[];
      const save = args[inputs.length] as unknown as tf.GradSaveFunc;
      // The forward pass is the op-by-op form's arithmetic in its order, so the loss's value is bit-identical.
      const norms = xs.map((x) => tf.maximum(tf.sqrt(tf.sum(tf.square(x), 1, true)), 1e-12));
      const unit = xs.map((x, i) => tf.div(x, norms[i] as tf.Tensor));
      // E(P, S) and its derivative by S, dE/dS_ij = (P_ij - f r_i softmax_j(f S)_ij) / n.
      const term = (p: tf.Tensor, s: tf.Tensor): [tf.Tensor, tf.Tensor] => {
        const scaled = tf.mul(s, o.lseFactor);
        const lse = logSumExp(scaled, 1, true);
        const e = tf.mean(tf.sum(tf.mul(p, tf.sub(s, lse)), 1));
        const softmax = tf.exp(tf.sub(scaled, lse));
        const dS = tf.div(tf.sub(p, tf.mul(tf.mul(tf.sum(p, 1, true), o.lseFactor), softmax)), s.shape[0] as number);
        return [e, dS];
      };
      let inter: tf.Tensor = tf.scalar(0);
      let gInter: tf.Tensor = tf.zeros([0, 0]);
      if (pInter) {
        const s12 = tf.div(tf.matMul(unit[0] as tf.Tensor, unit[1] as tf.Tensor, false, true), o.tau);
        const [e1, g1] = term(pInter, s12);
        const [e2, g2] = term(pInter, tf.transpose(s12));
        inter = tf.add(e1, e2);
        gInter = tf.add(g1, tf.transpose(g2));
      }
      const intraTerm = (p: tf.Tensor | undefined, x: tf.Tensor): [tf.Tensor, tf.Tensor] => {
        if (!p) return [tf.scalar(0), tf.zeros([0, 0])];
        const [e, g] = term(p, tf.div(tf.matMul(x, x, false, true), o.tau));
        return [e, tf.add(g, tf.transpose(g))]; // S = x x^T: both factors
      };
      const [eu, gu] = intraTerm(pu, unit[iu] as tf.Tensor);
      const [ev, gv] = intraTerm(pv, unit[iv] as tf.Tensor);
      save([...unit, ...norms, gInter, gu, gv]);
      return {
        value: tf.neg(tf.add(inter, tf.mul(tf.add(eu, ev), o.gamma))),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const k = xs.length;
          const un = saved.slice(0, k);
          const nrm = saved.slice(k, 2 * k);
          const [gi, gU, gV] = saved.slice(2 * k) as [tf.Tensor, tf.Tensor, tf.Tensor];
          // dE/dnorm(x) for each input, then through the normalisation with L = -(inter + gamma intra) and 1/tau.
          const d: Array<tf.Tensor | undefined> = un.map(() => undefined);
          const add = (i: number, g: tf.Tensor) => (d[i] = d[i] ? tf.add(d[i] as tf.Tensor, g) : g);
          if (gi.size) {
            add(0, tf.matMul(gi, un[1] as tf.Tensor));
            add(1, tf.matMul(gi, un[0] as tf.Tensor, true));
          }
          if (gU.size) add(iu, tf.mul(tf.matMul(gU, un[iu] as tf.Tensor), o.gamma));
          if (gV.size) add(iv, tf.mul(tf.matMul(gV, un[iv] as tf.Tensor), o.gamma));
          const scale = tf.div(dy, -o.tau);
          return un.map((x, i) => {
            const g = d[i];
            if (!g) return tf.zerosLike(x);
            const n = nrm[i] as tf.Tensor;
            // The projection drops out where the norm is clamped at 1e-12 (x / 1e-12 is linear in x).
            const free = tf.cast(tf.greater(n, 1e-12), 'float32');
            const projected = tf.sub(g, tf.mul(x, tf.mul(tf.sum(tf.mul(x, g), 1, true), free)));
            return tf.mul(tf.div(projected, n), scale);
          });
        },
      };
    });
    return op(...inputs) as tf.Scalar;
  });
}

/** Mean softmax cross-entropy of 2-way logits against one class for every row. */
export function modalityCrossEntropy(logits: tf.Tensor, target: 0 | 1): tf.Scalar {
  if (fusedGradients()) return crossEntropyFused(logits, target);
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits);
    return tf.neg(tf.mean(tf.slice(logp, [0, target], [-1, 1]))) as tf.Scalar;
  });
}

/** The same as one op: the gradient by the logits is (softmax - onehot(target)) / n. */
function crossEntropyFused(logits: tf.Tensor, target: 0 | 1): tf.Scalar {
  const op = tf.customGrad((...args) => {
    const x = args[0] as tf.Tensor;
    const save = args[1] as unknown as tf.GradSaveFunc;
    const logp = tf.logSoftmax(x);
    save([logp]);
    return {
      value: tf.neg(tf.mean(tf.slice(logp, [0, target], [-1, 1]))),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [lp] = saved as [tf.Tensor];
        const n = lp.shape[0] as number;
        const onehot = tf.tensor2d(target === 0 ? [1, 0] : [0, 1], [1, 2]);
        return tf.mul(tf.sub(tf.exp(lp), onehot), tf.div(dy, n));
      },
    };
  });
  return op(logits) as tf.Scalar;
}
