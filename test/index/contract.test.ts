// One contract for every engine (exact, HNSW, PostgreSQL + pgvector), through the Collection interface the
// service uses: top-k against a brute-force scan written here, filters, paging, batches, query expansion with
// n = 0, adds and deletes (all or nothing), and persistence across a restart. The pgvector run needs the server
// scripts/postgres.sh starts (.ci/run starts it).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createRng, normal } from '../../src/engine/random.js';
import { EmbeddedCollection, type Collection } from '../../src/index/collection.js';
import { JournalWriter } from '../../src/index/journal.js';
import { PgCollection } from '../../src/index/pgvector.js';
import { hnswDefaults, SearchIndex, type Filter, type NewItem } from '../../src/index/search-index.js';
import { skipWithoutDatabase, TEST_DATABASE, uniqueIndexName } from '../helpers/postgres.js';
import { tempDir } from '../helpers/tmp.js';

const dim = 16;
const labelNames = ['red', 'green', 'blue', 'rare'];
const manifest = {
  format: 'xmodal-index' as const, version: 1 as const, hnsw: hnswDefaults, dim,
  modalities: [{ name: 'image', inputDim: 4, builtSlots: 0, vocabulary: null }, { name: 'text', inputDim: 4, builtSlots: 0, vocabulary: null }],
  labelNames, run: { dir: '/nowhere', method: 'test', modelSha256: 'x' }, dataset: { name: 't', path: '/nowhere' },
};

// 3,000 items: more than the HNSW engine searches exactly without a filter (2,048), so its graph answers.
const N = 3000;
const rng = createRng(7);
const vector = () => Float32Array.from({ length: dim }, () => normal(rng));
const items: NewItem[] = Array.from({ length: N }, (_, i) => ({
  id: `item-${i}`,
  labels: [...labelNames.slice(0, 3).filter((_, c) => (i + c) % 3 === 0 || (i * 7 + c) % 5 === 0), ...(i % 1000 === 3 ? ['rare'] : [])],
  metadata: { group: i % 4, name: `n${i}`, even: i % 2 === 0 },
  embeddings: { image: vector(), ...(i % 5 ? { text: vector() } : {}) },
}));
const queries = Array.from({ length: 20 }, vector);

const unit = (v: Float32Array) => {
  const n = Math.hypot(...v);
  return Float32Array.from(v, (x) => x / n);
};

/** Brute force, written independently of every engine: cosine, then score descending. */
function truth(to: 'image' | 'text', q: Float32Array, k: number, pool: NewItem[] = items, keep: (item: NewItem) => boolean = () => true) {
  const u = unit(q);
  return pool.filter((it) => it.embeddings[to] && keep(it))
    .map((it) => ({ id: it.id, score: unit(it.embeddings[to]!).reduce((s, x, j) => s + x * (u[j] as number), 0) }))
    .sort((a, b) => b.score - a.score).slice(0, k);
}

interface Engine {
  open(): Promise<Collection>;
  /** Closes and opens again from what was made durable (a restart). */
  reopen(c: Collection): Promise<Collection>;
  /** ANN engines: top-k is judged by recall and score accuracy; exact ones must match exactly. */
  approximate: boolean;
}

const dir = tempDir();
const embedded = (engine: 'exact' | 'hnsw'): Engine => {
  const path = join(dir, engine);
  const open = async () => {
    const index = SearchIndex.load(path);
    return new EmbeddedCollection(index, await JournalWriter.open(index, path));
  };
  return {
    approximate: engine === 'hnsw',
    open: async () => {
      await SearchIndex.build({ ...manifest, engine }, items).save(path);
      return open();
    },
    reopen: async (c) => {
      await c.close();
      return open();
    },
  };
};

const pgName = uniqueIndexName('contract');
const pgvector: Engine = {
  approximate: true,
  open: () => PgCollection.create(TEST_DATABASE!, pgName, manifest, items, { force: true }),
  reopen: async (c) => {
    await c.close();
    return PgCollection.open(TEST_DATABASE!, pgName);
  },
};
after(async () => {
  if (TEST_DATABASE) await PgCollection.drop(TEST_DATABASE, pgName);
});

