// k-reciprocal re-ranking (Zhong et al., "Re-ranking Person Re-identification with k-reciprocal Encoding", CVPR
// 2017), for a query against a retrieval set in the common space, cosine distance d = 1 - cos:
//   N(i, k)   the k nearest of i in {query} U retrieval set, i itself first
//   R(i, k)   = {j in N(i, k + 1) : i in N(j, k + 1)}              (k-reciprocal neighbours)
//   R*(i)     = R(i, k1) U R(j, k1/2) for each j in R(i, k1) whose R(j, k1/2) shares > 2/3 of itself with R(i, k1)
//   V(i)      = exp(-d(i, j)) over j in R*(i), summing to 1; then local query expansion: the mean of V over N(i, k2)
//   d_J(q, g) = 1 - sum_j min(V_qj, V_gj) / sum_j max(V_qj, V_gj)
//   d*(q, g)  = (1 - lambda) d_J(q, g) + lambda d(q, g)
// One departure, so that a query is re-ranked alone (the same in evaluation and in a service): the retrieval
// set's neighbour sets are computed among its own items, once; a query never enters them (in the paper, the
// probe set joins the gallery and all neighbour sets are computed together). Whether g counts the query among its
// k1 + 1 nearest is still decided exactly, against g's own k1-th neighbour distance. The score returned is
// 1 - d*; lambda = 1 (or k1 = 0) is plain cosine.
import { z } from 'zod';
import { topIndices } from './ranking.js';
import { forEachScoreBlock, normalizeRows, type Matrix32 } from './similarity.js';

export const KReciprocalSchema = z.object({
  /** A count, or below 1 a share of the retrieval set (so a choice made on a small validation set carries over). */
  k1: z.number().min(0).refine((n) => n < 1 || Number.isInteger(n), 'a count (1, 2, ...) or a share of the retrieval set (0 < k1 < 1)'),
  k2: z.number().int().min(1),
  lambda: z.number().min(0).max(1),
}).strict();
export type KReciprocal = z.infer<typeof KReciprocalSchema>;

/** A sparse vector: positions (retrieval rows; -1 is the query itself) and weights. */
interface Sparse {
  index: Int32Array;
  value: Float64Array;
}

/** The k nearest rows of each row of `queries` in `retrieval` (cosine), best first, with their distances. */
async function nearest(queries: Matrix32, retrieval: Matrix32, k: number): Promise<{ index: Int32Array; distance: Float64Array }> {
  const index = new Int32Array(queries.rows * k);
  const distance = new Float64Array(queries.rows * k);
  const N = retrieval.rows;
  await forEachScoreBlock(queries, retrieval, 'cosine', 256, (start, count, scores) => {
    for (let b = 0; b < count; b++) {
      const row = scores.subarray(b * N, (b + 1) * N);
      const top = topIndices(row, k);
      for (let t = 0; t < k; t++) {
        index[(start + b) * k + t] = top[t] as number;
        distance[(start + b) * k + t] = 1 - (row[top[t] as number] as number);
      }
    }
  });
  return { index, distance };
}

/** exp(-d) over the members, normalised to sum 1. */
function encode(members: number[], dist: (j: number) => number): Sparse {
  const value = Float64Array.from(members, (j) => Math.exp(-dist(j)));
  const sum = value.reduce((s, v) => s + v, 0);
  for (let i = 0; i < value.length; i++) value[i]! /= sum;
  return { index: Int32Array.from(members), value };
}

/** The mean of sparse vectors (local query expansion); positions -1 (the query) and up. */
function mean(vectors: Sparse[]): Sparse {
  const acc = new Map<number, number>();
  const scale = 1 / vectors.length;
  for (const v of vectors) {
    for (let t = 0; t < v.index.length; t++) {
      const j = v.index[t] as number;
      acc.set(j, (acc.get(j) ?? 0) + (v.value[t] as number) * scale);
    }
  }
  const index = Int32Array.from(acc.keys()).sort();
  return { index, value: Float64Array.from(index, (j) => acc.get(j) as number) };
}

/**
 * Prepares k-reciprocal re-ranking against one retrieval set and returns a function that rewrites a block of
 * query-by-retrieval cosine scores (rows = queries) into 1 - d* in place.
 */
