// xmodal index (build, optimize) and xmodal search.
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { readMatrix } from '../data/formats/matrix.js';
import { initEngine } from '../engine/engine.js';
import { UserError } from '../errors.js';
import { buildAugmentedIndex, buildIndex } from '../index/build.js';
import { imageFeatures } from '../index/featurize.js';
import { readBytes } from '../util/read-file.js';
import { checkIndexMatchesRun, queryVectors } from '../index/query.js';
import { EmbeddedCollection, type Collection, type IndexInfo } from '../index/collection.js';
import { PgCollection, pgvectorDefaults } from '../index/pgvector.js';
import { hnswDefaults, SearchIndex, type Filter, type NewItem } from '../index/search-index.js';
import { loadRun } from '../runs/load.js';
import { z } from 'zod';
import { collect, flag, list, nonNegativeInt, parseFlags, positiveInt, queryExpansionFlag } from './options.js';

const SearchFlagsSchema = z.object({
  from: z.string(),
  to: z.string(),
  vector: z.string().optional(),
  item: z.string().optional(),
  text: z.string().optional(),
  image: z.string().optional(),
  k: positiveInt,
  offset: nonNegativeInt,
  labelsAny: list.optional(),
  labelsAll: list.optional(),
  where: z.array(z.string()).optional(),
  ids: list.optional(),
  run: z.string().optional(),
  database: z.string().optional(),
  json: flag,
  queryExpansion: queryExpansionFlag.optional(),
});

export function parseFilter(f: { labelsAny?: string[] | undefined; labelsAll?: string[] | undefined; where?: string[] | undefined; ids?: string[] | undefined }): Filter | undefined {
  const filter: Filter = {};
  if (f.labelsAny) filter.labelsAny = f.labelsAny;
  if (f.labelsAll) filter.labelsAll = f.labelsAll;
  if (f.ids) filter.ids = f.ids;
  for (const w of f.where ?? []) {
    const eq = w.indexOf('=');
    if (eq <= 0) throw new UserError(`--where '${w}': expected FIELD=VALUE`);
    (filter.metadata ??= {})[w.slice(0, eq)] = w.slice(eq + 1);
  }
  return Object.keys(filter).length ? filter : undefined;
}

/** An index with its journal replayed; a dropped torn record (a write never acknowledged) is one warning line. */
function loadIndex(dir: string): SearchIndex {
  const index = SearchIndex.load(dir);
  if (index.journalWarning) console.error(`xmodal: warning: ${index.journalWarning}`);
  return index;
}

export async function openIndex(dir: string, runDir?: string) {
  const index = loadIndex(dir);
  return { index, run: await runOf(index, runDir) };
}

/** The run that built an index (its encoders embed raw queries), when it is on this machine. */
async function runOf(index: IndexInfo, runDir: string | undefined) {
  const path = runDir ?? index.manifest.run.dir;
  if (!existsSync(path)) return undefined;
  const run = await loadRun(path, existsSync(index.manifest.dataset.path) ? index.manifest.dataset.path : undefined);
  checkIndexMatchesRun(index, run);
  return run;
}

/** The database URL of --database, or of XMODAL_DATABASE when the flag is absent. */
export function databaseUrl(flag: string | undefined): string | undefined {
  return flag ?? (process.env.XMODAL_DATABASE || undefined);
}

/**
 * An index directory, or with a database URL the index of that name stored in PostgreSQL, as a collection; plus
 * the embedded index itself (the service journals its writes) and the run.
 */
export async function openCollection(where: string, o: { run?: string | undefined; database?: string | undefined }): Promise<{ collection: Collection; index?: SearchIndex; run: Awaited<ReturnType<typeof runOf>> }> {
  const url = databaseUrl(o.database);
  if (url) {
    const collection = await PgCollection.open(url, where);
    try {
      return { collection, run: await runOf(collection, o.run) };
    } catch (error) {
      await collection.close();
      throw error;
    }
  }
  const { index, run } = await openIndex(where, o.run);
  return { collection: new EmbeddedCollection(index), index, run };
}

