// PostgreSQL + pgvector against usearch (the embedded HNSW engine) on the same 100,000 x 512 clustered vectors
// (spread 1: an item's neighbours come from several clusters, so recall is not trivially 1), in one run: build time, single-query latency p50/p99, queries/s with 8 concurrent clients, and recall@10
// against exact search, for several hnsw.ef_search values. Needs a server (bash scripts/postgres.sh start, or
// XMODAL_DATABASE); without one the group says so and emits nothing.
import { execFileSync } from 'node:child_process';
import { PgCollection } from '../src/index/pgvector.js';
import { hnswDefaults, SearchIndex } from '../src/index/search-index.js';
import { emit, percentile, round } from './harness.js';
import { clusteredItems } from './search.js';


function databaseUrl(): string | undefined {
  if (process.env.XMODAL_DATABASE) return process.env.XMODAL_DATABASE;
  try {
    return execFileSync('bash', ['scripts/postgres.sh', 'url'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

export async function benchPgvector(): Promise<void> {
  const url = databaseUrl();
  if (!url) {
    console.error('xmodal bench: storage-pgvector skipped: no PostgreSQL with pgvector (bash scripts/postgres.sh start)');
    return;
  }
  const n = Number(process.env.XMODAL_BENCH_PG_ITEMS ?? 100_000);
  const dim = 512;
  const { items, queries } = clusteredItems(n, dim, 5, 1);
  const manifest = (engine: 'exact' | 'hnsw') => ({
    format: 'xmodal-index' as const, version: 1 as const, engine, hnsw: hnswDefaults, dim,
    modalities: [{ name: 'v', inputDim: dim, builtSlots: 0, vocabulary: null }], labelNames: ['x'],
    run: { dir: '-', method: 'bench', modelSha256: '-' }, dataset: { name: 'clustered', path: '-' },
  });
  const shape = `${n}x${dim}`;
  const exact = SearchIndex.build(manifest('exact'), items);
  const truth = queries.map((q) => exact.search('v', q, { k: 10 })[0]!.map((h) => h.id));
  const recallOf = (results: string[][]) => results.reduce((s, r, i) => s + r.filter((id) => truth[i]!.includes(id)).length, 0) / (10 * results.length);

  // usearch, in process: what the database is compared with.
  let t = performance.now();
  const usearch = SearchIndex.build(manifest('hnsw'), items);
  const usearchBuild = (performance.now() - t) / 1000;
  const usearchTimes: number[] = [];
  const usearchResults = queries.map((q) => {
    const s = performance.now();
    const ids = usearch.search('v', q, { k: 10 })[0]!.map((h) => h.id);
    usearchTimes.push(performance.now() - s);
    return ids;
  });
  usearchTimes.sort((a, b) => a - b);
  const usearchP50 = percentile(usearchTimes, 0.5);
  emit({
    name: `storage-pgvector: usearch hnsw ${shape} (in process), single query`, median_ms: round(usearchP50), min_ms: round(usearchTimes[0]!), runs: usearchTimes.length,
    p99_ms: round(percentile(usearchTimes, 0.99)), queries_per_s: round(1000 / usearchP50, 0), recall_at_10: round(recallOf(usearchResults), 4), build_s: round(usearchBuild, 1),
  });

  const name = `bench_${process.pid}`;
  t = performance.now();
  let c = await PgCollection.create(url, name, manifest('exact'), items, { force: true });
  const build = (performance.now() - t) / 1000;
  const size = await c.tableBytes();
  await c.close();
  try {
    for (const efSearch of [40, 100, 200]) {
      c = await PgCollection.open(url, name, { efSearch });
      for (const q of queries.slice(0, 20)) await c.search('v', q, { k: 10 }); // warm the connection and cache
      const times: number[] = [];
      const results: string[][] = [];
      for (const q of queries) {
        const s = performance.now();
        results.push((await c.search('v', q, { k: 10 }))[0]!.map((h) => h.id));
        times.push(performance.now() - s);
      }
      times.sort((a, b) => a - b);
      // 8 clients, each its own connection from the pool, 400 queries in all.
      t = performance.now();
      await Promise.all(Array.from({ length: 8 }, async (_, client) => {
        for (let i = client; i < 400; i += 8) await c.search('v', queries[i % queries.length]!, { k: 10 });
      }));
      const qps = 400 / ((performance.now() - t) / 1000);
      const p50 = percentile(times, 0.5);
      emit({
        name: `storage-pgvector: pgvector hnsw ${shape}, ef_search ${efSearch}, single query`, median_ms: round(p50), min_ms: round(times[0]!), runs: times.length,
        p99_ms: round(percentile(times, 0.99)), queries_per_s_8_clients: round(qps, 0), recall_at_10: round(recallOf(results), 4), build_s: round(build, 1), table_mb: round(size / 2 ** 20, 1),
        p50_vs_usearch: round(p50 / usearchP50, 2),
      });
      await c.close();
    }
  } finally {
    await PgCollection.drop(url, name);
  }
}
