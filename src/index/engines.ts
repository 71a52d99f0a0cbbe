// Vector search engines behind one interface. Both keep every vector (item queries and exact fallbacks need
// them); the HNSW engine adds a usearch graph over the vectors present at build time and searches vectors
// added later exactly until the next optimize().
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Index as Usearch, MetricKind, ScalarKind } from 'usearch';
import { loadNative } from '../engine/native.js';
import { topK, type Scored } from './topk.js';

export type EngineKind = 'exact' | 'hnsw';

export interface HnswSettings {
  connectivity: number;
  expansionAdd: number;
  expansionSearch: number;
  quantization: 'f16' | 'f32' | 'i8';
}

export const hnswDefaults: HnswSettings = { connectivity: 16, expansionAdd: 128, expansionSearch: 64, quantization: 'f16' };

/** Unit-length rows, so that inner products are cosines. */
export function normalizeInPlace(data: Float32Array, dim: number): Float32Array {
  for (let i = 0; i < data.length / dim; i++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += (data[i * dim + j] as number) ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < dim; j++) data[i * dim + j]! *= inv;
  }
  return data;
}

/** Row-major vectors of item slots with a presence flag; grows by doubling. */
export class VectorStore {
  data: Float32Array;
  present: Uint8Array;
  count = 0;
  /** int8 codes of the rows (x ~= code x scale, per row), kept in step once enabled (ExactEngine's first pass). */
  codes: Int8Array | undefined;
  scales: Float32Array | undefined;
  /** Per row, the sum and the L1 norm of its codes (the batched first pass's correction and error bound). */
  codeSums: Int32Array | undefined;
  codeNorms: Int32Array | undefined;
  /** binary16 copies of the rows and their L2 norms, kept in step once enabled (ExactEngine's half pass). */
  halves: Uint16Array | undefined;
  norms: Float32Array | undefined;

  constructor(readonly dim: number, capacity = 1024) {
    this.data = new Float32Array(Math.max(1, capacity) * dim);
    this.present = new Uint8Array(Math.max(1, capacity));
  }

  ensure(slots: number): void {
    if (slots <= this.present.length) return;
    let capacity = this.present.length;
    while (capacity < slots) capacity *= 2;
    const data = new Float32Array(capacity * this.dim);
    data.set(this.data);
    const present = new Uint8Array(capacity);
    present.set(this.present);
    this.data = data;
    this.present = present;
    const grow = <T extends Int8Array | Uint16Array | Int32Array | Float32Array>(a: T, length: number): T => {
      const b = new (a.constructor as new (n: number) => T)(length);
      b.set(a);
      return b;
    };
    if (this.codes && this.scales && this.codeSums && this.codeNorms) {
      this.codes = grow(this.codes, capacity * this.dim);
      this.scales = grow(this.scales, capacity);
      this.codeSums = grow(this.codeSums, capacity);
      this.codeNorms = grow(this.codeNorms, capacity);
    }
    if (this.halves && this.norms) {
      this.halves = grow(this.halves, capacity * this.dim);
      this.norms = grow(this.norms, capacity);
    }
  }

  set(slot: number, vector: Float32Array): void {
    this.ensure(slot + 1);
    this.data.set(vector, slot * this.dim);
    this.present[slot] = 1;
    this.count = Math.max(this.count, slot + 1);
    if (this.codes) this.encode(slot);
    if (this.halves) this.encodeHalves(slot, slot + 1);
  }

  /** Keeps int8 codes of every row from now on. */
  enableCodes(): void {
    if (this.codes) return;
    this.codes = new Int8Array(this.present.length * this.dim);
    this.scales = new Float32Array(this.present.length);
    this.codeSums = new Int32Array(this.present.length);
    this.codeNorms = new Int32Array(this.present.length);
    for (let slot = 0; slot < this.count; slot++) if (this.present[slot]) this.encode(slot);
  }

