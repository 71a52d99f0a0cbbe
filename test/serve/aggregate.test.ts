import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { Dataset } from '../../src/data/dataset.js';
import { buildIndex } from '../../src/index/build.js';
import { queryVectors } from '../../src/index/query.js';
import { createServer } from '../../src/serve/server.js';
import { loadRun } from '../../src/runs/load.js';
import { aggregateSplit, loadSplit } from '../../src/train/split-data.js';
import { train } from '../../src/train/trainer.js';
import { tempDir } from '../helpers/tmp.js';
import { tinyDataset } from '../helpers/tiny-dataset.js';

// Multi-modal queries (from "aggregate") against a three-modality agat run: by an indexed item or by raw features.
const dir = tempDir();
const data = tinyDataset(dir, 'tiny3', 60, { image: 16, text: 12, audio: 9 });
const small = { commonDim: 16, tokens: 4, tokenDim: 8, heads: 2, hiddenDim: 16, attentionDim: 8, discriminatorDim: 8 };
await train({ method: 'agat', options: small, data, out: join(dir, 'run'), epochs: 2, batchSize: 20, lr: 1e-3 });
const run = await loadRun(join(dir, 'run'));
const index = buildIndex(run, { engine: 'exact' });
const ds = Dataset.open(data);
const raw = (m: string, item: number) => Array.from(ds.features(m, [item]));

test('an aggregated query by item equals one by the item\'s raw features, and equals the evaluation\'s aggregation', async () => {
  const [byItem] = await queryVectors(index, run, [{ from: 'aggregate', item: '5' }]);
  const [byFeatures] = await queryVectors(index, run, [{ from: 'aggregate', features: { image: raw('image', 5), text: raw('text', 5), audio: raw('audio', 5) } }]);
  const split = loadSplit(ds, Int32Array.from([5]), run.method.modalities);
  const evaluated = aggregateSplit(run.method, split).data;
  for (let j = 0; j < 16; j++) {
    assert.ok(Math.abs(byItem![j]! - byFeatures![j]!) < 1e-5);
    assert.ok(Math.abs(byItem![j]! - evaluated[j]!) < 1e-5);
  }
  // One modality alone passes through: the query is that modality's embedding.
  const [imageOnly] = await queryVectors(index, run, [{ from: 'aggregate', features: { image: raw('image', 5) } }]);
  const [image] = await queryVectors(index, run, [{ from: 'image', item: '5' }]);
  for (let j = 0; j < 16; j++) assert.ok(Math.abs(imageOnly![j]! - image![j]!) < 1e-5);
});

test('POST /search from "aggregate", and its errors', async () => {
  const app = createServer({ index, run, token: 'secret-token', bodyLimit: 65536 });
  const post = (payload: unknown) => app.inject({ method: 'POST', url: '/search', payload: payload as object });
  const ok = await post({ from: 'aggregate', to: 'text', features: { image: raw('image', 7), audio: raw('audio', 7) }, k: 3 });
  assert.equal(ok.statusCode, 200, ok.body);
  assert.equal(ok.json().results[0].length, 3);
  const cases: Array<[unknown, RegExp]> = [
    [{ from: 'aggregate', to: 'text', features: { video: [1] } }, /features\.video: no modality 'video'/],
    [{ from: 'aggregate', to: 'text', features: { image: [1, 2] } }, /features\.image: expected 16 finite numbers, got 2 values/],
    [{ from: 'aggregate', to: 'text', item: '7', features: { image: raw('image', 7) } }, /give exactly one of item or features/],
    [{ from: 'image', to: 'text', features: { image: raw('image', 7) } }, /features: only for from 'aggregate'/],
  ];
  for (const [payload, message] of cases) {
    const r = await post(payload);
    assert.equal(r.statusCode, 400, r.body);
    assert.match(r.json().error, message);
  }
  await app.close();
});