export async function kReciprocalRescorer(retrievalIn: Matrix32, o: KReciprocal): Promise<(scores: Float32Array, count: number) => void> {
  const N = retrievalIn.rows;
  const k1 = Math.min(o.k1 > 0 && o.k1 < 1 ? Math.max(1, Math.round(o.k1 * N)) : o.k1, N - 1);
  if (k1 <= 0 || o.lambda === 1) return () => {};
  const retrieval = normalizeRows(retrievalIn);
  const half = Math.max(1, Math.round(k1 / 2));
  // Each item's k1 + 1 nearest items (itself first).
  const K = k1 + 1;
  const nn = await nearest(retrieval, retrieval, K);
  const neighbours = (g: number, k: number) => Array.from(nn.index.subarray(g * K, g * K + k));
  const radius = Float64Array.from({ length: N }, (_, g) => nn.distance[g * K + k1] as number);
  // Is g among j's k nearest? By distance against j's k-th neighbour; at (near) equality, by j's list itself.
  const inNeighbours = (j: number, g: number, d: number, k: number) => {
    const edge = nn.distance[j * K + k - 1] as number;
    if (Math.abs(d - edge) > 1e-6) return d < edge;
    for (let t = 0; t < k; t++) if (nn.index[j * K + t] === g) return true;
    return false;
  };
  const reciprocal = (g: number, k: number) => {
    const out: number[] = [];
    for (let t = 0; t <= k; t++) {
      const j = nn.index[g * K + t] as number;
      if (inNeighbours(j, g, nn.distance[g * K + t] as number, k + 1)) out.push(j);
    }
    return out;
  };
  const rHalf = Array.from({ length: N }, (_, g) => reciprocal(g, half));
  const expand = (base: number[]): number[] => {
    const inBase = new Set(base);
    const set = new Set(base);
    for (const j of base) {
      if (j < 0) continue;
      const candidate = rHalf[j] as number[];
      let shared = 0;
      for (const x of candidate) if (inBase.has(x)) shared++;
      if (shared > (2 / 3) * candidate.length) for (const x of candidate) set.add(x);
    }
    return [...set];
  };
  const dot = (a: number, b: number) => {
    let s = 0;
    for (let c = 0; c < retrieval.cols; c++) s += (retrieval.data[a * retrieval.cols + c] as number) * (retrieval.data[b * retrieval.cols + c] as number);
    return s;
  };
  // Distances from g: its neighbour list where it has them (members of R* are mostly there), a product otherwise.
  const near = new Float64Array(N).fill(Number.NaN);
  const encoded = Array.from({ length: N }, (_, g) => {
    for (let t = 0; t < K; t++) near[nn.index[g * K + t] as number] = nn.distance[g * K + t] as number;
    const v = encode(expand(reciprocal(g, k1)), (j) => (Number.isNaN(near[j] as number) ? 1 - dot(g, j) : (near[j] as number)));
    for (let t = 0; t < K; t++) near[nn.index[g * K + t] as number] = Number.NaN;
    return v;
  });
  const V = o.k2 > 1 ? Array.from({ length: N }, (_, g) => mean(neighbours(g, Math.min(o.k2, K)).map((j) => encoded[j] as Sparse))) : encoded;
  // Inverted lists (CSR): for each retrieval position j, the items g with V_g[j] > 0 and that weight.
  const offsets = new Int32Array(N + 1);
  for (const v of V) for (const j of v.index) offsets[j + 1]!++;
  for (let j = 0; j < N; j++) offsets[j + 1]! += offsets[j] as number;
  const postItem = new Int32Array(offsets[N] as number);
  const postWeight = new Float64Array(offsets[N] as number);
  const fill = offsets.slice(0, N);
  V.forEach((v, g) => v.index.forEach((j, t) => {
    const at = fill[j]!++;
    postItem[at] = g;
    postWeight[at] = v.value[t] as number;
  }));
  const minSum = new Float64Array(N);

  return (scores, count) => {
    for (let b = 0; b < count; b++) {
      const row = scores.subarray(b * N, (b + 1) * N);
      const top = Array.from(topIndices(row, k1));
      const dist = (j: number) => (j < 0 ? 0 : 1 - (row[j] as number));
      // The query is -1; g counts it among its k1 + 1 nearest when it is closer than g's k1-th neighbour.
      const rq = [-1, ...top.filter((g) => dist(g) < (radius[g] as number))];
      let vq = encode(expand(rq), dist);
      if (o.k2 > 1) vq = mean([vq, ...top.slice(0, Math.min(o.k2, K) - 1).map((g) => V[g] as Sparse)]);
      minSum.fill(0);
      for (let t = 0; t < vq.index.length; t++) {
        const j = vq.index[t] as number;
        if (j < 0) continue; // no retrieval item counts the query in its set
        const w = vq.value[t] as number;
        for (let p = offsets[j] as number, e = offsets[j + 1] as number; p < e; p++) {
          const x = postWeight[p] as number;
          minSum[postItem[p] as number]! += x < w ? x : w;
        }
      }
      for (let g = 0; g < N; g++) {
        const m = minSum[g] as number;
        const jaccard = 1 - m / (2 - m); // both vectors sum to 1, so sum max = 2 - sum min
        row[g] = 1 - ((1 - o.lambda) * jaccard + o.lambda * (1 - (row[g] as number)));
      }
    }
  };
}
