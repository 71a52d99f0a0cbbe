// PostgreSQL + pgvector as an index engine, for collections that outgrow one process or are served by several.
//
// Layout in the database (one schema, shared by every index in it):
//   xmodal_indexes (name, manifest jsonb, items)   one row per index: its manifest (as an embedded index's
//                                                  index.json) and its live item count, updated with every write
//   "xmodal_items_<name>" (seq, id, labels text[], metadata jsonb, v0, v1, ...)
//                                                  one row per item; one vector (or halfvec) column per modality,
//                                                  in the manifest's order, NULL where the item lacks it; an HNSW
//                                                  index with cosine ops per column, a GIN index on labels
// Vectors are stored unit-length, so cosine distance is 1 - the score every engine reports.
//
// Search: ORDER BY distance LIMIT k + offset, with the filter as SQL WHERE. With a filter that leaves at most
// EXACT_LIMIT items, the query is exact (index scans off: a sequential or bitmap scan and a sort); otherwise the
// HNSW index answers with pgvector 0.8's iterative scans in strict order (hnsw.iterative_scan), which keep
// scanning until enough rows pass the filter; if fewer than k + offset come back, the query is repeated exactly.
// So k results come back whenever k exist, as with the embedded engines.
import pg from 'pg';
import { UserError } from '../errors.js';
import { expansionCount } from '../eval/rerank.js';
import { checkTableName } from '../util/names.js';
import type { Collection, ItemView, SearchOptions } from './collection.js';
import { normalizeInPlace } from './engines.js';
import { checkNewItems, IndexManifestSchema, unitQueries, type Filter, type Hit, type IndexManifest, type NewItem } from './search-index.js';

export interface PgvectorSettings {
  /** Column type: vector (float32) or halfvec (float16: half the space; HNSW up to 4,000 dimensions). */
  type: 'vector' | 'halfvec';
  /** HNSW graph degree and build-time candidate list (pgvector's m and ef_construction). */
  m: number;
  efConstruction: number;
  /** Query-time candidate list (hnsw.ef_search); recall against exact search is measured in bench/storage.ts. */
  efSearch: number;
}

export const pgvectorDefaults: PgvectorSettings = { type: 'vector', m: 16, efConstruction: 128, efSearch: 100 };

/** Filters leaving at most this many items are searched exactly (cheaper than walking the graph past the rest). */
export const EXACT_LIMIT = 10_000;
/** pgvector's HNSW limits: dimensions per column type. Wider embeddings are searched exactly. */
const HNSW_MAX_DIM = { vector: 2000, halfvec: 4000 } as const;
const REGISTRY = 'xmodal_indexes';
const INSERT_BATCH = 500;

const ident = (name: string) => pg.escapeIdentifier(name);

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(not a URL)';
  }
}

/** A connection error as one line naming the server and what to do. */
function connectionError(url: string, error: unknown): UserError {
  const e = error as NodeJS.ErrnoException & { code?: string };
  const why = e.code === 'ECONNREFUSED' ? 'connection refused (is the server running? bash scripts/postgres.sh start)'
    : e.code === 'ENOTFOUND' ? 'no such host'
      : e.code === '28P01' || e.code === '28000' ? 'authentication failed'
        : e.code === '3D000' ? 'no such database' : e.message;
  return new UserError(`${redactUrl(url)}: ${why}`);
}

