// The hand-derived gradients (setFusedGradients) against tfjs's op-by-op ones on the same inputs: the forward
// values are the same arithmetic (bit-identical), the gradients agree to float32 rounding. Controls: a wrong
// gradient (a dropped term) is caught by the same comparison.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initEngine, tf } from '../../src/engine/engine.js';
import { nativeActivationCalls, setNativeActivations } from '../../src/engine/activation-kernels.js';
import { nativeBatchNormCalls } from '../../src/engine/batchnorm-kernel.js';
import { nativeKernels } from '../../src/engine/engine.js';
import { batchNormTraining, setFusedGradients } from '../../src/engine/ops.js';
import { createRng, uniformArray } from '../../src/engine/random.js';
import { nativeSimilarityCalls, setNativeSimilarity } from '../../src/engine/similarity-kernel.js';
import { headSimilarity } from '../../src/graph/label-graph.js';
import '../../src/methods/index.js';
import { BatchNorm, Params } from '../../src/methods/layers.js';
import { create, resolve } from '../../src/methods/registry.js';
import { cosineClassificationLoss, modalityCrossEntropy, softContrastiveLoss, type ContrastiveOptions } from '../../src/methods/losses.js';

await initEngine({ quiet: true });

/** The loss's value and its gradients by each input, with the fused path on or off. */
function evaluate(fused: boolean, f: (...xs: tf.Tensor[]) => tf.Scalar, inputs: Float32Array[], shapes: number[][]): { value: number; grads: Float32Array[] } {
  const previous = setFusedGradients(fused);
  try {
    return tf.tidy(() => {
      const xs = inputs.map((data, i) => tf.tensor(data, shapes[i]));
      const { value, grads } = tf.valueAndGrads(f)(xs);
      return { value: value.dataSync()[0] as number, grads: grads.map((g) => g.dataSync() as Float32Array) };
    });
  } finally {
    setFusedGradients(previous);
  }
}

/** Largest difference of two gradients relative to the larger one's scale. */
function gap(a: Float32Array, b: Float32Array): number {
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(a[i] as number));
    worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
  }
  return worst / Math.max(scale, 1e-30);
}

function labels(rng: () => number, n: number, c: number): Float32Array {
  return Float32Array.from({ length: n * c }, (_, i) => (i % c === (i / c | 0) % c || rng() < 0.3 ? 1 : 0));
}

const options: ContrastiveOptions = { tau: 0.22, gamma: 0.14, lseFactor: 1.06, labelSimilarity: 'binary' };

for (const labelSimilarity of ['binary', 'jaccard'] as const) {
  test(`contrastive loss, ${labelSimilarity}: fused value bit-identical, gradients agree (complete pairs and missing-modality views)`, () => {
    const rng = createRng(labelSimilarity.length);
    const n = 24;
    const d = 40;
    const y = tf.tensor2d(labels(rng, n, 5), [n, 5]);
    const yu = tf.tensor2d(labels(rng, n + 6, 5), [n + 6, 5]);
    const yv = tf.tensor2d(labels(rng, n + 3, 5), [n + 3, 5]);
    const o = { ...options, labelSimilarity };
    const cases: Array<[string, (...xs: tf.Tensor[]) => tf.Scalar, number[][]]> = [
      ['complete', (u, v) => softContrastiveLoss(u as tf.Tensor, v as tf.Tensor, y, o), [[n, d], [n, d]]],
      ['views', (u, v, a, b) => softContrastiveLoss(u as tf.Tensor, v as tf.Tensor, y, o, { u: a as tf.Tensor, uLabels: yu, v: b as tf.Tensor, vLabels: yv }), [[n, d], [n, d], [n + 6, d], [n + 3, d]]],
      // No item has both modalities (u and v empty; their sums keep them on the tape for valueAndGrads).
      ['no pairs', (u, v, a, b) => tf.add(softContrastiveLoss(u as tf.Tensor, v as tf.Tensor, tf.zeros([0, 5]), o, { u: a as tf.Tensor, uLabels: yu, v: b as tf.Tensor, vLabels: yv }), tf.add(tf.sum(u as tf.Tensor), tf.sum(v as tf.Tensor))) as tf.Scalar, [[0, d], [0, d], [n + 6, d], [n + 3, d]]],
    ];
    for (const [name, f, shapes] of cases) {
      const inputs = shapes.map((s) => uniformArray(rng, s[0]! * s[1]!, -1, 1));
      const fused = evaluate(true, f, inputs, shapes);
      const taped = evaluate(false, f, inputs, shapes);
      assert.equal(fused.value, taped.value, `${name}: value`);
      fused.grads.forEach((g, i) => assert.ok(gap(g, taped.grads[i]!) < 1e-5, `${name}: gradient ${i} differs by ${gap(g, taped.grads[i]!)}`));
    }
    // A zero row: tfjs's op-by-op gradient is NaN there (sqrt's at 0 times the clamp's 0); the fused one is
    // PyTorch's (normalize's norm has gradient 0 at 0), g / 1e-12, finite.
    const shapes = cases[0]![2];
    const inputs = shapes.map((s) => uniformArray(rng, s[0]! * s[1]!, -1, 1));
    inputs[0]!.fill(0, 0, d);
    const fused = evaluate(true, cases[0]![1], inputs, shapes);
    assert.ok(fused.grads.every((g) => g.every(Number.isFinite)));
    tf.dispose([y, yu, yv]);
  });
}

