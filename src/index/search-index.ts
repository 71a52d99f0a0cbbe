// A search index over a trained run: one engine per modality over item slots, with each item's id, labels and
// metadata. Filters (labels any/all, metadata equality, id lists) are applied before top-k.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { decodeNpy, encodeNpy } from '../data/formats/npy.js';
import { UserError } from '../errors.js';
import { syncDirectory, syncFile, writeDirectoryAtomically, writeFileDurably } from '../util/atomic-dir.js';
import { readBytes, readJsonFileAs } from '../util/read-file.js';
import { safeName } from '../util/names.js';
import { expansionCount, QueryExpansionSchema, type QueryExpansion } from '../eval/rerank.js';
import { FeaturizerStateSchema } from '../features/state.js';
import { ensembleHash, isEnsemble } from '../runs/ensemble.js';
import { replayJournal } from './journal.js';
import { ExactEngine, HnswEngine, hnswDefaults, normalizeInPlace, VectorStore, type Engine, type EngineKind, type HnswSettings } from './engines.js';

export const IndexManifestSchema = z.object({
  format: z.literal('xmodal-index'),
  version: z.literal(1),
  /** pgvector: the index lives in PostgreSQL (index/pgvector.ts); this manifest is stored there, never in a directory. */
  engine: z.enum(['exact', 'hnsw', 'pgvector']),
  pgvector: z.object({ type: z.enum(['vector', 'halfvec']), m: z.number().int(), efConstruction: z.number().int(), efSearch: z.number().int() }).optional(),
  hnsw: z.object({ connectivity: z.number(), expansionAdd: z.number(), expansionSearch: z.number(), quantization: z.enum(['f16', 'f32', 'i8']) }),
  dim: z.number().int().positive(),
  modalities: z.array(z.object({ name: safeName, inputDim: z.number().int().positive(), builtSlots: z.number().int().nonnegative(), vocabulary: z.array(z.string()).nullable(), featurizer: FeaturizerStateSchema.nullable().optional() })),
  labelNames: z.array(z.string()),
  run: z.object({ dir: z.string(), method: z.string(), modelSha256: z.string() }),
  dataset: z.object({ name: z.string(), path: z.string() }),
  /** Set when the items were augmented with their same-modality neighbours at build time (eval/rerank.ts). */
  databaseAugmentation: QueryExpansionSchema.optional(),
  items: z.number().int().nonnegative(),
  created: z.string(),
  /** Size and sha256 of every other file of the index, checked when it is loaded (absent in indexes made before). */
  files: z.record(z.string().regex(/^[A-Za-z0-9._-]+$/), z.object({ bytes: z.number().int().nonnegative(), sha256: z.string() })).optional(),
});
export type IndexManifest = z.infer<typeof IndexManifestSchema>;

export const FilterSchema = z.object({
  labelsAny: z.array(z.string()).optional(),
  labelsAll: z.array(z.string()).optional(),
  metadata: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  ids: z.array(z.string()).optional(),
}).strict();
export type Filter = z.infer<typeof FilterSchema>;

export interface Hit {
  id: string;
  score: number;
  labels: string[];
  metadata: Record<string, unknown>;
}

export interface NewItem {
  id: string;
  labels: string[];
  metadata: Record<string, unknown>;
  /** Modality -> common-space embedding. */
  embeddings: Record<string, Float32Array>;
}

/**
 * Checks a batch of new items against an index's manifest before any is stored: known labels (a row per item in
 * the manifest's label order), known modalities, the right dimension, finite non-zero embeddings (unit length
 * after this), ids new to the index (`exists`) and to the batch. One UserError naming the item and field if not.
 */
