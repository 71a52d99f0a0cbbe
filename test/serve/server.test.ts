import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildIndex } from '../../src/index/build.js';
import { checkIndexMatchesRun } from '../../src/index/query.js';
import { SearchIndex } from '../../src/index/search-index.js';
import { createServer } from '../../src/serve/server.js';
import { loadRun } from '../../src/runs/load.js';
import { train } from '../../src/train/trainer.js';
import { tempDir } from '../helpers/tmp.js';
import { tinyDataset, tinyOptions } from '../helpers/tiny-dataset.js';

const dir = tempDir();
const data = tinyDataset(dir);
const runDir = join(dir, 'run');
await train({ method: 'pgnn-con', options: tinyOptions, data, out: runDir, epochs: 2, batchSize: 20, lr: 1e-3 });
const run = await loadRun(runDir);
const index = buildIndex(run, { engine: 'exact' });
const token = 'test-token-123';
const app = createServer({ index, run, token, bodyLimit: 4096 });
const post = (url: string, payload: unknown, headers: Record<string, string> = {}) => app.inject({ method: 'POST', url, payload: payload as object, headers });

test('POST /search: one query or a batch in order; by item and by raw features; filters and paging', async () => {
  const one = await post('/search', { from: 'text', to: 'image', item: '3', k: 4 });
  assert.equal(one.statusCode, 200, one.body);
  const hits = one.json().results[0];
  assert.equal(hits.length, 4);
  assert.ok(hits[0].score >= hits[3].score);
  const batch = await post('/search', [
    { from: 'image', to: 'text', vector: new Array(16).fill(0.5), k: 2 },
    { from: 'text', to: 'image', item: '3', k: 2, offset: 2 },
    { from: 'text', to: 'image', item: '3', k: 50, filter: { labelsAny: ['sky'] } },
  ]);
  assert.equal(batch.statusCode, 200, batch.body);
  const results = batch.json().results;
  assert.equal(results.length, 3);
  assert.deepEqual(results[1].map((h: { id: string }) => h.id), hits.slice(2, 4).map((h: { id: string }) => h.id));
  assert.ok(results[2].length > 0 && results[2].every((h: { labels: string[] }) => h.labels.includes('sky')));
});

test('bad requests: 400 naming the field, 413 over the body limit, 404 for unknown items and routes', async () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ from: 'text', to: 'image', item: '3', k: 1000 }, /body\.k: /],
    [{ from: 'text', to: 'image' }, /give exactly one of vector, item or text/],
    [{ from: 'audio', to: 'image', item: '3' }, /no modality 'audio'/],
    [{ from: 'image', to: 'text', vector: [1, 2] }, /vector: 2 values, the image encoder takes 16-d/],
    [{ from: 'text', to: 'image', text: 'sky' }, /no featuriser for raw text/],
    [{ from: 'text', to: 'image', item: '3', surprise: 1 }, /body: /],
    [[], /body/],
  ];
  for (const [payload, message] of cases) {
    const r = await post('/search', payload);
    assert.equal(r.statusCode, 400, r.body);
    assert.match(r.json().error, message);
  }
  const big = await post('/search', { from: 'image', to: 'text', vector: new Array(2000).fill(0.123456789) });
  assert.equal(big.statusCode, 413);
  assert.equal((await app.inject({ method: 'GET', url: '/items/nope' })).statusCode, 404);
  assert.equal((await app.inject({ method: 'GET', url: '/nowhere' })).statusCode, 404);
});

test('writes need the bearer token; added items are found at once; deleted ones are gone', async () => {
  const item = { id: 'fresh', labels: ['dog'], metadata: { title: 'new' }, features: { image: new Array(16).fill(0.2) } };
  assert.equal((await post('/items', item)).statusCode, 401);
  assert.equal((await post('/items', item, { authorization: 'Bearer wrong' })).statusCode, 401);
  const added = await post('/items', item, { authorization: `Bearer ${token}` });
  assert.equal(added.statusCode, 201, added.body);
  const got = await app.inject({ method: 'GET', url: '/items/fresh' });
  assert.deepEqual(got.json().modalities, ['image']);
  const found = await post('/search', { from: 'image', to: 'image', item: 'fresh', k: 1 });
  assert.equal(found.json().results[0][0].id, 'fresh');
  assert.equal((await app.inject({ method: 'DELETE', url: '/items/fresh' })).statusCode, 401);
  assert.equal((await app.inject({ method: 'DELETE', url: '/items/fresh', headers: { authorization: `Bearer ${token}` } })).statusCode, 204);
  assert.equal((await app.inject({ method: 'GET', url: '/items/fresh' })).statusCode, 404);
  const readOnly = createServer({ index, run });
  assert.equal((await readOnly.inject({ method: 'POST', url: '/items', payload: item })).statusCode, 403);
});

test('health, info, metrics, OpenAPI and the page', async () => {
  assert.equal((await app.inject({ method: 'GET', url: '/health' })).json().status, 'ok');
  const info = (await app.inject({ method: 'GET', url: '/info' })).json();
  assert.deepEqual(info.modalities.map((m: { name: string }) => m.name), ['image', 'text']);
  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  assert.match(metrics, /xmodal_http_requests_total\{route="\/search",method="POST",status="200"\} \d+/);
  assert.match(metrics, /xmodal_http_request_duration_seconds_bucket\{route="\/search",method="POST",le="\+Inf"\} \d+/);
  assert.match(metrics, /xmodal_index_items \d+/);
  const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
  assert.equal(doc.openapi, '3.1.0');
  assert.ok(doc.paths['/search'].post.requestBody);
  const page = await app.inject({ method: 'GET', url: '/' });
  assert.match(page.headers['content-type'] as string, /text\/html/);
  assert.match(page.body, /<form id="form">/);
});

test('an index refuses a run whose model differs', async () => {
  const path = join(dir, 'index');
  await index.save(path);
  const loaded = SearchIndex.load(path);
  loaded.manifest.run.modelSha256 = 'f'.repeat(64);
  assert.throws(() => checkIndexMatchesRun(loaded, run), /built with another model/);
});

test('POST /search with expand: n 0 is plain search, the same as the index\'s expansion otherwise; bad n is a 400', async () => {
  const query = { from: 'text', to: 'image', item: '3', k: 10 };
  const plain = (await post('/search', query)).json().results[0];
  assert.deepEqual((await post('/search', { ...query, expand: { n: 0, weight: 1 } })).json().results[0], plain);
  const expanded = await post('/search', { ...query, expand: { n: 5, weight: 1 } });
  assert.equal(expanded.statusCode, 200, expanded.body);
  const direct = index.search('image', index.embeddingOf('3', 'text'), { k: 10, expand: { n: 5, weight: 1 } })[0]!;
  assert.deepEqual(expanded.json().results[0].map((h: { id: string }) => h.id), direct.map((h) => h.id));
  const bad = await post('/search', { ...query, expand: { n: 1.5, weight: 1 } });
  assert.equal(bad.statusCode, 400);
  assert.match(bad.json().error, /^body\.expand\.n: a count/);
});