const engines: Array<[string, () => Engine, string | false]> = [
  ['exact', () => embedded('exact'), false],
  ['hnsw', () => embedded('hnsw'), false],
  ['pgvector', () => pgvector, skipWithoutDatabase],
];

for (const [name, make, skip] of engines) {
  describe(`engine contract: ${name}`, { skip }, () => {
    let engine: Engine;
    let c: Collection;
    test('opens with every item', async () => {
      engine = make();
      c = await engine.open();
      assert.equal(await c.size(), N);
      assert.deepEqual((await c.item('item-5'))?.modalities, ['image']);
      assert.deepEqual((await c.item('item-6'))?.modalities, ['image', 'text']);
      assert.deepEqual(await c.item('item-6').then((h) => h && { labels: h.labels, metadata: h.metadata }), { labels: items[6]!.labels, metadata: items[6]!.metadata });
      assert.equal(await c.item('nope'), undefined);
    });

    test('top-k: the brute-force neighbours and their cosines', async () => {
      let found = 0;
      for (const to of ['image', 'text'] as const) {
        for (const q of queries) {
          const [hits] = await c.search(to, q, { k: 10 });
          const want = truth(to, q, 10);
          assert.equal(hits!.length, 10);
          const exactScore = new Map(truth(to, q, N).map((t) => [t.id, t.score]));
          for (let i = 0; i < hits!.length; i++) {
            const h = hits![i]!;
            // Every score is the item's cosine (f16 graphs: to 3 decimals), in descending order.
            assert.ok(Math.abs(h.score - exactScore.get(h.id)!) < (engine.approximate ? 2e-3 : 1e-5), `${h.id}: ${h.score} vs ${exactScore.get(h.id)}`);
            if (i) assert.ok(h.score <= hits![i - 1]!.score + 1e-6);
          }
          if (!engine.approximate) assert.deepEqual(hits!.map((h) => h.id), want.map((w) => w.id));
          found += hits!.filter((h) => want.some((w) => w.id === h.id)).length;
        }
      }
      const recall = found / (2 * queries.length * 10);
      assert.ok(engine.approximate ? recall >= 0.95 : recall === 1, `recall@10 ${recall}`);
    });

    test('filters: labels any/all, metadata equality, ids; k results whenever k exist', async () => {
      const cases: Array<[Filter, (it: NewItem) => boolean]> = [
        [{ labelsAny: ['red', 'blue'] }, (it) => it.labels.includes('red') || it.labels.includes('blue')],
        [{ labelsAll: ['red', 'green'] }, (it) => it.labels.includes('red') && it.labels.includes('green')],
        [{ metadata: { group: 2, even: true } }, (it) => it.metadata.group === 2 && it.metadata.even === true],
        [{ metadata: { group: '2' } }, () => false], // a string never equals a number
        [{ ids: ['item-1', 'item-2', 'item-10', 'item-11', 'missing'] }, (it) => ['item-1', 'item-2', 'item-10', 'item-11'].includes(it.id)],
        [{ labelsAny: ['rare'] }, (it) => it.labels.includes('rare')], // 3 items: fewer than k
      ];
      for (const [filter, keep] of cases) {
        for (const q of queries.slice(0, 5)) {
          const [hits] = await c.search('text', q, { k: 10, filter });
          assert.deepEqual(hits!.map((h) => h.id), truth('text', q, 10, items, keep).map((w) => w.id), JSON.stringify(filter));
          for (const h of hits!) assert.ok(keep(items[Number(h.id.slice(5))]!));
        }
      }
      await assert.rejects(c.search('text', queries[0]!, { k: 3, filter: { labelsAny: ['purple'] } }), /filter\.labelsAny: unknown label 'purple'/);
      await assert.rejects(c.search('audio', queries[0]!, { k: 3 }), /no modality 'audio'/);
    });

    test('paging, batches and query expansion with n = 0', async () => {
      const filter = { labelsAny: ['green'] };
      const [ten] = await c.search('image', queries[0]!, { k: 10, filter });
      const [page] = await c.search('image', queries[0]!, { k: 5, offset: 5, filter });
      assert.deepEqual(page!.map((h) => h.id), ten!.slice(5).map((h) => h.id));
      const batch = new Float32Array(3 * dim);
      queries.slice(0, 3).forEach((q, i) => batch.set(q, i * dim));
      const together = await c.search('image', batch, { k: 5, filter });
      for (let i = 0; i < 3; i++) assert.deepEqual(together[i]!.map((h) => h.id), (await c.search('image', queries[i]!, { k: 5, filter }))[0]!.map((h) => h.id));
      const plain = await c.search('image', queries[1]!, { k: 10 });
      assert.deepEqual(await c.search('image', queries[1]!, { k: 10, expand: { n: 0, weight: 1 } }), plain);
      // A control: expansion with neighbours moves the query, so the ranking changes.
      const expanded = await c.search('image', queries[1]!, { k: 10, expand: { n: 5, weight: 3 } });
      assert.notDeepEqual(expanded[0]!.map((h) => h.id), plain[0]!.map((h) => h.id));
    });

    test('adds and deletes: all or nothing, searchable at once, and there after a restart', async () => {
      const fresh = (id: string, v: Float32Array): NewItem => ({ id, labels: ['rare'], metadata: { group: 9 }, embeddings: { image: v, text: v } });
      const v = vector();
      await c.add([fresh('new-1', v), fresh('new-2', vector())]);
      assert.equal(await c.size(), N + 2);
      const [top] = await c.search('text', v, { k: 1 });
      assert.equal(top![0]!.id, 'new-1');
      assert.ok(Math.abs(top![0]!.score - 1) < 2e-3);
      // Refused batches change nothing: a duplicate id (in the index, or twice in the batch), an unknown label.
      await assert.rejects(c.add([fresh('new-3', vector()), fresh('item-0', vector())]), /item 'item-0' already exists/);
      await assert.rejects(c.add([fresh('new-4', vector()), fresh('new-4', vector())]), /item 'new-4' already exists/);
      await assert.rejects(c.add([{ ...fresh('new-5', vector()), labels: ['purple'] }]), /unknown label 'purple'/);
      await assert.rejects(c.add([{ ...fresh('new-6', vector()), embeddings: { image: new Float32Array(dim) } }]), /not finite or is zero/);
      assert.equal(await c.size(), N + 2);
      for (const id of ['new-3', 'new-4', 'new-5', 'new-6']) assert.equal(await c.item(id), undefined);
      assert.equal(await c.remove('item-0'), true);
      assert.equal(await c.remove('item-0'), false);
      assert.equal(await c.item('item-0'), undefined);
      const [rare] = await c.search('image', v, { k: 10, filter: { labelsAny: ['rare'] } });
      assert.deepEqual(rare!.map((h) => h.id).sort(), ['item-1003', 'item-2003', 'item-3', 'new-1', 'new-2'].sort());
      c = await engine.reopen(c);
      assert.equal(await c.size(), N + 1);
      assert.equal(await c.item('item-0'), undefined);
      assert.deepEqual((await c.item('new-1'))?.metadata, { group: 9 });
      assert.equal((await c.search('text', v, { k: 1 }))[0]![0]!.id, 'new-1');
      const stored = await c.embeddingOf('new-1', 'image');
      const u = unit(v);
      for (let j = 0; j < dim; j++) assert.ok(Math.abs((stored[j] as number) - (u[j] as number)) < 1e-6);
      await assert.rejects(c.embeddingOf('item-5', 'text'), /item 'item-5' has no text \(it has: image\)/);
      await c.close();
    });
  });
}
