import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { initEngine, tf } from '../../src/engine/engine.js';
import { createRng, uniformArray } from '../../src/engine/random.js';
import { UserError } from '../../src/errors.js';
import { graphAttention } from '../../src/methods/agat.js';
import '../../src/methods/index.js';
import { create, resolve } from '../../src/methods/registry.js';
import { train } from '../../src/train/trainer.js';
import { synthDefaults, synthesize } from '../../src/data/synth.js';
import { writeDataset } from '../../src/data/writer.js';
import { tempDir } from '../helpers/tmp.js';
import { tinyDataset } from '../helpers/tiny-dataset.js';

before(async () => {
  await initEngine();
});

const small = { commonDim: 16, tokens: 4, tokenDim: 8, heads: 2, hiddenDim: 16, attentionDim: 8, discriminatorDim: 8 };
const dims = { image: 10, text: 7, audio: 5 };
const ctx = { dims, labelNames: ['a', 'b', 'c'], trainLabels: new Uint8Array(9).fill(1), seed: 4 };

function gatLayers(seed: number, d: number, a: number, count = 2) {
  const rng = createRng(seed);
  return Array.from({ length: count }, () => ({
    w: tf.variable(tf.tensor2d(uniformArray(rng, d * a), [d, a])),
    aSelf: tf.variable(tf.tensor2d(uniformArray(rng, a), [a, 1])),
    aOther: tf.variable(tf.tensor2d(uniformArray(rng, a), [a, 1])),
  }));
}

test('graph attention: weights sum to one over the item\'s present modalities and are zero on absent ones', () => {
  const layers = gatLayers(1, 6, 4);
  tf.tidy(() => {
    const h = tf.tensor3d(uniformArray(createRng(2), 4 * 3 * 6), [4, 3, 6]);
    const mask = [[1, 1, 1], [1, 0, 1], [0, 1, 0], [1, 1, 0]];
    const { attention, aggregate } = graphAttention(h, tf.tensor2d(mask), layers);
    assert.equal(attention.length, 2);
    for (const alpha of attention) {
      const a = alpha.arraySync();
      a.forEach((item, i) => item.forEach((row) => {
        const onPresent = row.reduce((s, v, j) => s + (mask[i]![j] ? v : 0), 0);
        assert.ok(Math.abs(onPresent - 1) < 1e-6, `item ${i}: weights over present modalities sum to ${onPresent}`);
        row.forEach((v, j) => { if (!mask[i]![j]) assert.ok(v < 1e-12, `item ${i}: weight ${v} on absent modality ${j}`); });
      }));
    }
    const norms = tf.sum(tf.square(aggregate), 1).arraySync() as number[];
    norms.forEach((n) => assert.ok(Math.abs(n - 1) < 1e-5, 'aggregations are unit vectors'));
    // An item with one modality passes through: its aggregation is its (normalised) embedding.
    const only = tf.slice(h, [2, 1, 0], [1, 1, 6]).reshape([6]);
    const expected = tf.div(only, tf.norm(only)).arraySync() as number[];
    (tf.slice(aggregate, [2, 0], [1, 6]).reshape([6]).arraySync() as number[]).forEach((v, j) => assert.ok(Math.abs(v - expected[j]!) < 1e-5));
  });
  layers.forEach((l) => tf.dispose([l.w, l.aSelf, l.aOther]));
});

function finiteDifferenceCheck(name: string, f: (x: tf.Tensor) => tf.Scalar, x0: Float32Array, shape: number[]): void {
  const analytic = tf.tidy(() => tf.grad(f)(tf.tensor(x0, shape)).dataSync() as Float32Array);
  const h = 1e-2;
  let checked = 0;
  for (let i = 0; i < x0.length; i += 3) {
    const at = (delta: number) => tf.tidy(() => {
      const x = x0.slice();
      x[i] = (x[i] as number) + delta;
      return f(tf.tensor(x, shape)).dataSync()[0] as number;
    });
    const numeric = (at(h) - at(-h)) / (2 * h);
    const g = analytic[i] as number;
    assert.ok(Math.abs(numeric - g) <= 5e-3 + 2e-2 * Math.abs(g), `${name}[${i}]: analytic ${g}, numeric ${numeric}`);
    checked++;
  }
  assert.ok(checked > 5 && analytic.some((g) => Math.abs(g) > 1e-3), `${name}: gradients are not all zero`);
}

