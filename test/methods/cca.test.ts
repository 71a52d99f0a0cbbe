// CCA against its defining properties, computed in float64 from the fitted embeddings: unit variance, the
// reported canonical correlations on the diagonal, zero correlation across components. Native LAPACK and the
// JavaScript Jacobi fallback must agree.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initEngine, tf } from '../../src/engine/engine.js';
import { symmetricEigen } from '../../src/engine/linalg.js';
import { createRng, normal } from '../../src/engine/random.js';
import '../../src/methods/index.js';
import { create, resolve } from '../../src/methods/registry.js';

await initEngine({ quiet: true });

test('symmetric eigen-decomposition: LAPACK and Jacobi agree and satisfy A v = lambda v', () => {
  const n = 7;
  const rng = createRng(1);
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) m[i * n + j] = m[j * n + i] = normal(rng);
  const a = symmetricEigen(m, n, { native: true });
  const b = symmetricEigen(m, n, { native: false });
  for (let e = 0; e < n; e++) {
    assert.ok(Math.abs(a.values[e]! - b.values[e]!) < 1e-9);
    for (let i = 0; i < n; i++) {
      let av = 0;
      for (let k = 0; k < n; k++) av += m[i * n + k]! * b.vectors[e * n + k]!;
      assert.ok(Math.abs(av - b.values[e]! * b.vectors[e * n + i]!) < 1e-9);
    }
  }
});

test('CCA embeddings: unit variance, canonical correlations on the diagonal, uncorrelated components', async () => {
  const rng = createRng(4);
  const n = 400;
  const [da, db] = [6, 4];
  const latent = Array.from({ length: n }, () => [normal(rng), normal(rng)]);
  const a = Float32Array.from({ length: n * da }, (_, i) => (latent[Math.floor(i / da)]![i % da % 2]! * (1 + (i % da))) + normal(rng));
  const b = Float32Array.from({ length: n * db }, (_, i) => latent[Math.floor(i / db)]![(i % db) % 2]! - 0.5 * normal(rng));
  const method = create(resolve('cca', undefined, { regularization: 0, componentChoices: [4] }), { dims: { image: da, text: db }, labelNames: ['x'], trainLabels: new Uint8Array(n), seed: 0 });
  const fitted = await method.fit!({ features: { image: a, text: b }, present: { image: new Uint8Array(n).fill(1), text: new Uint8Array(n).fill(1) }, dims: { image: da, text: db }, labels: new Uint8Array(n), classes: 1 }, async () => 0);
  assert.equal(fitted.components, 4);
  const correlations = fitted.canonicalCorrelations as number[];
  assert.ok(correlations[0]! > 0.8 && correlations[1]! > 0.5, `strong correlations expected: ${correlations}`);
  const ea = tf.tidy(() => method.embed('image', tf.tensor2d(a, [n, da])).arraySync() as number[][]);
  const eb = tf.tidy(() => method.embed('text', tf.tensor2d(b, [n, db])).arraySync() as number[][]);
  const cov = (x: number[][], y: number[][], i: number, j: number) => {
    const mx = x.reduce((s, r) => s + r[i]!, 0) / n;
    const my = y.reduce((s, r) => s + r[j]!, 0) / n;
    return x.reduce((s, r, k) => s + (r[i]! - mx) * (y[k]![j]! - my), 0) / (n - 1);
  };
  for (let i = 0; i < 4; i++) {
    assert.ok(Math.abs(cov(ea, ea, i, i) - 1) < 1e-3, `variance of a_${i}`);
    assert.ok(Math.abs(cov(eb, eb, i, i) - 1) < 1e-3, `variance of b_${i}`);
    assert.ok(Math.abs(cov(ea, eb, i, i) - correlations[i]!) < 1e-3, `corr(a_${i}, b_${i})`);
    for (let j = 0; j < 4; j++) if (j !== i) {
      assert.ok(Math.abs(cov(ea, ea, i, j)) < 1e-3 && Math.abs(cov(ea, eb, i, j)) < 1e-3, `components ${i}, ${j} uncorrelated`);
    }
  }
  method.dispose();
});

test('regularisation and components are chosen together by the selection score, and the chosen fit is the one kept', async () => {
  const rng = createRng(6);
  const n = 200;
  const [da, db] = [6, 4];
  const a = Float32Array.from({ length: n * da }, () => normal(rng));
  const b = Float32Array.from({ length: n * db }, (_, i) => (a[Math.floor(i / db) * da + (i % db)] as number) + normal(rng));
  const data = { features: { image: a, text: b }, present: { image: new Uint8Array(n).fill(1), text: new Uint8Array(n).fill(1) }, dims: { image: da, text: db }, labels: new Uint8Array(n), classes: 1 };
  const ctx = { dims: { image: da, text: db }, labelNames: ['x'], trainLabels: new Uint8Array(n), seed: 0 };
  const weightsOf = (m: ReturnType<typeof create>) => ['W_a', 'W_b', 'component_mask'].map((k) => Array.from(m.state().get(k)!.dataSync()));
  // Scores handed out in the order the grid is tried: (r=0: k=1, 2, 4), (r=10: k=1, 2, 4); the best is r=10, k=1.
  const handed = [0.1, 0.2, 0.3, 0.5, 0.4, 0.2];
  const grid = create(resolve('cca', undefined, { regularization: [0, 10], componentChoices: [1, 2] }), ctx);
  let call = 0;
  const fitted = await grid.fit!(data, async () => handed[call++]!);
  assert.equal(call, 6);
  assert.equal(fitted.regularization, 10);
  assert.equal(fitted.components, 1);
  assert.deepEqual(Object.keys(fitted.scores as object), ['r=0,k=1', 'r=0,k=2', 'r=0,k=4', 'r=10,k=1', 'r=10,k=2', 'r=10,k=4']);
  // The kept model is the r=10 fit with one component, not the last one tried.
  const fixed = create(resolve('cca', undefined, { regularization: 10, componentChoices: [1], maxComponents: 4 }), ctx);
  await fixed.fit!(data, async () => 0);
  fixed.state().get('component_mask')!.assign(tf.tensor([[1, 0, 0, 0]]));
  assert.deepEqual(weightsOf(grid), weightsOf(fixed));
  const other = create(resolve('cca', undefined, { regularization: 0, componentChoices: [1] }), ctx);
  await other.fit!(data, async () => 0);
  assert.notDeepEqual(weightsOf(other)[0], weightsOf(grid)[0], 'control: another regularisation gives other weights');
  for (const m of [grid, fixed, other]) m.dispose();
});
