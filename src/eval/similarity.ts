// Query-versus-retrieval scores in blocks of queries, so memory stays O(block x N). Higher is better for every
// distance: cosine similarity, dot product, or minus the squared euclidean distance (same order as euclidean).
// Products go through the native sgemm when the addon is loaded, else a plain float64 loop (slow but exact).
import { loadNative } from '../engine/native.js';

export type Distance = 'cosine' | 'dot' | 'euclidean';

export interface Matrix32 {
  rows: number;
  cols: number;
  data: Float32Array;
}

function rowNorms(m: Matrix32): Float64Array {
  const out = new Float64Array(m.rows);
  for (let i = 0; i < m.rows; i++) {
    let s = 0;
    for (let j = 0; j < m.cols; j++) { const v = m.data[i * m.cols + j] as number; s += v * v; }
    out[i] = s;
  }
  return out;
}

/** Rows scaled to unit length; all-zero rows stay zero (their cosine with anything is taken as 0). */
export function normalizeRows(m: Matrix32): Matrix32 {
  const norms = rowNorms(m);
  const data = new Float32Array(m.data.length);
  for (let i = 0; i < m.rows; i++) {
    const n = Math.sqrt(norms[i] as number);
    const inv = n > 0 ? 1 / n : 0;
    for (let j = 0; j < m.cols; j++) data[i * m.cols + j] = (m.data[i * m.cols + j] as number) * inv;
  }
  return { rows: m.rows, cols: m.cols, data };
}

/**
 * Calls `onBlock(start, count, scores)` for consecutive blocks of queries; `scores` is count x R row-major and
 * its buffer is reused (copy what you keep). With the addon, the next block is multiplied on a worker thread
 * while `onBlock` handles the current one; with `overlap: false` (for an onBlock that itself runs on every core)
 * each block is multiplied on every core in turn, since a product beside a busy pool gets one core.
 */
export async function forEachScoreBlock(
  query: Matrix32, retrieval: Matrix32, distance: Distance, blockSize: number,
  onBlock: (start: number, count: number, scores: Float32Array) => void,
  options: { native?: boolean; overlap?: boolean } = {},
): Promise<void> {
  if (query.cols !== retrieval.cols) throw new Error(`query dimension ${query.cols} differs from retrieval dimension ${retrieval.cols}`);
  const q = distance === 'cosine' ? normalizeRows(query) : query;
  const r = distance === 'cosine' ? normalizeRows(retrieval) : retrieval;
  const qNorms = distance === 'euclidean' ? rowNorms(query) : undefined;
  const rNorms = distance === 'euclidean' ? rowNorms(retrieval) : undefined;
  const native = options.native === false ? null : loadNative().kernels;
  const N = r.rows;
  const D = q.cols;
  const rows = Math.min(blockSize, Math.max(q.rows, 1));
  // A second buffer only where the next block is multiplied while this one is handled (fresh pages cost).
  const overlap = native !== null && options.overlap !== false;
  const buffers = [new Float32Array(rows * N), new Float32Array(overlap ? rows * N : 0)];
  const multiply = (start: number, scores: Float32Array): Promise<void> => {
    const count = Math.min(blockSize, q.rows - start);
    const block = q.data.subarray(start * D, (start + count) * D);
    if (native && D > 0 && !overlap) {
      native.sgemm(false, true, count, N, D, 1, block, D, r.data, D, 0, scores, N);
      return Promise.resolve();
    }
    if (native && D > 0) return native.sgemmAsync(false, true, count, N, D, 1, block, D, r.data, D, 0, scores, N);
    for (let i = 0; i < count; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let d = 0; d < D; d++) s += (block[i * D + d] as number) * (r.data[j * D + d] as number);
        scores[i * N + j] = s;
      }
    }
    return Promise.resolve();
  };
  let pending = q.rows > 0 ? multiply(0, buffers[0] as Float32Array) : Promise.resolve();
  for (let start = 0, b = 0; start < q.rows; start += blockSize, b++) {
    await pending;
    const scores = buffers[overlap ? b % 2 : 0] as Float32Array;
    const count = Math.min(blockSize, q.rows - start);
    if (start + blockSize < q.rows) pending = overlap ? multiply(start + blockSize, buffers[(b + 1) % 2] as Float32Array) : Promise.resolve();
    if (qNorms && rNorms) {
      for (let i = 0; i < count; i++) {
        const qn = qNorms[start + i] as number;
        for (let j = 0; j < N; j++) scores[i * N + j] = 2 * (scores[i * N + j] as number) - qn - (rNorms[j] as number);
      }
    }
    onBlock(start, count, scores.subarray(0, count * N));
    if (!overlap && start + blockSize < q.rows) await multiply(start + blockSize, scores);
  }
}

/** Calls onBlock(start, count, scores) for consecutive blocks of `blockSize` queries (evaluateRetrieval's source of scores). */
export type ScoreBlocks = (blockSize: number, onBlock: (start: number, count: number, scores: Float32Array) => void) => Promise<void>;

/**
 * Both directions between two sets of items rank the same score matrix, once by rows and once by columns (cosine,
 * dot product and euclidean are symmetric). This keeps the transpose of the blocks the first direction computed,
 * so the second reads its rows instead of repeating the product: a product of Q x N x D multiply-adds saved for
 * Q x N x 4 bytes of memory (1.6 GB at 20,000 x 20,000; crossmodal.ts caps it).
 */
export class TransposedScores {
  readonly data: Float32Array;
  private readonly native;

  /** `queries` x `items` scores will be added; `data` holds them as items x queries. */
  constructor(readonly queries: number, readonly items: number, options: { native?: boolean } = {}) {
    this.native = options.native === false ? null : loadNative().kernels;
    this.data = new Float32Array(queries * items);
  }

  /** Takes a block of the first direction: rows start .. start + count - 1, each of `items` scores. */
  add = (start: number, count: number, scores: Float32Array): void => {
    const Q = this.queries;
    const N = this.items;
    const out = this.data;
    if (this.native?.transposeBlock) { this.native.transposeBlock(scores, count, N, out, Q, start); return; }
    // Each item's scores land contiguously in its output row; the 16 items of a tile share the cache lines read
    // from the block's rows, which stay in cache across the tile.
    for (let j0 = 0; j0 < N; j0 += 16) {
      const j1 = Math.min(N, j0 + 16);
      for (let j = j0; j < j1; j++) {
        const to = j * Q + start;
        for (let b = 0, from = j; b < count; b++, from += N) out[to + b] = scores[from] as number;
      }
    }
  };

  /** The second direction's blocks (the buffer is handed out as it is: a consumer may rewrite it in place). */
  blocks: ScoreBlocks = async (blockSize, onBlock) => {
    for (let start = 0; start < this.items; start += blockSize) {
      const count = Math.min(blockSize, this.items - start);
      onBlock(start, count, this.data.subarray(start * this.queries, (start + count) * this.queries));
    }
  };
}