test('cosine classification and modality cross-entropy: value bit-identical, gradients agree (views of different sizes)', () => {
  const rng = createRng(5);
  const [nu, nv, C, d] = [20, 13, 6, 16];
  const yu = tf.tensor2d(labels(rng, nu, C), [nu, C]);
  const yv = tf.tensor2d(labels(rng, nv, C), [nv, C]);
  const shapes = [[nu, d], [nv, d], [C, d]];
  const inputs = shapes.map((s) => uniformArray(rng, s[0]! * s[1]!, -1, 1));
  const f = (u: tf.Tensor, v: tf.Tensor, z: tf.Tensor) => tf.addN([
    cosineClassificationLoss(u, v, z, yu, yv),
    modalityCrossEntropy(tf.slice(u, [0, 0], [-1, 2]), 1),
    modalityCrossEntropy(tf.slice(v, [0, 3], [-1, 2]), 0),
  ]) as tf.Scalar;
  const fused = evaluate(true, f as (...xs: tf.Tensor[]) => tf.Scalar, inputs, shapes);
  const taped = evaluate(false, f as (...xs: tf.Tensor[]) => tf.Scalar, inputs, shapes);
  assert.equal(fused.value, taped.value);
  fused.grads.forEach((g, i) => assert.ok(gap(g, taped.grads[i]!) < 1e-5, `gradient ${i} differs by ${gap(g, taped.grads[i]!)}`));
  tf.dispose([yu, yv]);
});

test('batch norm in training mode: fused output bit-identical, gradients agree, running statistics the same', () => {
  const rng = createRng(7);
  const [n, d] = [50, 33];
  const inputs = [uniformArray(rng, n * d, -2, 3), uniformArray(rng, d, 0.5, 1.5), uniformArray(rng, d, -1, 1)];
  const weights = tf.tensor2d(uniformArray(rng, n * d, -1, 1), [n, d]);
  const f = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.square(batchNormOf(x, g, b)), weights)) as tf.Scalar;
  let batchNormOf = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => batchNormTraining(x, g, b, 1e-5);
  const calls = nativeBatchNormCalls();
  const fused = evaluate(true, f as (...xs: tf.Tensor[]) => tf.Scalar, inputs, [[n, d], [d], [d]]);
  // With the addon, the forward and backward passes were its kernels (native/batch_norm.h).
  if (nativeKernels()) assert.equal(nativeBatchNormCalls() - calls, 2);
  // The op-by-op form: tf.moments and the affine written out (what BatchNorm does with the switch off).
  batchNormOf = (x, g, b) => {
    const { mean, variance } = tf.moments(x, 0);
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), g), b);
  };
  const taped = evaluate(false, f as (...xs: tf.Tensor[]) => tf.Scalar, inputs, [[n, d], [d], [d]]);
  assert.equal(fused.value, taped.value);
  fused.grads.forEach((g, i) => assert.ok(gap(g, taped.grads[i]!) < 1e-5, `gradient ${i} differs by ${gap(g, taped.grads[i]!)}`));

  // The layer: same output and the same running statistics after a step's two calls, either way.
  const run = (fusedOn: boolean) => {
    const previous = setFusedGradients(fusedOn);
    try {
      const bn = new BatchNorm(new Params(3), 'bn', d);
      const x = tf.tensor2d(inputs[0]!, [n, d]);
      const out = tf.tidy(() => [bn.apply(x, true).dataSync(), bn.apply(tf.mul(x, 2), true).dataSync()]);
      (bn as unknown as { commit(): void }).commit();
      return { out, mean: bn.runningMean.dataSync(), variance: bn.runningVar.dataSync() };
    } finally {
      setFusedGradients(previous);
    }
  };
  assert.deepStrictEqual(run(true), run(false));
});