  /** Keeps binary16 copies of every row from now on; false where the addon cannot make them. */
  enableHalves(): boolean {
    if (this.halves) return true;
    if (!loadNative().kernels?.encodeHalves) return false;
    this.halves = new Uint16Array(this.present.length * this.dim);
    this.norms = new Float32Array(this.present.length);
    this.encodeHalves(0, this.count);
    return true;
  }

  /** Rows [first, last) as halves (absent rows are zeros, so encoding them is harmless). */
  private encodeHalves(first: number, last: number): void {
    const d = this.dim;
    loadNative().kernels!.encodeHalves!(this.data.subarray(first * d, last * d), last - first, d, this.halves!.subarray(first * d, last * d), this.norms!.subarray(first, last));
  }

  /** Row `slot` as codes: scale = max |x| / 127, code = round(x / scale), so |x - code x scale| <= scale / 2. */
  private encode(slot: number): void {
    const row = this.data.subarray(slot * this.dim, (slot + 1) * this.dim);
    let max = 0;
    for (let i = 0; i < this.dim; i++) max = Math.max(max, Math.abs(row[i] as number));
    const scale = max / 127;
    this.scales![slot] = scale;
    const codes = this.codes!;
    let sum = 0;
    let norm = 0;
    for (let i = 0; i < this.dim; i++) {
      const c = scale > 0 ? Math.round((row[i] as number) / scale) : 0;
      codes[slot * this.dim + i] = c;
      sum += c;
      norm += Math.abs(c);
    }
    this.codeSums![slot] = sum;
    this.codeNorms![slot] = norm;
  }

  vector(slot: number): Float32Array | undefined {
    return slot < this.count && this.present[slot] ? this.data.slice(slot * this.dim, (slot + 1) * this.dim) : undefined;
  }
}

/** Cosine scores of q x d queries against every stored slot (q x count). */
function scoreAll(store: VectorStore, queries: Float32Array): Float32Array {
  const q = queries.length / store.dim;
  const n = store.count;
  const out = new Float32Array(q * n);
  const native = loadNative().kernels;
  if (native && n > 0) native.sgemm(false, true, q, n, store.dim, 1, queries, store.dim, store.data, store.dim, 0, out, n);
  else {
    for (let i = 0; i < q; i++) for (let j = 0; j < n; j++) {
      let s = 0;
      for (let d = 0; d < store.dim; d++) s += (queries[i * store.dim + d] as number) * (store.data[j * store.dim + d] as number);
      out[i * n + j] = s;
    }
  }
  return out;
}

export interface Engine {
  readonly kind: EngineKind;
  readonly store: VectorStore;
  /** Makes slots searchable (their vectors are already in the store). */
  added(slots: ArrayLike<number>): void;
  removed(slot: number): void;
  /** k best allowed slots per query (allowed: a mask over slots, already including liveness and presence). */
  search(queries: Float32Array, k: number, allowed: Uint8Array): Scored[][];
  optimize(): void;
  save(dir: string, prefix: string): void;
  stats(): Record<string, number | string>;
}

/** Collections from this size on are scanned through int8 codes first (below it the float32 scan is as quick). */
export const CODED_SCAN_MIN = 16_384;
/** Collections from this size up to CODED_SCAN_MIN are scanned through binary16 copies first (below, in full). */
export const HALF_SCAN_MIN = 1_024;
/**
 * A margin for float32 rounding in both the coded and the exact scores (sums of at most a few thousand products
 * of unit vectors' elements: far below this).
 */
const ROUNDING_MARGIN = 1e-4;

/** q x k hits from the addon, best first, each query's list ending at the first position -1. */
function hitsOf(positions: Int32Array, scores: Float32Array, q: number, k: number): Scored[][] {
  return Array.from({ length: q }, (_, i) => {
    const hits: Scored[] = [];
    for (let j = i * k; j < (i + 1) * k && (positions[j] as number) >= 0; j++) hits.push({ position: positions[j] as number, score: scores[j] as number });
    return hits;
  });
}