export function checkNewItems(manifest: IndexManifest, items: NewItem[], exists: (id: string) => boolean): Array<{ row: Uint8Array; units: Array<readonly [string, Float32Array]> }> {
  const labelIndex = new Map(manifest.labelNames.map((n, i) => [n, i]));
  const modalities = manifest.modalities.map((m) => m.name);
  const batchIds = new Set<string>();
  return items.map((item) => {
    if (exists(item.id) || batchIds.has(item.id)) throw new UserError(`item '${item.id}' already exists`);
    batchIds.add(item.id);
    const row = new Uint8Array(manifest.labelNames.length);
    for (const l of item.labels) {
      const c = labelIndex.get(l);
      if (c === undefined) throw new UserError(`item '${item.id}': unknown label '${l}' (labels: ${manifest.labelNames.join(', ')})`);
      row[c] = 1;
    }
    const present = Object.keys(item.embeddings);
    if (!present.length) throw new UserError(`item '${item.id}': no modality given`);
    const units = present.map((m) => {
      const v = item.embeddings[m] as Float32Array;
      if (!modalities.includes(m)) throw new UserError(`no modality '${m}' in this index (modalities: ${modalities.join(', ')})`);
      if (v.length !== manifest.dim) throw new UserError(`item '${item.id}': ${m} embedding has ${v.length} values, the index holds ${manifest.dim}-d`);
      // A NaN or infinite embedding would score NaN against every query and empty their results.
      const unit = normalizeInPlace(Float32Array.from(v), manifest.dim);
      if (!unit.every(Number.isFinite) || unit.every((x) => x === 0)) throw new UserError(`item '${item.id}': the ${m} embedding is not finite or is zero (features out of range?)`);
      return [m, unit] as const;
    });
    return { row, units };
  });
}

/** Query embeddings (q x dim) as unit rows; a zero or non-finite one is refused (it would score every item alike). */
export function unitQueries(queries: Float32Array, dim: number): Float32Array {
  if (queries.length % dim !== 0 || queries.length === 0) throw new UserError(`query vectors must be ${dim}-d embeddings`);
  const normalized = normalizeInPlace(Float32Array.from(queries), dim);
  for (let q = 0; q < normalized.length / dim; q++) {
    // One plain loop: two every() calls with callbacks took 17-21 us per 1,024-d query (this, 7-9 us).
    let finite = true;
    let zero = true;
    for (let i = q * dim; i < (q + 1) * dim; i++) {
      const x = normalized[i] as number;
      finite &&= Number.isFinite(x);
      zero &&= x === 0;
    }
    if (!finite || zero) throw new UserError(`query ${q + 1}: the embedding is not finite or is zero (query features out of range?)`);
  }
  return normalized;
}

export function modelHash(runDir: string): string {
  if (isEnsemble(runDir)) return ensembleHash(runDir, modelHash);
  return createHash('sha256').update(readFileSync(join(runDir, 'best', 'model.bin'))).digest('hex');
}

export class SearchIndex {
  private ids: string[] = [];
  private readonly slotOf = new Map<string, number>();
  private labels: Uint8Array[] = [];
  private metadata: Record<string, unknown>[] = [];
  private live: Uint8Array = new Uint8Array(0);
  readonly engines = new Map<string, Engine>();

  /** Set by load() when the journal's torn last record (a write never acknowledged) was dropped. */
  journalWarning: string | undefined;

  private constructor(readonly manifest: IndexManifest) {}

  static create(manifest: Omit<IndexManifest, 'items' | 'created'>): SearchIndex {
    return new SearchIndex({ ...manifest, items: 0, created: new Date().toISOString() });
  }

  /** Live items, counted as they change (a journal replay adds items one write at a time). */
  private liveCount = 0;

  get size(): number {
    return this.liveCount;
  }

  get modalities(): string[] {
    return this.manifest.modalities.map((m) => m.name);
  }

  private engine(modality: string): Engine {
    const e = this.engines.get(modality);
    if (!e) throw new UserError(`no modality '${modality}' in this index (modalities: ${this.modalities.join(', ')})`);
    return e;
  }

