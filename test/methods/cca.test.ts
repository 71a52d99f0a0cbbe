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