export class ExactEngine implements Engine {
  readonly kind: EngineKind = 'exact';
  /** Whether single queries on large collections take the coded first pass (a switch for comparisons). */
  static coded = true;
  /** Queries answered through the codes (tests prove the path is taken). */
  static codedSearches = 0;
  /** Whether single queries on mid-sized collections take the binary16 first pass (a switch for comparisons). */
  static half = true;
  /** Queries answered through the halves, and the rows they scored in float32 (tests and bench read them). */
  static halfSearches = 0;
  static halfCandidates = 0;
  /** Whether batches take the addon's chunked product with top-k on the fly (a switch for comparisons). */
  static fusedBatch = true;
  /** Whether batches on large collections take the int8 first pass where the processor has VNNI (a switch). */
  static codedBatch = true;
  /** Batches answered through the codes, and the candidates they scored in float32 (tests and bench read them). */
  static codedBatches = 0;
  static codedCandidates = 0;
  /** Multiplies the error bound; only a test sets it (to 0, a control showing that without the bound ids go missing). */
  static boundScale = 1;
  constructor(readonly store: VectorStore) {}
  added(): void {}
  removed(): void {}
  optimize(): void {}
  save(): void {}

  /**
   * One query, exactly, with a quarter of the memory traffic: scores from the int8 codes bound each row's true
   * score within +-(scale / 2) x ||q||_1 (+ rounding). The k-th best lower bound L is a floor under the k-th best
   * true score, so every row whose upper bound reaches L is a candidate and no row of the true top k is missed;
   * the candidates are scored again in float32, the same product as the full scan, so ids and scores are those
   * of the full scan. Undefined when the candidates are too many to pay.
   */
  private searchCoded(query: Float32Array, k: number, allowed: Uint8Array): Scored[] | undefined {
    const native = loadNative().kernels;
    const store = this.store;
    const n = store.count;
    const dim = store.dim;
    if (!native?.scanI8 || !native.scanF32) return undefined;
    store.enableCodes();
    const approx = new Float32Array(n);
    native.scanI8(query, store.codes!, store.scales!, n, dim, approx);
    let l1 = 0;
    for (let i = 0; i < dim; i++) l1 += Math.abs(query[i] as number);
    const half = (ExactEngine.boundScale * l1) / 2; // a row's error bound is its scale x half (+ the rounding margin)
    const margin = ExactEngine.boundScale * ROUNDING_MARGIN;
    const scales = store.scales!;
    // L: the k-th best lower bound among allowed rows (a descending buffer of k; most rows fail the first test).
    const best = new Float64Array(k).fill(-Infinity);
    let filled = 0;
    for (let r = 0; r < n; r++) {
      if (!allowed[r]) continue;
      const v = (approx[r] as number) - (scales[r] as number) * half;
      if (v <= (best[k - 1] as number)) continue;
      let p = k - 1;
      while (p > 0 && (best[p - 1] as number) < v) {
        best[p] = best[p - 1] as number;
        p--;
      }
      best[p] = v;
      filled++;
    }
    if (filled < k) return undefined; // fewer than k allowed rows: the plain scan handles it
    const L = (best[k - 1] as number) - margin;
    const candidates: number[] = [];
    for (let r = 0; r < n; r++) {
      if (allowed[r] && (approx[r] as number) + (scales[r] as number) * half + margin >= L) candidates.push(r);
      if (candidates.length > n / 8) return undefined;
    }
    const exact = new Float32Array(candidates.length);
    native.scanF32!(query, store.data, Int32Array.from(candidates), candidates.length, dim, exact);
    ExactEngine.codedSearches++;
    // Candidates are in slot order, so ties still go to the lower slot.
    return topK(exact, k).map((h) => ({ position: candidates[h.position] as number, score: h.score }));
  }