export function registerSearch(program: Command): void {
  program.command('index <run-or-action> [index]')
    .description('build a search index of a trained run (xmodal index RUN --out INDEX, or --engine pgvector --database URL --name NAME); rebuild its graphs (xmodal index optimize INDEX); fold its journal into a new snapshot (xmodal index compact INDEX); write a database index as a directory (xmodal index export NAME --database URL --out DIR)')
    .option('--out <dir>', 'index directory (build, export)')
    .option('--data <dir>', 'data set to index (default: the run\'s)')
    .option('--split <name>', 'index only this split (default: every item)')
    .option('--engine <kind>', 'exact (default), hnsw (usearch, f16), or pgvector (PostgreSQL: with --database and --name)', 'exact')
    .option('--database <url>', 'PostgreSQL URL, postgres://USER@HOST:PORT/DB (or XMODAL_DATABASE): where --engine pgvector builds, and export reads')
    .option('--name <name>', 'the index\'s name in the database (lower-case letters, digits and _)')
    .option('--vector-type <type>', 'pgvector column type: vector (float32, default) or halfvec (float16)', 'vector')
    .option('--ef-search <n>', `pgvector: HNSW candidates per query (hnsw.ef_search; default ${pgvectorDefaults.efSearch})`, String(pgvectorDefaults.efSearch))
    .option('--database-augmentation <n,weight>', 'store each item as itself + weight x the mean of its n nearest items of its modality (itself included), as xmodal eval --database-augmentation measures it')
    .option('--force', 'replace an existing index directory')
    .action(async (first: string, second: string | undefined, raw: Record<string, unknown>) => {
      const f = parseFlags(z.object({
        out: z.string().optional(), data: z.string().optional(), split: z.string().optional(), engine: z.enum(['exact', 'hnsw', 'pgvector']), force: flag,
        databaseAugmentation: queryExpansionFlag.optional(), database: z.string().optional(), name: z.string().optional(),
        vectorType: z.enum(['vector', 'halfvec']), efSearch: positiveInt,
      }), raw);
      await initEngine();
      if (first === 'export') {
        if (!second) throw new UserError('xmodal index export NAME --database URL --out DIR: name the index');
        const url = databaseUrl(f.database);
        if (!url) throw new UserError('--database (or XMODAL_DATABASE) is required to export an index');
        if (!f.out) throw new UserError('--out is required: the index directory to write');
        if (f.engine === 'pgvector') throw new UserError('--engine: an exported index is exact or hnsw');
        const collection = await PgCollection.open(url, second);
        try {
          const items: NewItem[] = [];
          for await (const item of collection.entries()) items.push(item);
          const { pgvector: _settings, ...manifest } = collection.manifest;
          const index = SearchIndex.build({ ...manifest, engine: f.engine, hnsw: hnswDefaults }, items);
          await index.save(f.out, f.force);
          console.log(`wrote ${f.out}: ${index.size} items of '${second}', ${f.engine} engine`);
        } finally {
          await collection.close();
        }
        return;
      }
      if (first === 'optimize' || first === 'compact') {
        if (!second) throw new UserError(`xmodal index ${first} INDEX: name the index directory`);
        const index = loadIndex(second);
        // optimize rebuilds HNSW graphs; compact drops deleted items' slots. Both write a new snapshot, which
        // folds the journal in (atomically: the directory is replaced only once the snapshot is complete).
        if (first === 'optimize') index.optimize();
        else index.compact();
        await index.save(second, true);
        console.log(`${first === 'optimize' ? 'optimized' : 'compacted'} ${second}: ${JSON.stringify(index.stats())}`);
        return;
      }
      const run = await loadRun(first, f.data);
      const started = performance.now();
      const settings = { engine: f.engine === 'hnsw' ? 'hnsw' as const : 'exact' as const, hnsw: hnswDefaults, ...(f.split ? { split: f.split } : {}) };
      if (f.engine === 'pgvector') {
        const url = databaseUrl(f.database);
        if (!url) throw new UserError('--engine pgvector needs --database URL (or XMODAL_DATABASE)');
        if (!f.name) throw new UserError('--engine pgvector needs --name NAME: the index\'s name in the database');
        if (f.out) throw new UserError('--out: a pgvector index lives in the database (write a directory later with xmodal index export)');
        const built = f.databaseAugmentation ? await buildAugmentedIndex(run, settings, f.databaseAugmentation) : buildIndex(run, settings);
        const { engine: _engine, items: _items, created: _created, ...manifest } = built.manifest;
        const collection = await PgCollection.create(url, f.name, manifest, built.entries(), { force: f.force, settings: { ...pgvectorDefaults, type: f.vectorType, efSearch: f.efSearch } });
        console.log(`wrote index '${f.name}' to the database: ${await collection.size()} items, ${built.modalities.join(' + ')}, pgvector engine (${f.vectorType}), ${((performance.now() - started) / 1000).toFixed(1)} s`);
        await collection.close();
        run.method.dispose();
        return;
      }
      if (!f.out) throw new UserError('--out is required to build an index');
      const index = f.databaseAugmentation ? await buildAugmentedIndex(run, settings, f.databaseAugmentation) : buildIndex(run, settings);
      await index.save(f.out, f.force);
      console.log(`wrote ${f.out}: ${index.size} items, ${index.modalities.join(' + ')}, ${f.engine} engine, ${((performance.now() - started) / 1000).toFixed(1)} s`);
      run.method.dispose();
    });

  program.command('search <index>')
    .description('query an index across modalities: by raw features, by an indexed item, by raw text or by a photo')
    .requiredOption('--from <modality>', 'modality of the query, or aggregate (with --item: the item\'s modalities combined; agat runs)')
    .requiredOption('--to <modality>', 'modality of the results')
    .option('--vector <file[:var]>', 'raw features of the query (.npy, .csv, ...; several rows = several queries)')
    .option('--item <id>', 'an indexed item as the query')
    .option('--text <text>', 'raw text (where the modality has a text featuriser or a vocabulary)')
    .option('--image <file>', 'a photo (where the modality has an image featuriser: data sets from xmodal import media)')
    .option('-k <n>', 'results per query', '10')
    .option('--offset <n>', 'skip this many results (paging)', '0')
    .option('--labels-any <list>', 'only items with at least one of these labels')
    .option('--labels-all <list>', 'only items with all of these labels')
    .option('--where <field=value>', 'only items whose metadata field equals the value (repeat)', collect)
    .option('--ids <list>', 'only these item ids')
    .option('--run <dir>', 'the run that built the index (default: the one it records)')
    .option('--database <url>', 'search the index named <index> in this PostgreSQL database (or XMODAL_DATABASE)')
    .option('--query-expansion <n,weight>', 'add weight x the mean of each query\'s n nearest items of --to (n a count, or a share of them below 1) and search again')
    .option('--json', 'print JSON')
    .action(async (dir: string, raw: Record<string, unknown>) => {
      const f = parseFlags(SearchFlagsSchema, raw);
      await initEngine({ quiet: true });
      const { collection: index, run } = await openCollection(dir, { run: f.run, database: f.database });
      const specs = [];
      if (f.vector) {
        const m = await readMatrix(f.vector);
        for (let r = 0; r < m.rows; r++) specs.push({ from: f.from, vector: Float32Array.from(m.values.subarray(r * m.cols, (r + 1) * m.cols)) });
      } else if (f.image !== undefined) {
        if (f.item !== undefined || f.text !== undefined) throw new UserError('give one of --vector, --item, --text or --image');
        specs.push({ from: f.from, vector: await imageFeatures(index, f.from, readBytes(f.image), f.image) });
      } else specs.push({ from: f.from, ...(f.item !== undefined ? { item: f.item } : {}), ...(f.text !== undefined ? { text: f.text } : {}) });
      const vectors = await queryVectors(index, run, specs);
      const joined = new Float32Array(vectors.length * index.manifest.dim);
      vectors.forEach((v, i) => joined.set(v, i * index.manifest.dim));
      const filter = parseFilter(f);
      const results = await index.search(f.to, joined, { k: f.k, offset: f.offset, ...(filter ? { filter } : {}), expand: f.queryExpansion });
      if (f.json) console.log(JSON.stringify(results, null, 2));
      else results.forEach((hits, q) => {
        if (results.length > 1) console.log(`query ${q + 1}:`);
        for (const h of hits) console.log(`${h.score.toFixed(4)}  ${h.id}  [${h.labels.join(', ')}]  ${JSON.stringify(h.metadata)}`);
      });
      run?.method.dispose();
      await index.close();
    });
}
