// One-item write latency at 100,000 x 512 items, the two ways a service can make a write durable, in one run:
// before, the whole index rewritten per write (SearchIndex.save: every file, fsync, atomic rename); after, one
// journal line appended and fsynced (JournalWriter). Reload time with the journal replayed is reported too.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng, normal } from '../src/engine/random.js';
import { JOURNAL_FILE, JournalWriter } from '../src/index/journal.js';
import { hnswDefaults, SearchIndex, type NewItem } from '../src/index/search-index.js';
import { emit, percentile, round } from './harness.js';


export async function benchStorage(): Promise<void> {
  const n = 100_000;
  const dim = 512;
  const rng = createRng(3);
  const item = (id: string): NewItem => ({ id, labels: ['x'], metadata: { source: 'bench' }, embeddings: { v: Float32Array.from({ length: dim }, () => normal(rng)) } });
  const manifest = {
    format: 'xmodal-index' as const, version: 1 as const, engine: 'exact' as const, hnsw: hnswDefaults, dim,
    modalities: [{ name: 'v', inputDim: dim, builtSlots: 0, vocabulary: null }], labelNames: ['x'],
    run: { dir: '-', method: 'bench', modelSha256: '-' }, dataset: { name: 'random', path: '-' },
  };
  const dir = mkdtempSync(join(tmpdir(), 'xmodal-bench-'));
  const path = join(dir, 'index');
  try {
    const index = SearchIndex.build(manifest, Array.from({ length: n }, (_, i) => item(String(i))));
    await index.save(path);
    const report = (name: string, times: number[], extra: Record<string, unknown> = {}) => {
      const sorted = times.slice().sort((a, b) => a - b);
      emit({ name, median_ms: round(percentile(sorted, 0.5)), min_ms: round(sorted[0]!), runs: sorted.length, p99_ms: round(percentile(sorted, 0.99)), ...extra });
      return percentile(sorted, 0.5);
    };
    const rewrite: number[] = [];
    for (let w = 0; w < 5; w++) {
      const t = performance.now();
      index.add([item(`rewrite${w}`)]);
      await index.save(path);
      rewrite.push(performance.now() - t);
    }
    const before = report(`storage: one-item write, whole index rewritten (${n} x ${dim})`, rewrite, { index_mb: round(statSync(join(path, 'v.vectors.npy')).size / 2 ** 20, 1) });
    let t = performance.now();
    SearchIndex.load(path);
    const snapshotLoad = performance.now() - t;
    emit({ name: `storage: load of the snapshot alone, files checksummed (${n} x ${dim})`, median_ms: round(snapshotLoad), min_ms: round(snapshotLoad), runs: 1 });
    const writer = await JournalWriter.open(index, path);
    const journal: number[] = [];
    for (let w = 0; w < 300; w++) {
      const t = performance.now();
      await writer.add([item(`journal${w}`)]);
      journal.push(performance.now() - t);
    }
    const concurrent = performance.now();
    await Promise.all(Array.from({ length: 300 }, (_, w) => writer.add([item(`together${w}`)])));
    const concurrentMs = performance.now() - concurrent;
    await writer.close();
    const after = report(`storage: one-item write, journal append + fsync (${n} x ${dim})`, journal, { journal_bytes_per_item: round(statSync(join(path, JOURNAL_FILE)).size / 600, 0) });
    emit({ name: 'storage: 300 concurrent one-item writes through the journal (shared fsyncs)', median_ms: round(concurrentMs), min_ms: round(concurrentMs), runs: 1, writes_per_s: round(300 / (concurrentMs / 1000), 0) });
    emit({ name: 'storage: journal write latency as a share of a full rewrite (p50)', median_ms: 0, min_ms: 0, runs: 1, ratio: round(after / before, 4) });
    t = performance.now();
    const reloaded = SearchIndex.load(path);
    emit({ name: `storage: load with 600 journal records replayed (${n} x ${dim})`, median_ms: round(performance.now() - t), min_ms: round(performance.now() - t), runs: 1, items: reloaded.size });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
