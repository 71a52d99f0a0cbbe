import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { cooccurrence, embeddingAdjacency, genA, genAdj, genAdjTensor } from '../../src/graph/label-graph.js';

// methods.md 2.3
const L = Uint8Array.from([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 1, 1], [1, 0, 0]].flat());

test('co-occurrence, gen_A and gen_adj equal the golden values of the official code', () => {
  const co = cooccurrence(L, 3);
  assert.deepEqual(Array.from(co.adj), [6, 1, 0, 1, 6, 1, 0, 1, 4]);
  assert.deepEqual(Array.from(co.nums), [3, 3, 2]);
  const A = genA(co, 0.4);
  assert.deepEqual(Array.from(A), [1.5, 0, 0, 0, 1.5, 0, 0, 0.5, 1.5]);
  const adj = genAdj(A, 3);
  const golden = [1, 0, 0, 0, 1, 0.288675, 0, 0, 0.75];
  adj.forEach((v, i) => assert.ok(Math.abs(v - golden[i]!) < 1e-6, `gen_adj[${i}] = ${v}`));
  // I-GNN's differentiable form: the same golden value, and a gradient through it (A is learned there).
  const onTensor = tf.tidy(() => genAdjTensor(tf.tensor2d(Float32Array.from(A), [3, 3])).dataSync());
  onTensor.forEach((v, i) => assert.ok(Math.abs(v - golden[i]!) < 1e-6, `genAdjTensor[${i}] = ${v}`));
  const g = tf.tidy(() => tf.grad((a: tf.Tensor) => tf.sum(genAdjTensor(a)))(tf.tensor2d(Float32Array.from(A), [3, 3])).dataSync());
  const sum = (m: Float64Array) => genAdj(m, 3).reduce((a, b) => a + b, 0);
  for (let k = 0; k < 9; k++) {
    const up = Float64Array.from(A); up[k]! += 1e-6;
    const down = Float64Array.from(A); down[k]! -= 1e-6;
    const numeric = (sum(up) - sum(down)) / 2e-6; // central difference of the float64 form
    assert.ok(Math.abs(g[k]! - numeric) < 1e-3, `d sum / dA[${k}]: ${g[k]} vs ${numeric}`);
  }
});

test('a label that never occurs gets no edges instead of a division by zero', () => {
  const co = cooccurrence(Uint8Array.from([1, 0, 1, 0]), 2);
  const A = genA(co);
  assert.deepEqual(Array.from(A), [1.5, 0, 0, 1]);
  assert.ok(genAdj(A, 2).every(Number.isFinite));
});

test('embedding adjacency keeps cosines >= t, zero below, 1 on the diagonal', () => {
  const e = Float64Array.from([1, 0, 0.8, 0.6, 0, 1]);
  const A0 = embeddingAdjacency(e, 3, 0.7);
  const expect = [1, 0.8, 0, 0.8, 1, 0, 0, 0, 1]; // rows 1 and 2: cos 0.6 < 0.7
  A0.forEach((v, i) => assert.ok(Math.abs(v - expect[i]!) < 1e-12));
});