  /**
   * One query, exactly, through binary16 copies of the rows (half the float32 scan's memory traffic): the addon
   * scores the halves, bounds each row's error (native/scan_f16.h: relative, so a few 1e-4 for unit vectors, where
   * the int8 codes' bound takes in most rows when the best scores lie close together), and scores the rows that
   * could still be in the top k again with the full scan's own product. Undefined where the addon cannot.
   */
  private searchHalf(query: Float32Array, k: number, allowed: Uint8Array): Scored[] | undefined {
    const kernel = loadNative().kernels?.searchHalf;
    const store = this.store;
    if (!kernel || !store.enableHalves()) return undefined;
    const positions = new Int32Array(k);
    const scores = new Float32Array(k);
    const scored = kernel(query, store.halves!, store.norms!, store.data, store.count, store.dim, k, allowed,
      ExactEngine.boundScale, ExactEngine.boundScale * ROUNDING_MARGIN, positions, scores);
    if (scored < 0) return undefined;
    ExactEngine.halfSearches++;
    ExactEngine.halfCandidates += scored;
    return hitsOf(positions, scores, 1, k)[0];
  }

  /**
   * A batch through int8 codes of both the rows and the queries (native/batch_coded.h, the bound in its header),
   * each candidate scored again by the single-query product: a batch returns, bit for bit, what its queries return
   * one at a time. Undefined where the addon or the processor cannot.
   */
  private searchBatchCoded(queries: Float32Array, q: number, k: number, allowed: Uint8Array): Scored[][] | undefined {
    const kernel = loadNative().kernels?.searchBatchCoded;
    if (!kernel) return undefined;
    const store = this.store;
    store.enableCodes();
    const n = store.count;
    const kk = Math.min(k, n);
    const positions = new Int32Array(q * kk);
    const best = new Float32Array(q * kk);
    const scored = kernel(queries, q, store.data, store.codes!, store.scales!, store.codeSums!, store.codeNorms!, n, store.dim, kk, allowed,
      ExactEngine.boundScale, ExactEngine.boundScale * ROUNDING_MARGIN, positions, best);
    if (scored < 0) return undefined;
    ExactEngine.codedBatches++;
    ExactEngine.codedCandidates += scored;
    return hitsOf(positions, best, q, kk);
  }

  search(queries: Float32Array, k: number, allowed: Uint8Array): Scored[][] {
    const scanF32 = loadNative().kernels?.scanF32;
    const n = this.store.count;
    if (queries.length === this.store.dim && scanF32) {
      // One query: fixed-order dot products (the same bits however many rows are scored), first through the int8
      // codes where the collection is large, through the binary16 copies where it is mid-sized.
      const hits = k <= 0 ? undefined
        : n >= CODED_SCAN_MIN ? (ExactEngine.coded ? this.searchCoded(queries, k, allowed) : undefined)
          : n >= HALF_SCAN_MIN && ExactEngine.half ? this.searchHalf(queries, k, allowed) : undefined;
      if (hits) return [hits];
      const scores = new Float32Array(n);
      scanF32(queries, this.store.data, null, n, this.store.dim, scores);
      return [topK(scores, k, allowed)];
    }
    const q = queries.length / this.store.dim;
    const coded = ExactEngine.codedBatch && n >= CODED_SCAN_MIN && k > 0 ? this.searchBatchCoded(queries, q, k, allowed) : undefined;
    if (coded) return coded;
    const searchBatch = loadNative().kernels?.searchBatch;
    if (searchBatch && ExactEngine.fusedBatch && k > 0 && n > 0) {
      // Products by chunks of rows with the top-k kept as they go: the q x n score matrix is never written.
      const kk = Math.min(k, n);
      const positions = new Int32Array(q * kk);
      const best = new Float32Array(q * kk);
      searchBatch(queries, q, this.store.data, n, this.store.dim, kk, allowed, positions, best);
      return hitsOf(positions, best, q, kk);
    }
    const scores = scoreAll(this.store, queries);
    return Array.from({ length: q }, (_, i) => topK(scores.subarray(i * n, (i + 1) * n), k, allowed));
  }
  stats() {
    return { engine: 'exact', vectors: this.store.present.subarray(0, this.store.count).reduce((s, p) => s + p, 0) };
  }
}

const quantizations = { f16: ScalarKind.F16, f32: ScalarKind.F32, i8: ScalarKind.I8 } as const;
/** Allowed counts of masks (they do not change once made). */
const counted = new WeakMap<Uint8Array, number>();