function checkUrl(url: string): string {
  if (!/^postgres(ql)?:\/\//.test(url)) throw new UserError(`--database: expected a URL postgres://USER@HOST:PORT/DATABASE, got ${JSON.stringify(redactUrl(url))}`);
  return url;
}

/** A vector as pgvector's text input: '[x,y,...]' (every float32 round-trips exactly through its shortest decimal). */
const literal = (v: ArrayLike<number>) => `[${Array.from(v).join(',')}]`;

const itemsTable = (name: string) => `xmodal_items_${checkTableName(name)}`;

export class PgCollection implements Collection {
  private readonly table: string;
  private readonly settings: PgvectorSettings;
  /** Modalities whose column has an HNSW index (the others are searched exactly). */
  private readonly graphs: Set<string>;

  private constructor(private readonly pool: pg.Pool, private readonly url: string, readonly name: string, readonly manifest: IndexManifest) {
    this.table = ident(itemsTable(name));
    this.settings = manifest.pgvector ?? pgvectorDefaults;
    this.graphs = new Set(manifest.modalities.filter(() => manifest.dim <= HNSW_MAX_DIM[this.settings.type]).map((m) => m.name));
  }

  get modalities(): string[] {
    return this.manifest.modalities.map((m) => m.name);
  }

  private static pool(url: string, efSearch: number): pg.Pool {
    // Settings every connection starts with: hnsw.* are pgvector's (placeholders until the library loads).
    const pool = new pg.Pool({ connectionString: checkUrl(url), max: 8, options: `-c hnsw.ef_search=${efSearch} -c hnsw.iterative_scan=strict_order` });
    // An idle connection dropped by the server (a restart) must not take the process down; the next query reconnects.
    pool.on('error', (error) => console.error(`xmodal: warning: a database connection failed (${error.message}); it will be reopened`));
    return pool;
  }

  /** Opens the index `name` stored in the database at `url`; `efSearch` overrides the one it was built with. */
  static async open(url: string, name: string, options: { efSearch?: number } = {}): Promise<PgCollection> {
    checkTableName(name);
    const probe = PgCollection.pool(url, pgvectorDefaults.efSearch);
    let row: { manifest: unknown } | undefined;
    try {
      const exists = await probe.query(`SELECT to_regclass($1) IS NOT NULL AS ok`, [REGISTRY]);
      if (exists.rows[0].ok) row = (await probe.query(`SELECT manifest FROM ${REGISTRY} WHERE name = $1`, [name])).rows[0];
    } catch (error) {
      throw connectionError(url, error);
    } finally {
      await probe.end();
    }
    if (!row) throw new UserError(`${redactUrl(url)}: no index '${name}' in this database (build it with xmodal index RUN --engine pgvector --database URL --name ${name})`);
    const parsed = IndexManifestSchema.safeParse(row.manifest);
    if (!parsed.success) throw new UserError(`${redactUrl(url)}: index '${name}': its manifest is not one this version reads (${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message})`);
    const manifest = { ...parsed.data, pgvector: { ...(parsed.data.pgvector ?? pgvectorDefaults), ...(options.efSearch ? { efSearch: options.efSearch } : {}) } };
    return new PgCollection(PgCollection.pool(url, manifest.pgvector.efSearch), url, name, manifest);
  }

  /**
   * Creates the index `name` in the database from `items` in one transaction: the tables, the rows, the HNSW and
   * label indexes and the registry row commit together, so a failed build leaves nothing behind. An existing
   * index of that name is refused unless `force` (then replaced in the same transaction).
   */
  static async create(url: string, name: string, manifest: Omit<IndexManifest, 'items' | 'created' | 'engine' | 'pgvector'>, items: Iterable<NewItem>, options: { force?: boolean; settings?: PgvectorSettings } = {}): Promise<PgCollection> {
    checkTableName(name);
    const settings = options.settings ?? pgvectorDefaults;
    const full: IndexManifest = { ...manifest, engine: 'pgvector', pgvector: settings, items: 0, created: new Date().toISOString() };
    const pool = PgCollection.pool(url, settings.efSearch);
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      await pool.end();
      throw connectionError(url, error);
    }
    const collection = new PgCollection(pool, url, name, full);
    const table = ident(itemsTable(name));
    try {
      await client.query('BEGIN');
      try {
        await client.query('CREATE EXTENSION IF NOT EXISTS vector');
      } catch (error) {
        throw new UserError(`${redactUrl(url)}: pgvector is not available on that server (${(error as Error).message}); install it (bash scripts/postgres.sh install) or ask its administrator to`);
      }
      await client.query(`CREATE TABLE IF NOT EXISTS ${REGISTRY} (name text PRIMARY KEY, manifest jsonb NOT NULL, items bigint NOT NULL)`);
      // Two builds of one name at once: the second waits here and then finds the first's row.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`xmodal:${name}`]);
      const existing = await client.query(`SELECT 1 FROM ${REGISTRY} WHERE name = $1`, [name]);
      if (existing.rowCount && !options.force) throw new UserError(`${redactUrl(url)}: index '${name}' exists (use --force to replace it)`);
      await client.query(`DELETE FROM ${REGISTRY} WHERE name = $1`, [name]);
      await client.query(`DROP TABLE IF EXISTS ${table}`);
      const columns = manifest.modalities.map((_, i) => `v${i} ${settings.type}(${manifest.dim})`).join(', ');
      await client.query(`CREATE TABLE ${table} (seq bigserial, id text PRIMARY KEY, labels text[] NOT NULL, metadata jsonb NOT NULL, ${columns})`);
      let count = 0;
      let batch: NewItem[] = [];
      const flush = async () => {
        await collection.insert(client, batch, checkNewItems(full, batch, () => false));
        count += batch.length;
        batch = [];
      };
      for (const item of items) {
        batch.push(item);
        if (batch.length >= INSERT_BATCH) await flush();
      }
      await flush();
      // Graphs after the rows: one build over everything is far faster than inserting into a growing graph.
      for (const [i, m] of manifest.modalities.entries()) {
        if (!collection.graphs.has(m.name)) continue;
        await client.query(`CREATE INDEX ON ${table} USING hnsw (v${i} ${settings.type}_cosine_ops) WITH (m = ${settings.m}, ef_construction = ${settings.efConstruction})`);
      }
      await client.query(`CREATE INDEX ON ${table} USING gin (labels)`);
      // Statistics now, so the planner judges filters' selectivity from the start (not from default guesses).
      await client.query(`ANALYZE ${table}`);
      full.items = count;
      await client.query(`INSERT INTO ${REGISTRY} (name, manifest, items) VALUES ($1, $2, $3)`, [name, JSON.stringify(full), count]);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      client.release();
      await pool.end();
      if (error instanceof UserError) throw error;
      throw new UserError(`${redactUrl(url)}: building index '${name}' failed (${(error as Error).message}); nothing was written`);
    }
    client.release();
    return collection;
  }

  /** Removes the index `name` (tables and registry row) in one transaction; false if there was none. */
  static async drop(url: string, name: string): Promise<boolean> {
    checkTableName(name);
    const pool = PgCollection.pool(url, pgvectorDefaults.efSearch);
    try {
      const client = await pool.connect().catch((error) => { throw connectionError(url, error); });
      try {
        await client.query('BEGIN');
        const exists = await client.query(`SELECT to_regclass($1) IS NOT NULL AS ok`, [REGISTRY]);
        const gone = exists.rows[0].ok ? (await client.query(`DELETE FROM ${REGISTRY} WHERE name = $1`, [name])).rowCount : 0;
        await client.query(`DROP TABLE IF EXISTS ${ident(itemsTable(name))}`);
        await client.query('COMMIT');
        return Boolean(gone);
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    } finally {
      await pool.end();
    }
  }

  /** Inserts items checked by checkNewItems (`checked[i]` is items[i]'s) with `client`, inside the caller's transaction. */
  private async insert(client: pg.PoolClient, items: NewItem[], checked: ReturnType<typeof checkNewItems>): Promise<void> {
    if (!items.length) return;
    const columns = this.manifest.modalities.map((_, i) => `v${i}`);
    const width = 3 + columns.length;
    const params: unknown[] = [];
    const rows = items.map((item, r) => {
      const { row, units } = checked[r]!;
      const vectors = new Map(units);
      params.push(item.id, this.manifest.labelNames.filter((_, c) => row[c]), JSON.stringify(item.metadata));
      for (const m of this.modalities) {
        const v = vectors.get(m);
        params.push(v ? literal(v) : null);
      }
      return `(${Array.from({ length: width }, (_, c) => `$${r * width + c + 1}`).join(', ')})`;
    });
    await client.query(`INSERT INTO ${this.table} (id, labels, metadata, ${columns.join(', ')}) VALUES ${rows.join(', ')}`, params);
  }

  private column(modality: string): string {
    const i = this.modalities.indexOf(modality);
    if (i < 0) throw new UserError(`no modality '${modality}' in this index (modalities: ${this.modalities.join(', ')})`);
    return `v${i}`;
  }

  private async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(sql, params);
    } catch (error) {
      if ((error as { code?: string }).code === 'ECONNREFUSED') throw connectionError(this.url, error);
      throw error;
    }
  }

  /** Runs `work` in one transaction on one connection. */
  private async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const out = await work(client);
      await client.query('COMMIT');
      return out;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  async size(): Promise<number> {
    const r = await this.query<{ items: string }>(`SELECT items FROM ${REGISTRY} WHERE name = $1`, [this.name]);
    if (!r.rows[0]) throw new UserError(`index '${this.name}' was dropped from the database`);
    return Number(r.rows[0].items);
  }

  private presence(): string {
    return this.modalities.map((_, i) => `(v${i} IS NOT NULL) AS p${i}`).join(', ');
  }

  private view(row: Record<string, unknown>): ItemView {
    return {
      id: row.id as string, score: Number.NaN, labels: row.labels as string[], metadata: row.metadata as Record<string, unknown>,
      modalities: this.modalities.filter((_, i) => row[`p${i}`]),
    };
  }

  async item(id: string): Promise<ItemView | undefined> {
    const r = await this.query(`SELECT id, labels, metadata, ${this.presence()} FROM ${this.table} WHERE id = $1`, [id]);
    return r.rows[0] ? this.view(r.rows[0]) : undefined;
  }

  async embeddingOf(id: string, modality: string): Promise<Float32Array> {
    const r = await this.query<{ v: number[] | null }>(`SELECT ${this.column(modality)}::real[] AS v FROM ${this.table} WHERE id = $1`, [id]);
    if (!r.rows[0]) throw new UserError(`no item '${id}' in this index`);
    if (!r.rows[0].v) throw new UserError(`item '${id}' has no ${modality} (it has: ${(await this.item(id))!.modalities.join(', ')})`);
    return Float32Array.from(r.rows[0].v);
  }

  async sample(n: number): Promise<ItemView[]> {
    const r = await this.query(`SELECT id, labels, metadata, ${this.presence()} FROM ${this.table} ORDER BY random() LIMIT $1`, [n]);
    return r.rows.map((row) => this.view(row));
  }

  /** The filter as SQL conditions (AND-ed), with its parameters numbered from `first`. */
  private where(filter: Filter | undefined, first: number): { sql: string; params: unknown[] } {
    const parts: string[] = [];
    const params: unknown[] = [];
    const param = (v: unknown) => {
      params.push(v);
      return `$${first + params.length - 1}`;
    };
    const known = (list: string[] | undefined, field: string) => {
      for (const l of list ?? []) if (!this.manifest.labelNames.includes(l)) throw new UserError(`filter.${field}: unknown label '${l}' (labels: ${this.manifest.labelNames.join(', ')})`);
      return list?.length ? list : undefined;
    };
    const any = known(filter?.labelsAny, 'labelsAny');
    const all = known(filter?.labelsAll, 'labelsAll');
    if (any) parts.push(`labels && ${param(any)}::text[]`);
    if (all) parts.push(`labels @> ${param(all)}::text[]`);
    if (filter?.ids) parts.push(`id = ANY(${param(filter.ids)}::text[])`);
    // Equality of one field's JSON value, as the embedded engines compare (a string never equals a number).
    for (const [k, v] of Object.entries(filter?.metadata ?? {})) parts.push(`metadata -> ${param(k)}::text = ${param(JSON.stringify(v))}::jsonb`);
    return { sql: parts.map((p) => ` AND ${p}`).join(''), params };
  }

  private async nearest(column: string, query: Float32Array, limit: number, where: { sql: string; params: unknown[] }, exact: boolean, withVectors = false): Promise<Array<Record<string, unknown> & { distance: number }>> {
    const sql = `SELECT id, labels, metadata, ${column} <=> $1::${this.settings.type} AS distance${withVectors ? `, ${column}::real[] AS v` : ''} FROM ${this.table} WHERE ${column} IS NOT NULL${where.sql} ORDER BY ${column} <=> $1::${this.settings.type}${exact ? ', seq' : ''} LIMIT ${limit}`;
    const params = [literal(query), ...where.params];
    if (!exact) return (await this.query(sql, params)).rows as never;
    // Exact: no index scans, so the plan is a (bitmap or sequential) scan and a sort over every allowed row.
    return this.transaction(async (client) => {
      await client.query('SET LOCAL enable_indexscan = off');
      return (await client.query(sql, params)).rows as never;
    });
  }

  async search(to: string, queries: Float32Array, o: SearchOptions): Promise<Hit[][]> {
    const dim = this.manifest.dim;
    const column = this.column(to);
    const units = unitQueries(queries, dim);
    const offset = o.offset ?? 0;
    const limit = o.k + offset;
    const where = this.where(o.filter, 2);
    let exact = !this.graphs.has(to);
    if (!exact && where.params.length) {
      const r = await this.query<{ n: string }>(`SELECT count(*) AS n FROM ${this.table} WHERE ${column} IS NOT NULL${this.where(o.filter, 1).sql}`, where.params);
      exact = Number(r.rows[0]!.n) <= EXACT_LIMIT;
    }
    const expanded = o.expand ? await this.expand(to, units, o.expand) : units;
    const out: Hit[][] = [];
    for (let q = 0; q < expanded.length / dim; q++) {
      const query = expanded.subarray(q * dim, (q + 1) * dim);
      let rows = await this.nearest(column, query, limit, where, exact);
      if (rows.length < limit && !exact) rows = await this.nearest(column, query, limit, where, true);
      out.push(rows.slice(offset).map((r) => ({ id: r.id as string, score: 1 - r.distance, labels: r.labels as string[], metadata: r.metadata as Record<string, unknown> })));
    }
    return out;
  }

  /** Query expansion (eval/rerank.ts) over every item of the column: unit query + weight x the mean of its n nearest. */
  private async expand(to: string, units: Float32Array, o: { n: number; weight: number }): Promise<Float32Array> {
    const column = this.column(to);
    const total = Number((await this.query<{ n: string }>(`SELECT count(${column}) AS n FROM ${this.table}`)).rows[0]!.n);
    const n = expansionCount(o.n, total);
    if (n === 0) return units;
    const dim = this.manifest.dim;
    const out = Float32Array.from(units);
    for (let q = 0; q < units.length / dim; q++) {
      const rows = await this.nearest(column, units.subarray(q * dim, (q + 1) * dim), n, { sql: '', params: [] }, !this.graphs.has(to), true);
      for (const r of rows) {
        const v = r.v as number[];
        for (let c = 0; c < dim; c++) out[q * dim + c]! += (o.weight / rows.length) * (v[c] as number);
      }
    }
    return normalizeInPlace(out, dim);
  }

  /** Adds items in one transaction, committed (durable on the server) before the promise resolves. */
  async add(items: NewItem[]): Promise<void> {
    const checked = checkNewItems(this.manifest, items, () => false); // a refused batch is refused before any round trip
    try {
      await this.transaction(async (client) => {
        const taken = await client.query<{ id: string }>(`SELECT id FROM ${this.table} WHERE id = ANY($1::text[]) LIMIT 1`, [items.map((i) => i.id)]);
        if (taken.rows[0]) throw new UserError(`item '${taken.rows[0].id}' already exists`);
        for (let i = 0; i < items.length; i += INSERT_BATCH) await this.insert(client, items.slice(i, i + INSERT_BATCH), checked.slice(i, i + INSERT_BATCH));
        await client.query(`UPDATE ${REGISTRY} SET items = items + $2 WHERE name = $1`, [this.name, items.length]);
      });
    } catch (error) {
      // Two writers adding one id at once: the primary key refuses the second.
      const e = error as { code?: string; detail?: string };
      if (e.code === '23505') throw new UserError(`item '${/\(id\)=\((.*)\)/.exec(e.detail ?? '')?.[1] ?? '?'}' already exists`);
      throw error;
    }
  }

  async remove(id: string): Promise<boolean> {
    return this.transaction(async (client) => {
      const r = await client.query(`DELETE FROM ${this.table} WHERE id = $1`, [id]);
      if (r.rowCount) await client.query(`UPDATE ${REGISTRY} SET items = items - 1 WHERE name = $1`, [this.name]);
      return Boolean(r.rowCount);
    });
  }

  /** Every item with its stored embeddings, in insertion order, a page at a time (xmodal index export). */
  async *entries(page = 2000): AsyncGenerator<NewItem> {
    const vectors = this.modalities.map((_, i) => `v${i}::real[] AS v${i}`).join(', ');
    let after = 0;
    for (;;) {
      const r = await this.query(`SELECT seq, id, labels, metadata, ${vectors} FROM ${this.table} WHERE seq > $1 ORDER BY seq LIMIT ${page}`, [after]);
      for (const row of r.rows) {
        const embeddings: Record<string, Float32Array> = {};
        this.modalities.forEach((m, i) => {
          if (row[`v${i}`]) embeddings[m] = Float32Array.from(row[`v${i}`] as number[]);
        });
        yield { id: row.id, labels: row.labels, metadata: row.metadata, embeddings };
      }
      if (r.rows.length < page) return;
      after = Number(r.rows[r.rows.length - 1]!.seq);
    }
  }

  async stats(): Promise<Record<string, unknown>> {
    const counts = this.modalities.map((_, i) => `count(v${i}) AS v${i}`).join(', ');
    const r = (await this.query(`SELECT ${counts} FROM ${this.table}`)).rows[0]!;
    return {
      items: await this.size(), dim: this.manifest.dim, engine: 'pgvector', table: itemsTable(this.name), bytes: await this.tableBytes(), ...this.settings,
      modalities: Object.fromEntries(this.modalities.map((m, i) => [m, { vectors: Number(r[`v${i}`]), hnsw: this.graphs.has(m) }])),
    };
  }

  /** Bytes the index takes in the database: its table, TOAST and indexes (HNSW graphs included). */
  async tableBytes(): Promise<number> {
    const r = await this.query<{ bytes: string }>(`SELECT pg_total_relation_size($1) AS bytes`, [itemsTable(this.name)]);
    return Number(r.rows[0]!.bytes);
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