test('gradient checks: graph attention and the self-attention encoder agree with finite differences', () => {
  const layers = gatLayers(3, 5, 4, 1);
  const weights = tf.tensor2d(uniformArray(createRng(5), 3 * 5), [3, 5]);
  const mask = tf.tensor2d([[1, 1], [1, 0], [1, 1]]);
  finiteDifferenceCheck('graphAttention', (h) => tf.sum(tf.mul(graphAttention(h as tf.Tensor3D, mask, layers).aggregate, weights)) as tf.Scalar, uniformArray(createRng(6), 3 * 2 * 5), [3, 2, 5]);
  const method = create(resolve('agat', undefined, small), ctx);
  const w = tf.tensor2d(uniformArray(createRng(7), 4 * 16), [4, 16]);
  finiteDifferenceCheck('SAT encoder', (x) => tf.sum(tf.mul(method.embed('text', x), w)) as tf.Scalar, uniformArray(createRng(8), 4 * 7), [4, 7]);
  method.dispose();
  tf.dispose([weights, mask, w, ...layers.flatMap((l) => [l.w, l.aSelf, l.aOther])]);
});

test('aggregating one modality gives that modality\'s embedding; absent rows are ignored', () => {
  const method = create(resolve('agat', undefined, small), ctx);
  tf.tidy(() => {
    const x = tf.tensor2d(uniformArray(createRng(9), 3 * 10), [3, 10]);
    const image = method.embed('image', x);
    const alone = method.aggregate!({ image }, { image: new Uint8Array([1, 1, 1]) }).arraySync() as number[][];
    const embedded = image.arraySync() as number[][];
    alone.forEach((row, i) => row.forEach((v, j) => assert.ok(Math.abs(v - embedded[i]![j]!) < 1e-5)));
    // Item 1 lacks text: whatever its text row holds, its aggregation is its image embedding.
    const text = tf.tensor2d(uniformArray(createRng(10), 3 * 7), [3, 7]);
    const both = method.aggregate!({ image, text: method.embed('text', text) }, { image: new Uint8Array([1, 1, 1]), text: new Uint8Array([1, 0, 1]) }).arraySync() as number[][];
    both[1]!.forEach((v, j) => assert.ok(Math.abs(v - embedded[1]![j]!) < 1e-5));
    assert.ok(both[0]!.some((v, j) => Math.abs(v - embedded[0]![j]!) > 1e-3), 'an item with two modalities mixes them');
  });
  method.dispose();
});

test('bad AGAT options and modalities give user errors', () => {
  assert.throws(() => resolve('agat', undefined, { tokenDim: 10, heads: 3 }), (e: Error) => e instanceof UserError && /tokenDim: tokenDim must be a multiple of heads/.test(e.message));
  assert.throws(() => create(resolve('agat', undefined, { modalities: ['image', 'video'] }), ctx), /agat: no modality 'video'/);
});

test('agat overfits a tiny three-modality data set in every direction', async () => {
  const dir = tempDir();
  const data = tinyDataset(dir, 'tiny3', 80, { image: 16, text: 12, audio: 9 });
  const result = await train({ method: 'agat', options: small, data, out: join(dir, 'run'), epochs: 60, batchSize: 20, lr: 3e-3, selectOn: 'test', seed: 1 });
  const directions = Object.keys(result.test!.directions);
  for (const d of ['image->text', 'image->audio', 'text->image', 'text->audio', 'audio->image', 'audio->text', 'aggregate->image', 'aggregate->text', 'aggregate->audio']) assert.ok(directions.includes(d), d);
  for (const [direction, r] of Object.entries(result.test!.directions)) assert.ok(r.mAP > 0.9, `agat ${direction} mAP ${r.mAP}`);
});

test('agat trains on items that lack modalities (absent nodes) and evaluates every direction', async () => {
  const dir = tempDir();
  const out = join(dir, 'missing');
  const labels = new Uint8Array(30 * 3);
  for (let r = 0; r < 30; r++) labels[r * 3 + (r % 3)] = 1;
  writeDataset(out, synthesize({ ...synthDefaults, items: 150, modalities: { image: 10, text: 7, audio: 5 }, missing: { image: 0.3, audio: 0.3 }, seed: 2, labelSource: { names: ['a', 'b', 'c'], data: labels, source: 'test' }, name: 'missing' }));
  const result = await train({ method: 'agat', options: small, data: out, out: join(dir, 'run'), epochs: 10, batchSize: 25, lr: 3e-3, seed: 1 });
  assert.equal(Object.keys(result.test!.directions).length, 9);
  for (const [direction, r] of Object.entries(result.test!.directions)) assert.ok(Number.isFinite(r.mAP) && r.mAP > 0.42, `${direction} mAP ${r.mAP} (chance about 0.35)`);
});