export class HnswEngine implements Engine {
  readonly kind: EngineKind = 'hnsw';
  private graph: Usearch;
  /** Slots below this were in the graph when it was built; later ones are searched exactly. */
  private built = 0;
  private readonly exact: ExactEngine;

  constructor(readonly store: VectorStore, readonly settings: HnswSettings = hnswDefaults, graphFile?: string, builtSlots = 0) {
    this.exact = new ExactEngine(store);
    this.graph = this.newGraph();
    if (graphFile && existsSync(graphFile)) {
      this.graph.load(graphFile);
      this.built = builtSlots;
    } else this.optimize();
  }

  private newGraph(): Usearch {
    return new Usearch({
      dimensions: this.store.dim, metric: MetricKind.IP, quantization: quantizations[this.settings.quantization],
      connectivity: this.settings.connectivity, expansion_add: this.settings.expansionAdd, expansion_search: this.settings.expansionSearch, multi: false,
    } as never);
  }

  /** Rebuilds the graph over every present slot. */
  optimize(): void {
    this.graph = this.newGraph();
    const slots: number[] = [];
    for (let s = 0; s < this.store.count; s++) if (this.store.present[s]) slots.push(s);
    if (slots.length) {
      const vectors = new Float32Array(slots.length * this.store.dim);
      slots.forEach((s, i) => vectors.set(this.store.data.subarray(s * this.store.dim, (s + 1) * this.store.dim), i * this.store.dim));
      this.graph.add(BigUint64Array.from(slots, BigInt), vectors, 0);
    }
    this.built = this.store.count;
  }

  added(): void {}

  removed(slot: number): void {
    if (slot < this.built) this.graph.remove(BigInt(slot));
  }

  search(queries: Float32Array, k: number, allowed: Uint8Array): Scored[][] {
    const q = queries.length / this.store.dim;
    // A mask the index reuses (no filter) is counted once.
    let allowedCount = counted.get(allowed);
    if (allowedCount === undefined || allowed.length < this.store.count) {
      allowedCount = 0;
      for (let s = 0; s < this.store.count; s++) allowedCount += allowed[s] as number;
      counted.set(allowed, allowedCount);
    }
    // A narrow filter or a small collection: exact search over the allowed slots is both cheaper and complete.
    if (allowedCount <= Math.max(4 * k, 2048) || this.graph.size() === 0) return this.exact.search(queries, k, allowed);
    const fetch = Math.min(this.graph.size(), Math.max(k * 4, k + 32));
    const late = new Uint8Array(allowed.length);
    for (let s = this.built; s < this.store.count; s++) late[s] = allowed[s] as number;
    const lateHits = this.store.count > this.built ? this.exact.search(queries, k, late) : undefined;
    const out: Scored[][] = [];
    for (let i = 0; i < q; i++) {
      const query = queries.subarray(i * this.store.dim, (i + 1) * this.store.dim);
      const matches = this.graph.search(query, fetch, 0);
      const hits: Scored[] = [];
      for (let j = 0; j < matches.keys.length; j++) {
        const slot = Number(matches.keys[j]);
        if (allowed[slot]) hits.push({ position: slot, score: 1 - (matches.distances[j] as number) });
      }
      if (lateHits) hits.push(...(lateHits[i] as Scored[]));
      hits.sort((a, b) => b.score - a.score || a.position - b.position);
      // Too many candidates filtered out: fall back to exact search for this query, so k results come back.
      out.push(hits.length >= k ? hits.slice(0, k) : (this.exact.search(query, k, allowed)[0] as Scored[]));
    }
    return out;
  }

  save(dir: string, prefix: string): void {
    this.graph.save(join(dir, `${prefix}.hnsw`));
  }

  get builtSlots(): number {
    return this.built;
  }

  stats() {
    return { engine: 'hnsw', vectors: this.store.present.subarray(0, this.store.count).reduce((s, p) => s + p, 0), graph: this.graph.size(), searchedExactly: this.store.count - this.built, quantization: this.settings.quantization };
  }
}
