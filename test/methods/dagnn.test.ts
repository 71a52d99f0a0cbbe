import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { Adam } from '../../src/engine/adam.js';
import { initEngine, tf } from '../../src/engine/engine.js';
import { createRng, uniformArray } from '../../src/engine/random.js';
import '../../src/methods/index.js';
import { create, resolve } from '../../src/methods/registry.js';

before(async () => {
  await initEngine();
});

// Wikipedia's shape in small: the 10-d text modality is under 16-d, where the official discriminator widths
// d/4 and d/16 give a zero-width layer.
const dims = { image: 64, text: 10 };
const C = 3;
const batch = 12;

function model(discriminatorWidths: 'official' | 'at-least-one', seed = 2) {
  const rng = createRng(9 + seed);
  const labels = Uint8Array.from({ length: batch * C }, (_, i) => (i % C === Math.floor(i / C) % C ? 1 : 0));
  const m = create(resolve('ignn-con', 'mirflickr', { commonDim: 32, discriminatorWidths }), {
    dims, labelNames: ['a', 'b', 'c'], trainLabels: labels,
    labelEmbeddings: { data: uniformArray(rng, C * 8), dim: 8, source: 'random' }, seed,
  });
  const x = { image: tf.tensor2d(uniformArray(rng, batch * dims.image), [batch, dims.image]), text: tf.tensor2d(uniformArray(rng, batch * dims.text), [batch, dims.text]) };
  const all = Int32Array.from({ length: batch }, (_, i) => i);
  const b = { x, rows: { image: all, text: all }, labels: tf.tensor2d(Float32Array.from(labels), [batch, C]), size: batch };
  return { m, b, dispose: () => { tf.dispose([x.image, x.text, b.labels]); m.dispose(); } };
}

const shapeOf = (m: ReturnType<typeof model>['m'], name: string) => m.state().get(name)?.shape;

test('official discriminator widths: a 10-d modality gets the zero-width layer of the official code, and no adversarial gradient', () => {
  const { m, b, dispose } = model('official');
  try {
    assert.deepEqual(shapeOf(m, 'img_md_net.denseL1.weight'), [64, 16]);
    assert.deepEqual(shapeOf(m, 'img_md_net.denseL2.weight'), [16, 4]);
    assert.deepEqual(shapeOf(m, 'text_md_net.denseL1.weight'), [10, 2]);
    assert.deepEqual(shapeOf(m, 'text_md_net.denseL2.weight'), [2, 0]);
    assert.deepEqual(shapeOf(m, 'text_md_net.denseL3.weight'), [0, 2]);
    const vars = m.trainableVariables();
    const { value, grads } = tf.variableGrads(() => m.losses(b, { progress: 0 }).total, vars);
    const gradOf = (name: string) => grads[m.state().get(name)!.name]!.dataSync();
    assert.ok(Number.isFinite(value.dataSync()[0]));
    // The text discriminator ends in a bias: its input layer learns nothing, while the image one does.
    assert.ok(gradOf('text_md_net.denseL1.weight').every((g) => g === 0), 'the text discriminator passed a gradient');
    assert.ok(gradOf('img_md_net.denseL1.weight').some((g) => g !== 0));
    tf.dispose([value, ...Object.values(grads)]);
    // An optimiser step over the zero-size parameters is harmless.
    const opt = new Adam(vars, { lr: 1e-3, beta1: 0.5 });
    const loss = opt.minimize(() => m.losses(b, { progress: 0 }).total);
    assert.ok(Number.isFinite(loss));
    opt.dispose();
  } finally {
    dispose();
  }
});

test('discriminatorWidths at-least-one widens the layer to one unit, and the text discriminator trains', () => {
  // A one-unit ReLU layer can start dead for a whole batch, so several initialisations are tried.
  let trained = false;
  for (let seed = 1; seed <= 8 && !trained; seed++) {
    const { m, b, dispose } = model('at-least-one', seed);
    try {
      assert.deepEqual(shapeOf(m, 'text_md_net.denseL2.weight'), [2, 1]);
      assert.deepEqual(shapeOf(m, 'text_md_net.denseL3.weight'), [1, 2]);
      assert.deepEqual(shapeOf(m, 'img_md_net.denseL2.weight'), [16, 4]);
      const w = m.state().get('text_md_net.denseL1.weight')!;
      const g = tf.variableGrads(() => m.losses(b, { progress: 0 }).total, [w]);
      trained = g.grads[w.name]!.dataSync().some((v) => v !== 0);
      tf.dispose([g.value, ...Object.values(g.grads)]);
    } finally {
      dispose();
    }
  }
  assert.ok(trained, 'the text discriminator passed no gradient for any initialisation');
});