  /**
   * Adds items (embeddings need not be normalised); ids must be new. Searchable at once. All or nothing: every
   * item is checked before the first is added, so a refused batch changes nothing.
   */
  add(items: NewItem[]): void {
    const checked = checkNewItems(this.manifest, items, (id) => this.slotOf.has(id) && Boolean(this.live[this.slotOf.get(id)!]));
    items.forEach((item, k) => {
      const { row, units } = checked[k]!;
      const slot = this.ids.length;
      this.ids.push(item.id);
      this.slotOf.set(item.id, slot);
      this.labels.push(row);
      this.metadata.push(item.metadata);
      if (this.live.length <= slot) {
        const grown = new Uint8Array(Math.max(1024, this.live.length * 2));
        grown.set(this.live);
        this.live = grown;
      }
      this.live[slot] = 1;
      this.liveCount++;
      for (const [m, unit] of units) {
        const engine = this.engine(m);
        engine.store.set(slot, unit);
        engine.added([slot]);
      }
    });
    for (const engine of this.engines.values()) engine.store.ensure(this.ids.length);
    this.manifest.items = this.size;
    this.changes++;
  }

  /** Every live item with its stored (unit) embeddings, in slot order (an export to another engine). */
  *entries(): Generator<NewItem> {
    for (let s = 0; s < this.ids.length; s++) {
      if (!this.live[s]) continue;
      const embeddings: Record<string, Float32Array> = {};
      for (const [m, engine] of this.engines) {
        const v = engine.store.vector(s);
        if (v) embeddings[m] = v;
      }
      const { id, labels, metadata } = this.describe(s, Number.NaN);
      yield { id, labels, metadata, embeddings };
    }
  }

  /** Slots held by deleted items (kept until compact()). */
  get deadSlots(): number {
    return this.ids.length - this.size;
  }

  /**
   * Drops the slots of deleted items: vectors, labels and metadata of live items move down, and an HNSW graph is
   * rebuilt over them. Searches before and after return the same items; slot numbers change.
   */
  compact(): void {
    const keep: number[] = [];
    for (let s = 0; s < this.ids.length; s++) if (this.live[s]) keep.push(s);
    const dim = this.manifest.dim;
    for (const m of this.manifest.modalities) {
      const old = this.engines.get(m.name)!;
      const store = new VectorStore(dim, Math.max(keep.length, 1));
      keep.forEach((s, i) => {
        if (old.store.present[s]) store.set(i, old.store.data.subarray(s * dim, (s + 1) * dim));
      });
      store.count = keep.length;
      this.engines.set(m.name, this.manifest.engine === 'hnsw' ? new HnswEngine(store, this.manifest.hnsw) : new ExactEngine(store));
    }
    this.ids = keep.map((s) => this.ids[s] as string);
    this.labels = keep.map((s) => this.labels[s] as Uint8Array);
    this.metadata = keep.map((s) => this.metadata[s] as Record<string, unknown>);
    this.live = new Uint8Array(Math.max(1024, keep.length)).fill(1, 0, keep.length);
    this.liveCount = keep.length;
    this.changes++;
    this.slotOf.clear();
    this.ids.forEach((id, i) => this.slotOf.set(id, i));
  }

  /** Compacts when deleted items hold more than a quarter of the slots (so they never accumulate without bound). */
  compactIfWasteful(): boolean {
    if (this.deadSlots === 0 || this.deadSlots * 4 <= this.ids.length) return false;
    this.compact();
    return true;
  }

  remove(id: string): boolean {
    const slot = this.slotOf.get(id);
    if (slot === undefined || !this.live[slot]) return false;
    this.live[slot] = 0;
    this.liveCount--;
    this.changes++;
    this.slotOf.delete(id);
    for (const engine of this.engines.values()) if (engine.store.present[slot]) engine.removed(slot);
    this.manifest.items = this.size;
    return true;
  }

  item(id: string): (Hit & { modalities: string[] }) | undefined {
    const slot = this.slotOf.get(id);
    if (slot === undefined || !this.live[slot]) return undefined;
    return { ...this.describe(slot, Number.NaN), modalities: this.modalities.filter((m) => this.engines.get(m)!.store.present[slot]) };
  }

  /** Up to n live items picked at random (starting points for someone new to the collection). */
  sample(n: number, random: () => number = Math.random): Array<Hit & { modalities: string[] }> {
    const slots: number[] = [];
    for (let s = 0; s < this.live.length; s++) if (this.live[s]) slots.push(s);
    for (let i = 0; i < Math.min(n, slots.length); i++) {
      const j = i + Math.floor(random() * (slots.length - i));
      [slots[i], slots[j]] = [slots[j]!, slots[i]!];
    }
    return slots.slice(0, n).map((s) => this.item(this.ids[s] as string)!);
  }

