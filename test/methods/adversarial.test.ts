// The shared adversarial head: forward pass against a float64 reference for each activation, the gradient
// reaching the input reversed and scaled by lambda, names and creation order kept, and DANN's schedule.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initEngine, tf } from '../../src/engine/engine.js';
import { createRng, uniformArray } from '../../src/engine/random.js';
import { adversarialHead, discriminate, reversalSchedule, type HeadActivation } from '../../src/methods/adversarial.js';
import { Params } from '../../src/methods/layers.js';

before(async () => {
  await initEngine();
});

/** x W + b in float64 with W given as [in, out] row-major. */
function dense(x: number[][], w: Float32Array, b: Float32Array, out: number): number[][] {
  return x.map((row) => Array.from({ length: out }, (_, j) => row.reduce((s, v, i) => s + v * (w[i * out + j] as number), b[j] as number)));
}

const ACT: Record<HeadActivation, (v: number) => number> = {
  none: (v) => v,
  relu: (v) => Math.max(0, v),
  tanh: (v) => Math.tanh(v),
  leaky: (v) => (v >= 0 ? v : 0.2 * v),
};

test('head logits equal a float64 reference, activation between layers only, for every activation', () => {
  const rng = createRng(5);
  const xs = uniformArray(rng, 4 * 6, -2, 2);
  const x = Array.from({ length: 4 }, (_, r) => Array.from(xs.subarray(r * 6, r * 6 + 6)));
  for (const activation of Object.keys(ACT) as HeadActivation[]) {
    const p = new Params(11);
    const head = adversarialHead(p, ['l1', 'l2', 'l3'], [6, 5, 3, 2], activation);
    let ref = x;
    head.layers.forEach((layer, i) => {
      ref = dense(ref, layer.w.dataSync() as Float32Array, layer.b!.dataSync() as Float32Array, layer.w.shape[1] as number);
      if (i < head.layers.length - 1) ref = ref.map((row) => row.map(ACT[activation]));
    });
    const got = tf.tidy(() => discriminate(head, tf.tensor2d(xs, [4, 6]), 0.7).arraySync() as number[][]);
    for (let r = 0; r < 4; r++) for (let c = 0; c < 2; c++) assert.ok(Math.abs(got[r]![c]! - ref[r]![c]!) < 1e-5, `${activation} [${r},${c}]: ${got[r]![c]} vs ${ref[r]![c]}`);
    p.dispose();
  }
});

test('the gradient reaching the input is -lambda times the head\'s own gradient; the head\'s weights get the unreversed one', () => {
  const p = new Params(3);
  const head = adversarialHead(p, ['a', 'b'], [4, 3, 2], 'tanh');
  const x = tf.tensor2d(uniformArray(createRng(9), 8, -1, 1), [2, 4]);
  const loss = (lambda: number) => (input: tf.Tensor) => tf.sum(tf.mul(discriminate(head, input, lambda), tf.tensor2d([[1, -2], [0.5, 3]])));
  const plain = tf.grad(loss(0))(x); // lambda 0: input gradient zero, so compare through the weights instead
  assert.ok(Math.max(...Array.from(tf.abs(plain).dataSync())) === 0, 'lambda 0 stops the gradient at the input');
  const g1 = tf.grad(loss(1))(x).dataSync();
  const g3 = tf.grad(loss(0.3))(x).dataSync();
  g1.forEach((v, i) => assert.ok(Math.abs(0.3 * v - (g3[i] as number)) < 1e-6, `scaled by lambda at ${i}`));
  // Without the reversal the input gradient is the opposite sign: check against a head evaluated without GRL.
  const direct = tf.grad((input: tf.Tensor) => {
    let h = input;
    head.layers.forEach((layer, i) => {
      h = tf.add(tf.matMul(h, layer.w), layer.b!);
      if (i < head.layers.length - 1) h = tf.tanh(h);
    });
    return tf.sum(tf.mul(h, tf.tensor2d([[1, -2], [0.5, 3]])));
  })(x).dataSync();
  direct.forEach((v, i) => assert.ok(Math.abs(v + (g1[i] as number)) < 1e-6, `reversed at ${i}`));
  const { grads } = tf.variableGrads(() => loss(1)(x) as tf.Scalar, p.trainableVariables());
  const { grads: gradsHalf } = tf.variableGrads(() => loss(0.5)(x) as tf.Scalar, p.trainableVariables());
  for (const name of Object.keys(grads)) assert.deepEqual(Array.from(grads[name]!.dataSync()), Array.from(gradsHalf[name]!.dataSync()), 'lambda leaves the head\'s own gradient alone');
  p.dispose();
});

test('names and creation order: batch norm first, then the layers, as each method\'s checkpoints have them', () => {
  const p = new Params(1);
  adversarialHead(p, ['img_md_net.denseL1', 'img_md_net.denseL2', 'img_md_net.denseL3'], [16, 4, 1, 2], 'relu', 'img_md_net.bn');
  assert.deepEqual([...p.all.keys()], [
    'img_md_net.bn.weight', 'img_md_net.bn.bias', 'img_md_net.bn.running_mean', 'img_md_net.bn.running_var',
    'img_md_net.denseL1.weight', 'img_md_net.denseL1.bias', 'img_md_net.denseL2.weight', 'img_md_net.denseL2.bias',
    'img_md_net.denseL3.weight', 'img_md_net.denseL3.bias',
  ]);
  assert.throws(() => adversarialHead(p, ['x'], [3, 4, 2], 'none'), /1 layer names for 2 layers/);
  p.dispose();
});

test('DANN schedule: 0 at the start, 2/(1+e^-5)-1 half way, just under 1 at the end', () => {
  assert.equal(reversalSchedule(0), 0);
  assert.ok(Math.abs(reversalSchedule(0.5) - (2 / (1 + Math.exp(-5)) - 1)) < 1e-12);
  assert.ok(reversalSchedule(1) > 0.9999 && reversalSchedule(1) < 1);
});
