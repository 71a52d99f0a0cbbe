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
 * while `onBlock` handles the current one.
 */
export async function forEachScoreBlock(
  query: Matrix32, retrieval: Matrix32, distance: Distance, blockSize: number,
  onBlock: (start: number, count: number, scores: Float32Array) => void,
  options: { native?: boolean } = {},
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
  const buffers = [new Float32Array(rows * N), new Float32Array(native ? rows * N : 0)];
  const multiply = (start: number, scores: Float32Array): Promise<void> => {
    const count = Math.min(blockSize, q.rows - start);
    const block = q.data.subarray(start * D, (start + count) * D);
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
    const scores = buffers[native ? b % 2 : 0] as Float32Array;
    const count = Math.min(blockSize, q.rows - start);
    if (start + blockSize < q.rows) pending = native ? multiply(start + blockSize, buffers[(b + 1) % 2] as Float32Array) : Promise.resolve();
    if (qNorms && rNorms) {
      for (let i = 0; i < count; i++) {
        const qn = qNorms[start + i] as number;
        for (let j = 0; j < N; j++) scores[i * N + j] = 2 * (scores[i * N + j] as number) - qn - (rNorms[j] as number);
      }
    }
    onBlock(start, count, scores.subarray(0, count * N));
    if (!native && start + blockSize < q.rows) await multiply(start + blockSize, scores);
  }
}