test('leakyRelu and its gradient, and relu\'s gradient, give the stock kernels\' bits through the addon', () => {
  // Signs at random (what made the stock kernel's branch mispredict), zeros of both signs, a NaN, tiny and huge values.
  const rng = createRng(9);
  const n = 4099;
  const x = uniformArray(rng, n, -1, 1);
  x.set([0, -0, Number.NaN, 1e-40, -1e-40, 3e38, -3e38, 1, -1], 0);
  const dy = uniformArray(rng, n, -2, 2);
  dy.set([-1, -1, 1, -0, 2, -3, 1, 0, -0], 0);
  const run = (native: boolean) => {
    const previous = setNativeActivations(native);
    try {
      return tf.tidy(() => {
        const xt = tf.tensor2d(x, [1, n]);
        const w = tf.tensor2d(dy, [1, n]);
        // d/dx sum(f(x) w) is f's gradient applied to dy = w.
        const grad = (f: (t: tf.Tensor) => tf.Tensor) => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t), w)))(xt).dataSync() as Float32Array;
        return { forward: tf.leakyRelu(xt, 0.2).dataSync() as Float32Array, leaky: grad((t) => tf.leakyRelu(t, 0.2)), relu: grad((t) => tf.relu(t)) };
      });
    } finally {
      setNativeActivations(previous);
    }
  };
  const before = nativeActivationCalls();
  const native = run(true);
  // With the addon the forward pass and both gradients went through it (a gradient call runs a forward one too).
  if (nativeKernels()) assert.equal(nativeActivationCalls() - before, 4);
  const afterNative = nativeActivationCalls();
  const stock = run(false);
  assert.equal(nativeActivationCalls(), afterNative, 'switched off, the native passes still ran');
  for (const key of ['forward', 'leaky', 'relu'] as const) {
    const bad = native[key].findIndex((v, i) => !Object.is(v, stock[key][i]));
    assert.equal(bad, -1, `${key}[${bad}]: ${native[key][bad]} vs ${stock[key][bad]} (x ${x[bad]}, dy ${dy[bad]})`);
  }
  // As in tfjs: a NaN input gives NaN forward and through relu's gradient (dy * step(NaN)), but leakyRelu's gradient
  // takes the not-positive side there (dy alpha); a negative input's relu gradient is dy times zero, signed.
  assert.ok(Number.isNaN(native.forward[2]!) && Number.isNaN(native.relu[2]!));
  assert.equal(native.leaky[2], Math.fround(0.2));
  assert.ok(Object.is(native.relu[4], 0) && Object.is(native.relu[1], -0));
});