  /** The stored (normalised) embedding of an item in one modality. */
  embeddingOf(id: string, modality: string): Float32Array {
    const slot = this.slotOf.get(id);
    if (slot === undefined || !this.live[slot]) throw new UserError(`no item '${id}' in this index`);
    const v = this.engine(modality).store.vector(slot);
    if (!v) throw new UserError(`item '${id}' has no ${modality} (it has: ${this.item(id)!.modalities.join(', ')})`);
    return v;
  }

  private describe(slot: number, score: number): Hit {
    const row = this.labels[slot] as Uint8Array;
    return { id: this.ids[slot] as string, score, labels: this.manifest.labelNames.filter((_, c) => row[c]), metadata: this.metadata[slot] as Record<string, unknown> };
  }

  /** Bumped by every write: the unfiltered masks below are reused until the next one. */
  private changes = 0;
  private readonly everyone = new Map<string, { changes: number; store: VectorStore; mask: Uint8Array }>();

  /**
   * The mask of slots a search may return: live, present in `modality`, and passing the filter. Without a filter
   * it is the same for every search until the next write, so it is built once then (a scan of every slot that
   * cost about 0.8 ms per query at 100,000 items); engines only read it.
   */
  private allowed(modality: string, filter: Filter | undefined): Uint8Array {
    const store = this.engine(modality).store;
    if (!filter || Object.values(filter).every((v) => v === undefined)) {
      const cached = this.everyone.get(modality);
      if (cached && cached.changes === this.changes && cached.store === store) return cached.mask;
      const mask = this.mask(modality, undefined);
      this.everyone.set(modality, { changes: this.changes, store, mask });
      return mask;
    }
    return this.mask(modality, filter);
  }

  private mask(modality: string, filter: Filter | undefined): Uint8Array {
    const store = this.engine(modality).store;
    const n = this.ids.length;
    const mask = new Uint8Array(Math.max(store.present.length, n));
    const names = new Map(this.manifest.labelNames.map((l, i) => [l, i]));
    const labelIds = (list: string[] | undefined, field: string) => (list ?? []).map((l) => {
      const c = names.get(l);
      if (c === undefined) throw new UserError(`filter.${field}: unknown label '${l}' (labels: ${this.manifest.labelNames.join(', ')})`);
      return c;
    });
    const any = labelIds(filter?.labelsAny, 'labelsAny');
    const all = labelIds(filter?.labelsAll, 'labelsAll');
    const ids = filter?.ids ? new Set(filter.ids) : undefined;
    const meta = filter?.metadata ? Object.entries(filter.metadata) : [];
    for (let s = 0; s < n; s++) {
      if (!this.live[s] || !store.present[s]) continue;
      const row = this.labels[s] as Uint8Array;
      if (any.length && !any.some((c) => row[c])) continue;
      if (all.length && !all.every((c) => row[c])) continue;
      if (ids && !ids.has(this.ids[s] as string)) continue;
      if (meta.length && !meta.every(([k, v]) => (this.metadata[s] as Record<string, unknown>)[k] === v)) continue;
      mask[s] = 1;
    }
    return mask;
  }

  /**
   * Common-space query vectors (q x dim) against one modality: the k best after `offset`, filter applied first.
   * `expand`: query expansion (eval/rerank.ts) over the modality's items, before the filter; n 0 is plain search.
   */
  search(to: string, queries: Float32Array, options: { k: number; offset?: number; filter?: Filter; expand?: QueryExpansion | undefined }): Hit[][] {
    const normalized = unitQueries(queries, this.manifest.dim);
    const offset = options.offset ?? 0;
    const query = options.expand ? this.expand(to, normalized, options.expand) : normalized;
    const hits = this.engine(to).search(query, options.k + offset, this.allowed(to, options.filter));
    return hits.map((list) => list.slice(offset).map((h) => this.describe(h.position, h.score)));
  }

