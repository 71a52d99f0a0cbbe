// Every op the methods differentiate, checked on the wasm backend against finite differences and against
// tfjs's reference cpu backend.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initEngine, tf } from '../../src/engine/engine.js';
import { gatherRows, gradReverse, l2Normalize, logSumExp, rowNorms, stopGradient } from '../../src/engine/ops.js';
import { createRng, uniformArray } from '../../src/engine/random.js';

await initEngine({ quiet: true });

const shape: [number, number] = [4, 6];
const rng = createRng(3);
// Away from zero, so that relu, leakyRelu and max are differentiable at every input.
const x0 = uniformArray(rng, 24).map((u) => Math.sign(u) * (0.1 + 0.9 * Math.abs(u)));
const w6x5 = uniformArray(rng, 30);

const ops: Record<string, (x: tf.Tensor2D) => tf.Tensor> = {
  matMul: (x) => tf.matMul(x, tf.tensor2d(w6x5, [6, 5])),
  matMulTransposed: (x) => tf.matMul(x, tf.tanh(x), true, false),
  matMulTransposedB: (x) => tf.matMul(x, tf.sigmoid(x), false, true),
  relu: (x) => tf.relu(x),
  leakyRelu: (x) => tf.leakyRelu(x, 0.2),
  sigmoid: (x) => tf.sigmoid(x),
  tanh: (x) => tf.tanh(x),
  softmax: (x) => tf.softmax(x),
  logSoftmax: (x) => tf.logSoftmax(x),
  logSumExp: (x) => tf.logSumExp(x, 1),
  log: (x) => tf.log(tf.add(tf.square(x), 0.5)),
  exp: (x) => tf.exp(x),
  sqrt: (x) => tf.sqrt(tf.add(tf.square(x), 0.5)),
  l2Normalize: (x) => l2Normalize(x),
  batchNorm: (x) => {
    const { mean, variance } = tf.moments(x, 0);
    return tf.batchNorm(x, mean, variance, tf.fill([6], 0.3), tf.fill([6], 1.7), 1e-5);
  },
  dropout: (x) => tf.dropout(x, 0.3, undefined, 5),
  concat: (x) => tf.concat([x, tf.square(x)], 1),
  slice: (x) => tf.slice(x, [1, 1], [2, 3]),
  sum: (x) => tf.sum(tf.square(x), 0),
  mean: (x) => tf.mean(tf.square(x), 1),
  max: (x) => tf.max(x, 1),
  gatherRows: (x) => gatherRows(x, [3, 0, 3, 2]),
};

function lossOf(op: (x: tf.Tensor2D) => tf.Tensor, weights: Float32Array) {
  return (x: tf.Tensor2D) => tf.sum(tf.mul(op(x), tf.tensor(weights, op(x).shape))) as tf.Scalar;
}

function weightsFor(op: (x: tf.Tensor2D) => tf.Tensor): Float32Array {
  const size = tf.tidy(() => op(tf.tensor2d(x0, shape)).size);
  return uniformArray(createRng(size), size);
}

function analytic(op: (x: tf.Tensor2D) => tf.Tensor): Float32Array {
  const loss = lossOf(op, weightsFor(op));
  return tf.tidy(() => tf.grad((x: tf.Tensor) => loss(x as tf.Tensor2D))(tf.tensor2d(x0, shape)).dataSync() as Float32Array);
}

for (const [name, op] of Object.entries(ops)) {
  test(`gradient of ${name}: finite differences and the cpu backend agree with wasm`, async () => {
    const onWasm = analytic(op);
    const loss = lossOf(op, weightsFor(op));
    const h = 5e-3;
    for (let i = 0; i < x0.length; i++) {
      const plus = x0.slice();
      const minus = x0.slice();
      plus[i] = (plus[i] as number) + h;
      minus[i] = (minus[i] as number) - h;
      const numeric = tf.tidy(() => {
        const fp = loss(tf.tensor2d(plus, shape)).dataSync()[0] as number;
        const fm = loss(tf.tensor2d(minus, shape)).dataSync()[0] as number;
        return (fp - fm) / (2 * h);
      });
      const g = onWasm[i] as number;
      assert.ok(Math.abs(numeric - g) <= 3e-3 * (1 + Math.abs(g)), `${name}[${i}]: analytic ${g}, numeric ${numeric}`);
    }
    await tf.setBackend('cpu');
    try {
      const onCpu = analytic(op);
      for (let i = 0; i < onCpu.length; i++) {
        assert.ok(Math.abs((onCpu[i] as number) - (onWasm[i] as number)) < 1e-5, `${name}[${i}] cpu vs wasm`);
      }
    } finally {
      await tf.setBackend('wasm');
    }
  });
}

test('gradient reversal: identity forward, -lambda times the gradient backward', () => {
  tf.tidy(() => {
    const x = tf.tensor2d(x0, shape);
    const weights = tf.tensor2d(uniformArray(createRng(9), 24), shape);
    assert.deepEqual(Array.from(gradReverse(x, 0.7).dataSync()), Array.from(x.dataSync()));
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(gradReverse(tf.tanh(v), 0.7), weights)))(x).dataSync();
    const plain = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.tanh(v), weights)))(x).dataSync();
    for (let i = 0; i < g.length; i++) assert.ok(Math.abs((g[i] as number) + 0.7 * (plain[i] as number)) < 1e-6);
  });
});

test('stopGradient passes values and blocks gradients', () => {
  tf.tidy(() => {
    const x = tf.tensor2d(x0, shape);
    assert.deepEqual(Array.from(stopGradient(x).dataSync()), Array.from(x.dataSync()));
    const g = tf.grad((v: tf.Tensor) => tf.add(tf.sum(stopGradient(tf.square(v))), tf.sum(v)))(x).dataSync();
    for (const value of g) assert.equal(value, 1);
  });
});

test('logSumExp and rowNorms: values and gradients equal tfjs\'s own', () => {
  tf.tidy(() => {
    const x = tf.tensor2d(x0, shape);
    const w = tf.tensor2d(uniformArray(createRng(4), 4), [4, 1]);
    for (const keep of [true, false]) {
      const ours = logSumExp(x, 1, keep);
      const theirs = tf.logSumExp(x, 1, keep);
      assert.deepEqual(ours.shape, theirs.shape);
      ours.dataSync().forEach((v, i) => assert.ok(Math.abs(v - (theirs.dataSync()[i] as number)) < 1e-5));
    }
    const g1 = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(logSumExp(v, 1, true), w)))(x).dataSync();
    const g2 = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.logSumExp(v, 1, true), w)))(x).dataSync();
    g1.forEach((v, i) => assert.ok(Math.abs(v - (g2[i] as number)) < 1e-5, `lse grad ${i}`));
    const n1 = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(rowNorms(v), w)))(x).dataSync();
    const n2 = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.norm(v, 'euclidean', 1, true), w)))(x).dataSync();
    n1.forEach((v, i) => assert.ok(Math.abs(v - (n2[i] as number)) < 1e-5, `norm grad ${i}`));
  });
});
