// Image featurisers (src/features/image.ts) on real JPEG photos: MobileNetV2 with nsfwjs's bundled weights, the
// saved state reproducing the features bit for bit, and one-line refusals for what cannot work.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createImageFeaturizer, decodeImage, openImageFeaturizer, thumbnail, THUMBNAIL_SIDE } from '../../src/features/image.js';
import { FeaturizerStateSchema, type ImageState } from '../../src/features/state.js';
import { PHOTOS } from '../helpers/media-items.js';

const photos = ['dog', 'kite', 'scream'].map((n) => readFileSync(join(PHOTOS, `${n}.jpg`)));
const names = ['dog.jpg', 'kite.jpg', 'scream.jpg'];

test('mobilenet-v2: pooled block 13 features; the saved state gives the same features bit for bit', async () => {
  const f = await createImageFeaturizer({ backbone: 'mobilenet-v2' });
  assert.equal(f.dim, 960);
  assert.equal(f.state.layer, 'block_16_expand_relu');
  const a = await f.featurize(photos, names);
  assert.equal(a.length, 3 * 960);
  assert.ok(a.every((v) => Number.isFinite(v) && v >= 0), 'ReLU activations averaged: finite and non-negative');
  // Different photos give different features (a constant featuriser would pass the equality below).
  const row = (i: number) => a.subarray(i * 960, (i + 1) * 960);
  assert.notDeepEqual([...row(0)], [...row(1)]);
  const state = FeaturizerStateSchema.parse(JSON.parse(JSON.stringify(f.state))) as ImageState;
  const g = await openImageFeaturizer(state, 2);
  assert.deepEqual(await g.featurize([photos[1]!], [names[1]!]), row(1));
  // Another layer is another featuriser.
  const mid = await createImageFeaturizer({ backbone: 'mobilenet-v2', layer: 'block_13_expand_relu' });
  assert.equal(mid.dim, 576);
});

test('refusals: not an image, an unknown layer, weights that differ from the recorded ones', async () => {
  await assert.rejects(decodeImage(Buffer.from('not a photo'), 224, 'photos/broken.jpg'), /^UserError: photos\/broken\.jpg: not an image sharp can read/);
  await assert.rejects(createImageFeaturizer({ backbone: 'mobilenet-v2', layer: 'block_99' }), /no layer 'block_99' \(layers include: .*out_relu/);
  const f = await createImageFeaturizer({ backbone: 'mobilenet-v2' });
  await assert.rejects(openImageFeaturizer({ ...f.state, modelSha256: '0'.repeat(64) }), /weights differ from the ones the features were made with/);
  await assert.rejects(createImageFeaturizer({ backbone: 'tfjs-model', modelDir: PHOTOS, layer: 'x' }), /no model\.json/);
});

test('thumbnails are JPEGs within the side limit; letterboxing keeps the whole photo on white', async () => {
  const t = await thumbnail(readFileSync(join(PHOTOS, 'kite.jpg')), 'kite.jpg');
  assert.deepEqual([...t.subarray(0, 3)], [0xff, 0xd8, 0xff]);
  const d = await decodeImage(readFileSync(join(PHOTOS, 'kite.jpg')), 64, 'kite.jpg');
  assert.equal(d.pixels.length, 64 * 64 * 3);
  assert.ok(d.width <= 192 && d.height <= 192 && Math.max(d.width, d.height) === 192 && THUMBNAIL_SIDE >= 192);
  // The kite photo is wider than tall: the top row is white padding.
  assert.ok(d.width > d.height);
  assert.deepEqual([...d.pixels.subarray(0, 6)], [255, 255, 255, 255, 255, 255]);
});
