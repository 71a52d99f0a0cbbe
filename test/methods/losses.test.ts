// Golden values of methods.md 2.3 (a line-by-line numpy transcription of the official loss.py), to float32
// precision, and gradient checks of every loss.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initEngine, tf } from '../../src/engine/engine.js';
import { createRng, uniformArray } from '../../src/engine/random.js';
import { classificationLoss, cosineClassificationLoss, cosineScores, labelSimilarityLoss, modalityCrossEntropy, softContrastiveLoss } from '../../src/methods/losses.js';

await initEngine({ quiet: true });

const L = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 1, 1], [1, 0, 0]];
const I = [[0.9, 0.1, 0.3], [0.2, 0.8, 0.5], [0.4, 0.4, 0.1], [0.1, 0.3, 0.9], [0.6, 0.6, 0.2], [0.3, 0.9, 0.1]];
const T = [[0.1, 0.9, 0.2], [0.8, 0.2, 0.4], [0.3, 0.3, 0.8], [0.7, 0.6, 0.1], [0.2, 0.5, 0.5], [0.9, 0.3, 0.3]];
const W = [[1, 0, 0.1], [0, 1, 0.1], [0.1, 0, 1]];
const value = (f: () => tf.Scalar) => tf.tidy(() => f().dataSync()[0] as number);
const close = (got: number, want: number) => assert.ok(Math.abs(got - want) <= 2e-6 * Math.abs(want), `${got} vs golden ${want}`);
const contrastive = { gamma: 0.14, lseFactor: 1.06, labelSimilarity: 'binary' as const };

test('soft multi-label contrastive loss: golden values at tau 0.22 and 0.20', () => {
  close(value(() => softContrastiveLoss(tf.tensor2d(I), tf.tensor2d(T), tf.tensor2d(L), { ...contrastive, tau: 0.22 })), 5.662204571442986);
  close(value(() => softContrastiveLoss(tf.tensor2d(I), tf.tensor2d(T), tf.tensor2d(L), { ...contrastive, tau: 0.2 })), 5.886965958526034);
});

test('classification loss on cosine classifier scores: golden value', () => {
  close(value(() => {
    const w = tf.tensor2d(W);
    return classificationLoss(cosineScores(tf.tensor2d(I), w), cosineScores(tf.tensor2d(T), w), tf.tensor2d(L));
  }), 1.7655552239221075);
});

test('DSCMR-style label-similarity loss: golden value', () => {
  close(value(() => labelSimilarityLoss(tf.tensor2d(I), tf.tensor2d(T), tf.tensor2d(L))), 1.9908980190546546);
});

test('options: without the 1.06 factor the loss changes; Jaccard equals binary on single-label rows', () => {
  const base = value(() => softContrastiveLoss(tf.tensor2d(I), tf.tensor2d(T), tf.tensor2d(L), { ...contrastive, tau: 0.22 }));
  const plain = value(() => softContrastiveLoss(tf.tensor2d(I), tf.tensor2d(T), tf.tensor2d(L), { ...contrastive, tau: 0.22, lseFactor: 1 }));
  assert.ok(Math.abs(base - plain) > 1e-3);
  const single = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]];
  const a = value(() => softContrastiveLoss(tf.tensor2d(I), tf.tensor2d(T), tf.tensor2d(single), { ...contrastive, tau: 0.22 }));
  const b = value(() => softContrastiveLoss(tf.tensor2d(I), tf.tensor2d(T), tf.tensor2d(single), { ...contrastive, tau: 0.22, labelSimilarity: 'jaccard' }));
  assert.ok(Math.abs(a - b) < 1e-5);
});

const losses: Record<string, (u: tf.Tensor, v: tf.Tensor) => tf.Scalar> = {
  contrastive: (u, v) => softContrastiveLoss(u, v, tf.tensor2d(L), { ...contrastive, tau: 0.22 }),
  labelSimilarity: (u, v) => labelSimilarityLoss(u, v, tf.tensor2d(L)),
  classification: (u, v) => classificationLoss(cosineScores(u, tf.tensor2d(W)), cosineScores(v, tf.tensor2d(W)), tf.tensor2d(L)),
  // The same term as one op (its gradient written out), by the features and by the classifiers.
  cosineClassification: (u, v) => cosineClassificationLoss(u, v, tf.tensor2d(W), tf.tensor2d(L)),
  cosineClassificationByClassifiers: (u, v) => cosineClassificationLoss(tf.tensor2d(I), tf.tensor2d(T), tf.add(tf.slice(u, [0, 0], [3, 3]), tf.slice(v, [3, 0], [3, 3])), tf.tensor2d(L)),
  modalityCE: (u, v) => tf.add(modalityCrossEntropy(u.slice([0, 0], [-1, 2]), 1), modalityCrossEntropy(v.slice([0, 0], [-1, 2]), 0)) as tf.Scalar,
};

for (const [name, loss] of Object.entries(losses)) {
  test(`gradient check of the ${name} loss (finite differences)`, () => {
    const rng = createRng(name.length);
    const u0 = uniformArray(rng, 18, 0.1, 1);
    const v0 = uniformArray(rng, 18, 0.1, 1);
    const f = (u: Float32Array, v: Float32Array) => value(() => loss(tf.tensor2d(u, [6, 3]), tf.tensor2d(v, [6, 3])));
    const grads = tf.tidy(() => tf.grads((u: tf.Tensor, v: tf.Tensor) => loss(u, v))([tf.tensor2d(u0, [6, 3]), tf.tensor2d(v0, [6, 3])]).map((g) => g.dataSync()));
    const h = 1e-2;
    for (const [which, base, grad] of [['u', u0, grads[0]!], ['v', v0, grads[1]!]] as const) {
      for (let i = 0; i < base.length; i++) {
        const plus = base.slice();
        const minus = base.slice();
        plus[i]! += h;
        minus[i]! -= h;
        const numeric = which === 'u' ? (f(plus, v0) - f(minus, v0)) / (2 * h) : (f(u0, plus) - f(u0, minus)) / (2 * h);
        assert.ok(Math.abs(numeric - (grad[i] as number)) <= 5e-3 * (1 + Math.abs(numeric)), `${name} d/d${which}[${i}]: ${grad[i]} vs ${numeric}`);
      }
    }
  });
}
