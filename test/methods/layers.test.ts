// Batch norm's running statistics against a float64 transcription of PyTorch's rule (methods.md 11):
// running = (1 - m) running + m batch, with the unbiased batch variance, applied at every training-mode call.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { Adam } from '../../src/engine/adam.js';
import { initEngine, tf } from '../../src/engine/engine.js';
import { createRng, uniformArray } from '../../src/engine/random.js';
import { BatchNorm, Params } from '../../src/methods/layers.js';

before(async () => {
  await initEngine();
});

/** PyTorch's update of one BatchNorm1d call, in float64. */
function torchUpdate(running: { mean: number[]; variance: number[] }, x: Float32Array, n: number, d: number, m = 0.1) {
  for (let j = 0; j < d; j++) {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += x[i * d + j] as number;
    mean /= n;
    let ss = 0;
    for (let i = 0; i < n; i++) ss += ((x[i * d + j] as number) - mean) ** 2;
    running.mean[j] = (1 - m) * (running.mean[j] as number) + m * mean;
    running.variance[j] = (1 - m) * (running.variance[j] as number) + m * (ss / (n - 1));
  }
}

function stepTwice(calls: number, tracked: (call: number) => boolean = () => true) {
  const d = 3;
  const rng = createRng(5);
  const p = new Params(1);
  const bn = new BatchNorm(p, 'bn', d);
  const opt = new Adam(p.trainableVariables(), { lr: 1e-3 });
  const reference = { mean: [0, 0, 0], variance: [1, 1, 1] };
  for (let step = 0; step < 3; step++) {
    // Batches of different sizes and scales, as source and target batches are.
    const batches = Array.from({ length: calls }, (_, c) => {
      const n = 4 + 3 * c;
      return { n, x: uniformArray(rng, n * d).map((v) => v * (1 + 2 * c) + c) };
    });
    opt.minimize(() => tf.addN(batches.map((b, c) => tf.sum(tf.square(bn.apply(tf.tensor2d(b.x, [b.n, d]), true, tracked(c)))))) as tf.Scalar);
    p.commit();
    batches.forEach((b, c) => tracked(c) && torchUpdate(reference, b.x, b.n, d));
  }
  const got = { mean: Array.from(bn.runningMean.dataSync()), variance: Array.from(bn.runningVar.dataSync()) };
  opt.dispose();
  p.dispose();
  return { got, reference };
}

const close = (got: number[], want: number[]) => got.forEach((g, j) => assert.ok(Math.abs(g - (want[j] as number)) < 1e-5 * Math.max(1, Math.abs(want[j] as number)), `${g} vs PyTorch's ${want[j]}`));

test('batch norm called twice per step chains its running statistics as PyTorch does', () => {
  const { got, reference } = stepTwice(2);
  close(got.mean, reference.mean);
  close(got.variance, reference.variance);
});

test('batch norm called once per step: the same rule (and the two-call test can fail: only the last call would not match)', () => {
  const { got, reference } = stepTwice(1);
  close(got.mean, reference.mean);
  close(got.variance, reference.variance);
  // Control: the old behaviour kept only the last call of a step; that differs from the reference by far more
  // than the tolerance, so the two-call test above would catch it.
  const d = 3;
  const rng = createRng(5);
  const lastOnly = { mean: [0, 0, 0], variance: [1, 1, 1] };
  for (let step = 0; step < 3; step++) {
    const batches = Array.from({ length: 2 }, (_, c) => ({ n: 4 + 3 * c, x: uniformArray(rng, (4 + 3 * c) * d).map((v) => v * (1 + 2 * c) + c) }));
    const before = { mean: [...lastOnly.mean], variance: [...lastOnly.variance] };
    for (const b of batches) {
      const r = { mean: [...before.mean], variance: [...before.variance] };
      torchUpdate(r, b.x, b.n, d);
      Object.assign(lastOnly, r);
    }
  }
  const chained = stepTwice(2).reference;
  assert.ok(lastOnly.mean.some((v, j) => Math.abs(v - (chained.mean[j] as number)) > 1e-3));
});

test('a call with track false (aeir normStatistics=target on source batches) leaves the running statistics to the other calls', () => {
  const { got, reference } = stepTwice(2, (call) => call === 1);
  close(got.mean, reference.mean);
  close(got.variance, reference.variance);
  const both = stepTwice(2);
  assert.ok(Math.abs(got.mean[0]! - both.got.mean[0]!) > 1e-3, 'control: tracking both calls gives other statistics');
});
