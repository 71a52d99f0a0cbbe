// Engine figures: sgemm through tf.matMul (the path training takes) and one training step of the reference
// two-branch model of issue 2 (image 4096-1024-512, text 1000-1024-512, batch 128, symmetric InfoNCE, Adam).
import { Adam } from '../src/engine/adam.js';
import { tf } from '../src/engine/engine.js';
import { l2Normalize } from '../src/engine/ops.js';
import { emit, round, timeIt } from './harness.js';

export function benchSgemm(): void {
  const shapes: Array<[string, number, number, number, boolean, boolean]> = [
    ['100x4096 @ 4096x1024', 100, 4096, 1024, false, false],
    ['1024x1024 @ 1024x1024', 1024, 1024, 1024, false, false],
    ['dW: (128x4096)^T @ 128x1024', 4096, 128, 1024, true, false],
    ['dX: 128x1024 @ (4096x1024)^T', 128, 1024, 4096, false, true],
  ];
  for (const [label, m, k, n, ta, tb] of shapes) {
    const a = tf.randomUniform(ta ? [k, m] : [m, k], -1, 1, 'float32', 1);
    const b = tf.randomUniform(tb ? [n, k] : [k, n], -1, 1, 'float32', 2);
    // Both kernels run synchronously, so no read-back: copying a 16 MB product out would dominate the figure.
    const stats = timeIt(() => tf.matMul(a, b, ta, tb).dispose(), { runs: 20 });
    emit({ name: `sgemm ${label}`, ...stats, gflops: round((2 * m * n * k) / stats.median_ms / 1e6, 1) });
    tf.dispose([a, b]);
  }
}

function dense(name: string, fanIn: number, fanOut: number, seed: number) {
  const bound = 1 / Math.sqrt(fanIn);
  return {
    w: tf.variable(tf.randomUniform([fanIn, fanOut], -bound, bound, 'float32', seed), true, `${name}.w`),
    b: tf.variable(tf.randomUniform([fanOut], -bound, bound, 'float32', seed + 1), true, `${name}.b`),
  };
}

export function benchTrainingStep(): void {
  const batch = 128;
  const layers = [dense('img1', 4096, 1024, 1), dense('img2', 1024, 512, 3), dense('txt1', 1000, 1024, 5), dense('txt2', 1024, 512, 7)];
  const [img1, img2, txt1, txt2] = layers as [ReturnType<typeof dense>, ReturnType<typeof dense>, ReturnType<typeof dense>, ReturnType<typeof dense>];
  const variables = layers.flatMap((l) => [l.w, l.b]);
  const params = variables.reduce((s, v) => s + v.size, 0);
  const x = tf.randomUniform([batch, 4096], 0, 1, 'float32', 11);
  const y = tf.randomUniform([batch, 1000], 0, 1, 'float32', 12);
  const targets = tf.oneHot(tf.range(0, batch, 1, 'int32'), batch);
  const adam = new Adam(variables, { lr: 1e-4 });
  const loss = () => {
    const u = l2Normalize(tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, img1.w), img1.b)), img2.w), img2.b));
    const v = l2Normalize(tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(y, txt1.w), txt1.b)), txt2.w), txt2.b));
    const logits = tf.div(tf.matMul(u, v, false, true), 0.07);
    const rows = tf.losses.softmaxCrossEntropy(targets, logits);
    const cols = tf.losses.softmaxCrossEntropy(targets, tf.transpose(logits));
    return tf.div(tf.add(rows, cols), 2) as tf.Scalar;
  };
  const stats = timeIt(() => adam.minimize(loss), { warmup: 3, runs: 30 });
  emit({ name: 'training step: two-branch InfoNCE, batch 128, forward+backward+Adam', ...stats, params });
  adam.dispose();
  tf.dispose([...variables, x, y, targets]);
}
