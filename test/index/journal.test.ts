// The index journal: replay equals the in-memory state, a torn last record is dropped with a warning and cut
// off, a corrupt record before the last is refused, compaction folds the journal into the snapshot, and searches
// running during writes only ever see live items. The crash test (SIGKILL mid-burst) is in test/serve/safety.test.ts.
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createRng, normal } from '../../src/engine/random.js';
import { JOURNAL_FILE, JournalWriter } from '../../src/index/journal.js';
import { hnswDefaults, SearchIndex, type NewItem } from '../../src/index/search-index.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();
const dim = 8;
const labelNames = ['red', 'green', 'blue'];
const manifest = {
  format: 'xmodal-index' as const, version: 1 as const, engine: 'exact' as const, hnsw: hnswDefaults, dim,
  modalities: [{ name: 'a', inputDim: 4, builtSlots: 0, vocabulary: null }, { name: 'b', inputDim: 4, builtSlots: 0, vocabulary: null }],
  labelNames, run: { dir: '/nowhere', method: 'test', modelSha256: 'x' }, dataset: { name: 't', path: '/nowhere' },
};

function items(n: number, seed: number, prefix = 'item'): NewItem[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}${i}`,
    labels: labelNames.filter((_, c) => (i + c) % 3 === 0),
    metadata: { n: i, note: i % 7 ? 'plain' : 'ünïcode ✓' },
    embeddings: { a: Float32Array.from({ length: dim }, () => normal(rng)), ...(i % 4 ? { b: Float32Array.from({ length: dim }, () => normal(rng)) } : {}) },
  }));
}

async function served(name: string, n = 50, options = {}) {
  const path = join(dir, name);
  const index = SearchIndex.build(manifest, items(n, 1));
  await index.save(path);
  return { path, index, writer: await JournalWriter.open(index, path, options) };
}

/** Everything a reader sees: ids, stored vectors, and search results (ids and scores) for a few queries. */
function view(index: SearchIndex) {
  const queries = items(4, 99, 'q').map((q) => q.embeddings.a!);
  return {
    size: index.size,
    results: queries.flatMap((q) => ['a', 'b'].map((m) => index.search(m, q, { k: 200 })[0]!.map((h) => [h.id, h.score, h.labels, h.metadata]))),
  };
}

test('replaying the journal over the snapshot gives exactly the in-memory state', async () => {
  const { path, index, writer } = await served('replay');
  await writer.add(items(10, 2, 'new'));
  await Promise.all([writer.add(items(3, 3, 'burst')), writer.remove('item3'), writer.remove('new4'), writer.add(items(2, 4, 'late'))]);
  assert.equal(await writer.remove('no-such-item'), false);
  await assert.rejects(writer.add([...items(1, 5, 'ok'), ...items(1, 6, 'new')]), /item 'new0' already exists/);
  await writer.close();
  const lines = readFileSync(join(path, JOURNAL_FILE), 'utf8').trim().split('\n');
  assert.equal(lines.length, 5, 'one line per accepted write; the refused batch and the missing id wrote nothing');
  const reloaded = SearchIndex.load(path);
  assert.equal(reloaded.journalWarning, undefined);
  assert.deepEqual(view(reloaded), view(index));
  assert.deepEqual(reloaded.embeddingOf('burst1', 'a'), index.embeddingOf('burst1', 'a'));
  assert.equal(reloaded.item('item3'), undefined);
  assert.equal(reloaded.size, 50 + 10 + 3 + 2 - 2);
  // Control: the snapshot alone is another state, so the comparison above depends on the replay.
  writeFileSync(join(path, JOURNAL_FILE), '');
  assert.notDeepEqual(view(SearchIndex.load(path)), view(index));
});

test('a torn last record is dropped with one warning and cut off before the next append', async () => {
  const { path, index, writer } = await served('torn');
  await writer.add(items(2, 2, 'kept'));
  await writer.close();
  const good = readFileSync(join(path, JOURNAL_FILE));
  for (const tail of ['0123456789abcdef {"op":"add","ite', 'ffffffffffffffff {"op":"remove","id":"item1"}\n']) {
    writeFileSync(join(path, JOURNAL_FILE), Buffer.concat([good, Buffer.from(tail)]));
    const reloaded = SearchIndex.load(path);
    assert.match(reloaded.journalWarning ?? '', /journal\.jsonl: line 2: an? (incomplete last|corrupt) record \(a write interrupted by a crash, never acknowledged\) was dropped/);
    assert.deepEqual(view(reloaded), view(index), 'the torn record never loads as data');
  }
  const again = await JournalWriter.open(SearchIndex.load(path), path);
  assert.equal(statSync(join(path, JOURNAL_FILE)).size, good.length, 'the torn tail is cut off');
  await again.add(items(1, 3, 'after'));
  await again.close();
  const reloaded = SearchIndex.load(path);
  assert.equal(reloaded.journalWarning, undefined);
  assert.ok(reloaded.item('after0') && reloaded.item('kept1'));
});

test('a corrupt record followed by others is refused in one line naming the file and line', async () => {
  const { path, writer } = await served('corrupt');
  await writer.add(items(1, 2, 'x'));
  await writer.add(items(1, 3, 'y'));
  await writer.close();
  const text = readFileSync(join(path, JOURNAL_FILE), 'utf8');
  writeFileSync(join(path, JOURNAL_FILE), text.replace('"x0"', '"z0"'));
  assert.throws(() => SearchIndex.load(path), /journal\.jsonl: line 1 is a corrupt record followed by others \(the journal is corrupt/);
});

test('compaction folds the journal into a new snapshot; writes keep landing; the reload is the same', async () => {
  const { path, index, writer } = await served('compact', 30, { compactBytes: 2_000 });
  for (let i = 0; i < 12; i++) await writer.add(items(1, 10 + i, `c${i}-`));
  assert.ok(statSync(join(path, JOURNAL_FILE)).size < 2_000 + 1_000, 'the journal was folded at least once');
  const snapshot = JSON.parse(readFileSync(join(path, 'index.json'), 'utf8')) as { items: number };
  assert.ok(snapshot.items > 30, `the snapshot holds journal writes (${snapshot.items} items)`);
  for (let i = 0; i < 20; i++) await writer.remove(`item${i}`); // wasteful: deleted slots over a quarter -> compacted
  await writer.compact();
  assert.equal(statSync(join(path, JOURNAL_FILE)).size, 0);
  await writer.close();
  const reloaded = SearchIndex.load(path);
  assert.deepEqual(view(reloaded), view(index));
  assert.equal(reloaded.deadSlots, 0);
});

test('searches running during writes see only live items, never a half-applied batch', async () => {
  const { index, writer } = await served('concurrent', 60);
  const deleted = new Set<string>();
  const batches = Array.from({ length: 10 }, (_, b) => items(3, 50 + b, `b${b}-`));
  let searches = 0;
  const searcher = async () => {
    for (let r = 0; r < 40; r++) {
      const gone = new Set(deleted);
      const hits = index.search('a', batches[0]![0]!.embeddings.a!, { k: 500 })[0]!;
      const ids = new Set(hits.map((h) => h.id));
      for (const id of gone) assert.ok(!ids.has(id), `deleted ${id} returned`);
      for (const batch of batches) {
        const seen = batch.filter((it) => ids.has(it.id)).length;
        assert.ok(seen === 0 || seen === batch.length, `a batch half visible (${seen} of ${batch.length})`);
      }
      searches++;
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  const writes = async () => {
    for (let i = 0; i < 10; i++) {
      await writer.add(batches[i]!);
      await writer.remove(`item${i}`);
      deleted.add(`item${i}`);
    }
  };
  await Promise.all([searcher(), writes(), searcher()]);
  assert.equal(searches, 80);
  assert.equal(index.size, 60 + 30 - 10);
  await writer.close();
});

test('a journal that cannot be written: that write fails, later writes are refused, the file stays readable', async () => {
  const { path, writer } = await served('failing');
  await writer.add(items(1, 2, 'before'));
  // The disk going away under the writer (its file handle closed): the append fails.
  await (writer as unknown as { handle: { close(): Promise<void> } }).handle.close();
  await assert.rejects(writer.add(items(1, 3, 'lost')), /EBADF|closed/);
  await assert.rejects(writer.add(items(1, 4, 'refused')), /could not be written .*writes are refused until the service restarts/);
  await assert.rejects(writer.remove('item1'), /writes are refused/);
  const reloaded = SearchIndex.load(path);
  assert.equal(reloaded.journalWarning, undefined);
  assert.ok(reloaded.item('before0') && !reloaded.item('lost0') && reloaded.item('item1'));
});