test('I-GNN similarity: its two kernels give the fused op\'s bits, value and every gradient (a zero row and a row of norm 5e-13 hit the clamp)', () => {
  const rng = createRng(11);
  const [c, d, k] = [10, 37, 8];
  const x = uniformArray(rng, c * d, -1, 1);
  x.fill(0, 3 * d, 4 * d);
  x.fill(2e-13, 5 * d, 6 * d);
  const inputs = [x, ...Array.from({ length: k }, () => uniformArray(rng, d, 0.3, 0.6))];
  const weights = tf.tensor2d(uniformArray(rng, c * c, -1, 1), [c, c]);
  const f = (...xs: tf.Tensor[]) => tf.sum(tf.mul(headSimilarity(xs[0]!, xs.slice(1)), weights)) as tf.Scalar;
  const shapes = [[c, d], ...Array.from({ length: k }, () => [d])];
  const run = (kernels: boolean) => {
    const previous = setNativeSimilarity(kernels);
    try {
      const calls = nativeSimilarityCalls();
      const r = evaluate(true, f, inputs, shapes);
      return { ...r, calls: nativeSimilarityCalls() - calls };
    } finally {
      setNativeSimilarity(previous);
    }
  };
  const withKernels = run(true);
  const fusedOp = run(false);
  const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
  assert.equal(fusedOp.calls, 0);
  if (nativeKernels()) assert.equal(withKernels.calls, 2);
  assert.equal(withKernels.value, fusedOp.value);
  withKernels.grads.forEach((g, i) => assert.deepStrictEqual(bits(g), bits(fusedOp.grads[i]!), `gradient ${i}`));
  // The op-by-op form gives the same value (its gradient is NaN at the zero row: sqrt's at 0, unclamped).
  assert.equal(withKernels.value, evaluate(false, f, inputs, shapes).value);
});

test('control: a gradient with a dropped term is caught', () => {
  const rng = createRng(11);
  const inputs = [uniformArray(rng, 20 * 8, -1, 1), uniformArray(rng, 20 * 8, -1, 1)];
  const y = tf.tensor2d(labels(rng, 20, 4), [20, 4]);
  const right = evaluate(false, (u, v) => softContrastiveLoss(u as tf.Tensor, v as tf.Tensor, y, options), inputs, [[20, 8], [20, 8]]);
  // gamma 0 drops the intra-modal terms from the loss (and so from its gradient): far outside the tolerance.
  const wrong = evaluate(true, (u, v) => softContrastiveLoss(u as tf.Tensor, v as tf.Tensor, y, { ...options, gamma: 0 }), inputs, [[20, 8], [20, 8]]);
  assert.ok(gap(wrong.grads[0]!, right.grads[0]!) > 1e-3);
  y.dispose();
});

for (const method of ['ignn-con', 'pgnn-con', 'agat']) {
  test(`${method}, a whole training loss: the same value and gradients either way`, () => {
    const rng = createRng(method.length);
    const [n, C] = [16, 4];
    const dims = { image: 24, text: 10 };
    const labels = Uint8Array.from({ length: n * C }, (_, i) => (i % C === (i / C | 0) % C || rng() < 0.2 ? 1 : 0));
    const m = create(resolve(method, undefined, method.endsWith('-con') ? { commonDim: 32, heads: 3, layers: 2 } : {}), {
      dims, labelNames: ['a', 'b', 'c', 'd'], trainLabels: labels,
      labelEmbeddings: { data: uniformArray(rng, C * 8), dim: 8, source: 'random' }, seed: 3,
    });
    const x = { image: tf.tensor2d(uniformArray(rng, n * dims.image), [n, dims.image]), text: tf.tensor2d(uniformArray(rng, n * dims.text), [n, dims.text]) };
    const all = Int32Array.from({ length: n }, (_, i) => i);
    const batch = { x, rows: { image: all, text: all }, labels: tf.tensor2d(Float32Array.from(labels), [n, C]), size: n };
    const run = (on: boolean) => {
      const previous = setFusedGradients(on);
      try {
        return tf.tidy(() => {
          const { value, grads } = tf.variableGrads(() => m.losses(batch, { progress: 0.5 }).total, m.trainableVariables());
          return { value: value.dataSync()[0] as number, grads: Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, g.dataSync() as Float32Array])) };
        });
      } finally {
        setFusedGradients(previous);
      }
    };
    try {
      const fused = run(true);
      const taped = run(false);
      assert.equal(fused.value, taped.value);
      assert.deepEqual(Object.keys(fused.grads).sort(), Object.keys(taped.grads).sort());
      for (const [k, g] of Object.entries(fused.grads)) assert.ok(gap(g, taped.grads[k]!) < 1e-5, `${k}: gradient differs by ${gap(g, taped.grads[k]!)}`);
    } finally {
      tf.dispose([x.image, x.text, batch.labels]);
      m.dispose();
    }
  });
}