  /** Each unit query plus weight x the mean of its n nearest stored (unit) vectors of `to`. */
  private expand(to: string, queries: Float32Array, o: QueryExpansion): Float32Array {
    const engine = this.engine(to);
    const everyone = this.allowed(to, undefined);
    const n = expansionCount(o.n, everyone.reduce((s, v) => s + v, 0));
    if (n === 0) return queries;
    const dim = this.manifest.dim;
    const out = Float32Array.from(queries);
    engine.search(queries, n, everyone).forEach((list, q) => {
      for (const h of list) {
        const v = engine.store.data.subarray(h.position * dim, (h.position + 1) * dim);
        for (let c = 0; c < dim; c++) out[q * dim + c]! += (o.weight / list.length) * (v[c] as number);
      }
    });
    return normalizeInPlace(out, dim); // scores stay cosines; the ranking is the same either way
  }

  optimize(): void {
    for (const engine of this.engines.values()) engine.optimize();
  }

  stats() {
    return { items: this.size, dim: this.manifest.dim, engine: this.manifest.engine, modalities: Object.fromEntries([...this.engines].map(([m, e]) => [m, e.stats()])) };
  }

  static build(manifest: Omit<IndexManifest, 'items' | 'created'>, items: NewItem[]): SearchIndex {
    const index = SearchIndex.create(manifest);
    for (const m of manifest.modalities) index.engines.set(m.name, new ExactEngine(new VectorStore(manifest.dim, Math.max(items.length, 1))));
    index.add(items);
    if (manifest.engine === 'hnsw') {
      for (const m of manifest.modalities) index.engines.set(m.name, new HnswEngine(index.engines.get(m.name)!.store, manifest.hnsw));
    }
    return index;
  }

