import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { createRng, normal } from '../../src/engine/random.js';
import { hnswDefaults, SearchIndex, type NewItem } from '../../src/index/search-index.js';
import { topK } from '../../src/index/topk.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();
const dim = 8;
const labelNames = ['red', 'green', 'blue'];

function items(n: number, seed: number): NewItem[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, (_, i) => ({
    id: `item${i}`,
    labels: labelNames.filter((_, c) => (i + c) % 3 === 0 || (c === 2 && i % 5 === 0)),
    metadata: { parity: i % 2 ? 'odd' : 'even', n: i },
    embeddings: { a: Float32Array.from({ length: dim }, () => normal(rng)), ...(i % 4 ? { b: Float32Array.from({ length: dim }, () => normal(rng)) } : {}) },
  }));
}

const manifest = (engine: 'exact' | 'hnsw') => ({
  format: 'xmodal-index' as const, version: 1 as const, engine, hnsw: hnswDefaults, dim,
  modalities: [{ name: 'a', inputDim: 4, builtSlots: 0, vocabulary: null }, { name: 'b', inputDim: 4, builtSlots: 0, vocabulary: null }],
  labelNames, run: { dir: '/nowhere', method: 'test', modelSha256: 'x' }, dataset: { name: 't', path: '/nowhere' },
});

function bruteForce(all: NewItem[], q: Float32Array, modality: string, keep: (it: NewItem) => boolean): string[] {
  const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return all.filter((it) => it.embeddings[modality] && keep(it))
    .map((it, order) => ({ id: it.id, order, s: it.embeddings[modality]!.reduce((s, x, i) => s + x * q[i]!, 0) / (norm(it.embeddings[modality]!) * norm(q)) }))
    .sort((x, y) => y.s - x.s || x.order - y.order).map((x) => x.id);
}

test('top-k keeps the k best, ties by position, skipping disallowed', () => {
  const s = Float32Array.from([0.5, 0.9, 0.9, 0.1, 0.7]);
  assert.deepEqual(topK(s, 3).map((h) => h.position), [1, 2, 4]);
  assert.deepEqual(topK(s, 2, Uint8Array.from([1, 0, 1, 1, 0])).map((h) => h.position), [2, 0]);
});

test('exact search equals brute force; filters apply before top-k, so k results come back', () => {
  const all = items(300, 1);
  const index = SearchIndex.build(manifest('exact'), all);
  const q = Float32Array.from({ length: dim }, (_, i) => Math.sin(i + 1));
  assert.deepEqual(index.search('b', q, { k: 10 })[0]!.map((h) => h.id), bruteForce(all, q, 'b', () => true).slice(0, 10));
  const blue = index.search('a', q, { k: 15, filter: { labelsAll: ['blue', 'red'] } })[0]!;
  assert.equal(blue.length, 15);
  assert.deepEqual(blue.map((h) => h.id), bruteForce(all, q, 'a', (it) => it.labels.includes('blue') && it.labels.includes('red')).slice(0, 15));
  const odd = index.search('a', q, { k: 5, offset: 5, filter: { metadata: { parity: 'odd' }, labelsAny: ['green'] } })[0]!;
  assert.deepEqual(odd.map((h) => h.id), bruteForce(all, q, 'a', (it) => it.metadata.parity === 'odd' && it.labels.includes('green')).slice(5, 10));
  const ids = index.search('a', q, { k: 10, filter: { ids: ['item3', 'item7'] } })[0]!;
  assert.deepEqual(ids.map((h) => h.id).sort(), ['item3', 'item7']);
  assert.throws(() => index.search('a', q, { k: 1, filter: { labelsAny: ['purple'] } }), /unknown label 'purple'/);
});

test('added items are searchable at once, removed ones disappear; save and load keep everything', async () => {
  for (const engine of ['exact', 'hnsw'] as const) {
    const index = SearchIndex.build(manifest(engine), items(3000, 2));
    const extra = items(1, 9)[0]!;
    extra.id = 'late';
    index.add([extra]);
    const q = extra.embeddings.a!;
    assert.equal(index.search('a', q, { k: 1 })[0]![0]!.id, 'late', engine);
    assert.throws(() => index.add([extra]), /already exists/);
    assert.equal(index.remove('item0'), true);
    assert.equal(index.item('item0'), undefined);
    assert.ok(!index.search('a', index.embeddingOf('item1', 'a'), { k: 3000 })[0]!.some((h) => h.id === 'item0'));
    const path = join(dir, engine);
    await index.save(path);
    const loaded = SearchIndex.load(path);
    assert.equal(loaded.size, index.size);
    assert.deepEqual(loaded.search('a', q, { k: 5 })[0]!.map((h) => h.id), index.search('a', q, { k: 5 })[0]!.map((h) => h.id));
    assert.equal(loaded.item('late')!.labels.join(), extra.labels.join());
  }
});

test('HNSW agrees with exact search (recall@10 on random vectors)', () => {
  const all = items(5000, 3);
  const exact = SearchIndex.build(manifest('exact'), all);
  const hnsw = SearchIndex.build(manifest('hnsw'), all);
  const rng = createRng(4);
  let found = 0;
  for (let t = 0; t < 50; t++) {
    const q = Float32Array.from({ length: dim }, () => normal(rng));
    const truth = new Set(exact.search('a', q, { k: 10 })[0]!.map((h) => h.id));
    found += hnsw.search('a', q, { k: 10 })[0]!.filter((h) => truth.has(h.id)).length;
  }
  assert.ok(found / 500 >= 0.95, `recall@10 ${found / 500}`);
  assert.equal(hnsw.stats().modalities.a!.engine, 'hnsw');
});

test('query expansion in the index ranks as eval\'s expandQueries followed by exact search; n 0 is plain search', async () => {
  const { expandQueries } = await import('../../src/eval/rerank.js');
  const all = items(300, 7);
  const index = SearchIndex.build(manifest('exact'), all);
  const q = Float32Array.from({ length: dim }, (_, i) => Math.cos(i + 2));
  const ids = (hits: Array<{ id: string }>) => hits.map((h) => h.id);
  const plain = index.search('b', q, { k: 20 })[0]!;
  assert.deepEqual(index.search('b', q, { k: 20, expand: { n: 0, weight: 1 } })[0], plain);
  const expanded = ids(index.search('b', q, { k: 20, expand: { n: 10, weight: 1 } })[0]!);
  const withB = all.filter((it) => it.embeddings.b);
  const retrieval = { rows: withB.length, cols: dim, data: Float32Array.from(withB.flatMap((it) => Array.from(it.embeddings.b!))) };
  const reference = await expandQueries({ rows: 1, cols: dim, data: q }, retrieval, { n: 10, weight: 1 });
  assert.deepEqual(expanded, bruteForce(all, reference.data, 'b', () => true).slice(0, 20));
  assert.notDeepEqual(expanded, ids(plain), 'control: expansion changes the ranking');
  // A share of the modality's items: 0.05 of the 225 items with b is 11 neighbours.
  assert.deepEqual(ids(index.search('b', q, { k: 20, expand: { n: 0.05, weight: 1 } })[0]!), ids(index.search('b', q, { k: 20, expand: { n: 11, weight: 1 } })[0]!));
});