  /**
   * Writes the index atomically (a temporary sibling renamed into place) and durably (every file and the rename
   * flushed to disk before the promise resolves). The state is captured synchronously when save() is called, so
   * writes accepted while the files are being written belong to the next save, never half to this one.
   */
  async save(dir: string, force = true): Promise<void> {
    await writeDirectoryAtomically(dir, force, async (tmp) => {
      const n = this.ids.length;
      const files = new Map<string, Uint8Array | string>();
      const graphs: string[] = [];
      const modalities = this.manifest.modalities.map((m) => {
        const engine = this.engines.get(m.name)!;
        files.set(`${m.name}.vectors.npy`, encodeNpy(engine.store.data.slice(0, n * this.manifest.dim), [n, this.manifest.dim]));
        files.set(`${m.name}.present.npy`, encodeNpy(engine.store.present.slice(0, n), [n]));
        // usearch writes its graph file itself: checksummed and flushed below, not written again.
        engine.save(tmp, m.name);
        if (engine instanceof HnswEngine) graphs.push(`${m.name}.hnsw`);
        return { ...m, builtSlots: engine instanceof HnswEngine ? engine.builtSlots : n };
      });
      const labels = new Uint8Array(n * this.manifest.labelNames.length);
      this.labels.forEach((row, i) => labels.set(row, i * row.length));
      files.set('labels.npy', encodeNpy(labels, [n, this.manifest.labelNames.length]));
      files.set('live.npy', encodeNpy(this.live.slice(0, n), [n]));
      files.set('items.jsonl', this.ids.map((id, i) => JSON.stringify({ id, metadata: this.metadata[i] })).join('\n') + (n ? '\n' : ''));
      const checksum = (data: Uint8Array | string) => {
        const bytes = typeof data === 'string' ? Buffer.from(data) : data;
        return { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
      };
      const checksums = Object.fromEntries([
        ...[...files].map(([name, data]) => [name, checksum(data)] as const),
        ...graphs.map((name) => [name, checksum(readFileSync(join(tmp, name)))] as const),
      ]);
      const manifest = JSON.stringify({ ...this.manifest, modalities, items: this.size, files: checksums }, null, 2) + '\n';
      for (const [name, data] of files) await writeFileDurably(join(tmp, name), data);
      for (const name of graphs) syncFile(join(tmp, name));
      await writeFileDurably(join(tmp, 'index.json'), manifest);
    });
    syncDirectory(dirname(resolve(dir)));
  }

  /**
   * Loads an index: its snapshot, every file checked against index.json (sizes, checksums, row counts), one line
   * if not; then its journal replayed (journal.ts).
   */
  static load(dir: string): SearchIndex {
    const path = join(dir, 'index.json');
    if (!existsSync(path)) throw new UserError(`${dir}: not an xmodal index (no index.json)`);
    const manifest = readJsonFileAs(path, IndexManifestSchema);
    if (manifest.engine === 'pgvector') throw new UserError(`${path}: describes an index stored in PostgreSQL; open it with --database URL and its name`);
    const index = new SearchIndex(manifest);
    const bytesOf = (file: string): Buffer => {
      const full = join(dir, file);
      const bytes = readBytes(full, 'the index is incomplete');
      const expected = manifest.files?.[file];
      if (expected && (bytes.length !== expected.bytes || createHash('sha256').update(bytes).digest('hex') !== expected.sha256)) {
        throw new UserError(`${full}: ${bytes.length !== expected.bytes ? `${bytes.length} bytes, index.json says ${expected.bytes}` : 'sha256 differs from index.json'} (the index is corrupt; rebuild it with xmodal index)`);
      }
      return bytes;
    };
    const itemLines = bytesOf('items.jsonl').toString('utf8').split('\n').filter(Boolean);
    const n = itemLines.length;
    const read = (file: string, shape: number[]) => {
      const full = join(dir, file);
      const npy = decodeNpy(bytesOf(file), full);
      if (npy.header.shape.length !== shape.length || npy.header.shape.some((d, i) => d !== shape[i])) {
        throw new UserError(`${full}: shape (${npy.header.shape.join(', ')}), expected (${shape.join(', ')}) for the ${n} items of items.jsonl (the index is corrupt; rebuild it with xmodal index)`);
      }
      return npy.data;
    };
    const lines = itemLines.map((l, i) => {
      try {
        return ItemLineSchema.parse(JSON.parse(l));
      } catch {
        throw new UserError(`${join(dir, 'items.jsonl')}: line ${i + 1} is not {"id": ..., "metadata": {...}} (the index is corrupt)`);
      }
    });
    const C = manifest.labelNames.length;
    const labels = read('labels.npy', [n, C]) as Uint8Array;
    const live = read('live.npy', [n]) as Uint8Array;
    const liveCount = live.reduce((s, l) => s + (l ? 1 : 0), 0);
    if (liveCount !== manifest.items) throw new UserError(`${join(dir, 'live.npy')}: ${liveCount} live items, index.json says ${manifest.items} (the index is corrupt)`);
    index.live = new Uint8Array(Math.max(1024, n));
    index.live.set(live);
    index.liveCount = liveCount;
    lines.forEach((line, i) => {
      index.ids.push(line.id);
      index.metadata.push(line.metadata);
      index.labels.push(labels.slice(i * C, (i + 1) * C));
      if (live[i]) index.slotOf.set(line.id, i);
    });
    for (const m of manifest.modalities) {
      if (m.builtSlots > n) throw new UserError(`${path}: modality ${m.name}: builtSlots ${m.builtSlots} is over the ${n} items (the index is corrupt)`);
      const store = new VectorStore(manifest.dim, Math.max(n, 1));
      store.data.set(read(`${m.name}.vectors.npy`, [n, manifest.dim]) as Float32Array);
      store.present.set(read(`${m.name}.present.npy`, [n]) as Uint8Array);
      store.count = n;
      if (manifest.engine === 'hnsw') bytesOf(`${m.name}.hnsw`);
      index.engines.set(m.name, manifest.engine === 'hnsw'
        ? new HnswEngine(store, manifest.hnsw, join(dir, `${m.name}.hnsw`), m.builtSlots)
        : new ExactEngine(store));
    }
    index.journalWarning = replayJournal(index, dir);
    return index;
  }
}

const ItemLineSchema = z.object({ id: z.string(), metadata: z.record(z.string(), z.unknown()) });

export type { EngineKind, HnswSettings };
export { hnswDefaults };
