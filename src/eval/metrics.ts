// Retrieval metrics from full rankings, each with its convention stated in the result.
// mAP@all follows the official DAGNN/GNN4CMR code (methods.md 2.1): rank the whole retrieval set by cosine,
// AP_i = (1/R_i) sum over relevant ranks k of (relevant in top k)/k, R_i = all relevant items of query i.
import { availableParallelism } from 'node:os';
import { loadNative, type EvaluationPlan } from '../engine/native.js';
import { Ranker } from './ranking.js';
import type { Relevance } from './relevance.js';
import { forEachScoreBlock, type Distance, type Matrix32, type ScoreBlocks } from './similarity.js';

export type MapAtKDenominator = 'retrieved' | 'min-k-r';

export interface RetrievalOptions {
  distance: Distance;
  /** Cut-offs for P@k, mAP@k and NDCG@k. */
  ks: number[];
  mapAtKDenominator: MapAtKDenominator;
  /** Retrieval index to leave out for each query (its own paired item), or -1; the papers keep it. */
  exclude?: Int32Array;
  /** Query labels for per-class AP (multi-hot, `classes` columns). */
  perClass?: { labels: Uint8Array; classes: number; names: string[] };
  /** Recall@K cut-offs for instance-level retrieval. */
  recallKs: number[];
  /**
   * Queries per block of scores; by default 256, or with the addon's pass about 128 MB of scores (up to 4,096
   * rows): OpenBLAS packs the whole retrieval matrix again for every block's product, which at 256 rows of
   * 20,000 x 1,024 took 7% of an evaluation.
   */
  blockSize?: number;
  /** Points of the full precision-recall curve kept in the result. */
  curvePoints: number;
  /** Use the native sgemm (default) or the float64 loop. */
  native?: boolean;
  /** Rewrites a block of scores (count queries x retrieval) in place before ranking: re-ranking (k-reciprocal.ts). */
  rescore?: ((scores: Float32Array, count: number) => void) | undefined;
  /** Where the score blocks come from instead of a product of query and retrieval (the reverse direction's transpose). */
  scoreBlocks?: ScoreBlocks | undefined;
  /** Sees each block of scores before it is re-scored or ranked (to keep it for the reverse direction). */
  onScores?: ((start: number, count: number, scores: Float32Array) => void) | undefined;
}

export const retrievalDefaults: RetrievalOptions = {
  distance: 'cosine', ks: [1, 5, 10, 50, 100], mapAtKDenominator: 'retrieved', recallKs: [1, 5, 10], curvePoints: 101,
};

export interface RetrievalResult {
  conventions: Record<string, string | boolean>;
  queries: { total: number; evaluated: number; withoutRelevant: number };
  retrievalSize: number;
  mAP: number;
  mapAtK: Record<string, number>;
  precisionAtK: Record<string, number>;
  ndcgAtK: Record<string, number>;
  /** Interpolated precision at recall 0, 0.1, ..., 1. */
  pr11: number[];
  /** Mean precision and recall at evenly spaced ranks (the full curve, sampled). */
  prCurve: { rank: number[]; precision: number[]; recall: number[] };
  /** Fraction of queries with a relevant item in the top K; median and mean rank of the first relevant item. */
  recallAtK: Record<string, number>;
  medianRank: number;
  meanRank: number;
  perClassAP?: Record<string, number>;
  /** AP of every query (NaN for a query without relevant items). */
  apPerQuery: Float64Array;
}

export async function evaluateRetrieval(query: Matrix32, retrieval: Matrix32, relevance: Relevance, options: Partial<RetrievalOptions> = {}): Promise<RetrievalResult> {
  const o = { ...retrievalDefaults, ...options };
  const N = retrieval.rows;
  const nq = query.rows;
  const ks = [...new Set(o.ks)].filter((k) => k >= 1).sort((a, b) => a - b);
  // Ranking is the hot loop: the addon ranks a whole block of queries on every core; Ranker is the fallback.
  const native = o.native === false ? null : loadNative().kernels;
  const ranker = new Ranker(N);
  let blockOrder = new Int32Array(0);
  const rel = new Uint8Array(N);
  const grade = new Uint8Array(N);
  const gradeCounts = new Uint32Array(256);
  const ap = new Float64Array(nq).fill(Number.NaN);
  const mapK = new Float64Array(ks.length);
  const precK = new Float64Array(ks.length);
  const ndcgK = new Float64Array(ks.length);
  const idcg = new Float64Array(ks.length);
  const pr11 = new Float64Array(11);
  const firstRanks: number[] = [];
  const recallHits = new Float64Array(o.recallKs.length);
  const hitPrecision = new Float64Array(N);
  const maxK = ks.length ? (ks[ks.length - 1] as number) : 0;
  const gain = Float64Array.from({ length: 256 }, (_, g) => 2 ** g - 1);
  const discount = Float64Array.from({ length: Math.min(maxK, N) + 1 }, (_, r) => (r ? 1 / Math.log2(r + 1) : 0));
  // The precision-recall curve is kept at evenly spaced ranks only.
  const span = Math.max(N - (o.exclude ? 1 : 0), 1);
  const points = Math.max(2, Math.min(o.curvePoints, span));
  const curveRanks = Int32Array.from({ length: points }, (_, p) => Math.max(1, Math.round(1 + (p * (span - 1)) / (points - 1))));
  const precisionSum = new Float64Array(points);
  const recallSum = new Float64Array(points);
  const acc: Accumulators = { precK, mapK, ndcgK, precisionSum, recallSum };
  let evaluated = 0;
  let withoutRelevant = 0;

  // The addon's evaluateRows does a whole query's pass (grades, ranking, walk) on every core; the JavaScript
  // below is the fallback and the reference it is tested against.
  const plan: EvaluationPlan | null = native?.evaluateRows && relevance.native ? {
    n: N, ks: Int32Array.from(ks), minKR: o.mapAtKDenominator === 'min-k-r', curve: curveRanks, gain, discount,
    exclude: o.exclude ?? null, ...relevance.native,
  } : null;
  const stride = 3 + 3 * ks.length + 2 * points + 11;
  let rows = new Float64Array(0);

  const blocks: ScoreBlocks = o.scoreBlocks ?? ((size, onBlock) => forEachScoreBlock(query, retrieval, o.distance, size, onBlock, { ...(o.native === undefined ? {} : { native: o.native }), overlap: !plan }));
  const blockSize = o.blockSize ?? (plan ? Math.max(256, Math.min(4096, Math.floor(2 ** 25 / Math.max(N, 1)))) : 256);
  await blocks(blockSize, (start, count, scores) => {
    o.onScores?.(start, count, scores);
    o.rescore?.(scores, count);
    if (plan && native?.evaluateRows) {
      if (rows.length < count * stride) rows = new Float64Array(count * stride);
      native.evaluateRows(scores, count, start, rows, plan);
      for (let b = 0; b < count; b++) {
        const row = rows.subarray(b * stride, (b + 1) * stride);
        const R = row[0] as number;
        if (R === 0) { withoutRelevant++; continue; }
        evaluated++;
        ap[start + b] = (row[1] as number) / R;
        const first = row[2] as number;
        firstRanks.push(first);
        o.recallKs.forEach((k, i) => { if (first <= k) recallHits[i]!++; });
        let at = 3;
        for (let ki = 0; ki < ks.length; ki++) precK[ki]! += row[at++] as number;
        for (let ki = 0; ki < ks.length; ki++) mapK[ki]! += row[at++] as number;
        for (let ki = 0; ki < ks.length; ki++) ndcgK[ki]! += row[at++] as number;
        for (let c = 0; c < points; c++) precisionSum[c]! += row[at++] as number;
        for (let c = 0; c < points; c++) recallSum[c]! += row[at++] as number;
        for (let level = 0; level <= 10; level++) pr11[level]! += row[at++] as number;
      }
      return;
    }
    if (native) {
      if (blockOrder.length < count * N) blockOrder = new Int32Array(count * N);
      native.rankRows(scores, count, N, blockOrder, availableParallelism());
    }
    for (let b = 0; b < count; b++) {
      const q = start + b;
      relevance.fill(q, rel, grade, gradeCounts);
      const skip = o.exclude ? (o.exclude[q] as number) : -1;
      if (skip >= 0) {
        gradeCounts[grade[skip] as number]!--;
        rel[skip] = 0;
        grade[skip] = 0;
      }
      const R = N - (skip >= 0 ? 1 : 0) - (gradeCounts[0] as number);
      if (R === 0) { withoutRelevant++; continue; }
      evaluated++;
      const order = native ? blockOrder.subarray(b * N, (b + 1) * N) : ranker.rank(scores.subarray(b * N, (b + 1) * N));
      // Ideal DCG at each cut-off: grades in descending order, by counting.
      {
        let rank = 0;
        let ki = 0;
        let acc = 0;
        for (let g = 255; g > 0 && ki < ks.length; g--) {
          for (let c = gradeCounts[g] as number; c > 0 && ki < ks.length; c--) {
            rank++;
            acc += (gain[g] as number) * (discount[rank] as number);
            while (ki < ks.length && rank === ks[ki]) idcg[ki++] = acc;
          }
        }
        for (; ki < ks.length; ki++) idcg[ki] = acc;
      }
      const { apSum, first } = walk(order, rel, grade, skip, R, ks, idcg, o.mapAtKDenominator, curveRanks, gain, discount, hitPrecision, acc);
      ap[q] = apSum / R;
      firstRanks.push(first);
      o.recallKs.forEach((k, i) => { if (first <= k) recallHits[i]!++; });
      // 11-point interpolated precision: the best precision at any recall >= level, which is always at a hit.
      for (let h = R - 2; h >= 0; h--) hitPrecision[h] = Math.max(hitPrecision[h] as number, hitPrecision[h + 1] as number);
      for (let level = 0; level <= 10; level++) {
        const h = Math.max(1, Math.ceil((level / 10) * R - 1e-9));
        pr11[level]! += hitPrecision[h - 1] as number;
      }
    }
  });

  const n = Math.max(evaluated, 1);
  const prCurve = {
    rank: Array.from(curveRanks),
    precision: Array.from(precisionSum, (v) => (evaluated ? v / n : 0)),
    recall: Array.from(recallSum, (v) => (evaluated ? v / n : 0)),
  };
  const sortedFirst = firstRanks.sort((a, b) => a - b);
  const median = sortedFirst.length ? (sortedFirst.length % 2 ? sortedFirst[(sortedFirst.length - 1) / 2]! : (sortedFirst[sortedFirst.length / 2 - 1]! + sortedFirst[sortedFirst.length / 2]!) / 2) : Number.NaN;
  let perClassAP: Record<string, number> | undefined;
  if (o.perClass) {
    const { labels, classes, names } = o.perClass;
    perClassAP = {};
    for (let c = 0; c < classes; c++) {
      let s = 0;
      let m = 0;
      for (let q = 0; q < nq; q++) if (labels[q * classes + c] && !Number.isNaN(ap[q])) { s += ap[q] as number; m++; }
      perClassAP[names[c] ?? `label${c}`] = m ? s / m : Number.NaN;
    }
  }
  let apTotal = 0;
  for (const v of ap) if (!Number.isNaN(v)) apTotal += v;
  const byK = (values: Float64Array) => Object.fromEntries(ks.map((k, i) => [String(k), evaluated ? (values[i] as number) / n : 0]));
  return {
    conventions: {
      distance: o.distance === 'euclidean' ? 'euclidean (ranked by squared distance)' : o.distance,
      ranking: 'by descending similarity over the whole retrieval set; ties broken by retrieval index',
      relevance: relevance.description,
      mAP: 'mAP@all: AP over the whole ranking divided by all relevant items of the query (official DAGNN/GNN4CMR code)',
      mapAtK: o.mapAtKDenominator === 'retrieved' ? 'AP@k divided by the relevant items retrieved within k (DSCMR style)' : 'AP@k divided by min(k, R)',
      ndcg: 'gain 2^grade - 1, discount log2(rank + 1), ideal ranking from all grades',
      pairedItem: o.exclude ? 'each query\'s own paired item is left out' : 'each query\'s own paired item is kept (as in the papers)',
      queriesWithoutRelevant: 'left out of every mean and counted in queries.withoutRelevant',
    },
    queries: { total: nq, evaluated, withoutRelevant },
    retrievalSize: N,
    mAP: evaluated ? apTotal / evaluated : Number.NaN,
    mapAtK: byK(mapK),
    precisionAtK: byK(precK),
    ndcgAtK: byK(ndcgK),
    pr11: Array.from(pr11, (v) => (evaluated ? v / n : 0)),
    prCurve,
    recallAtK: Object.fromEntries(o.recallKs.map((k, i) => [String(k), evaluated ? (recallHits[i] as number) / n : 0])),
    medianRank: median,
    meanRank: sortedFirst.length ? sortedFirst.reduce((a, b) => a + b, 0) / sortedFirst.length : Number.NaN,
    ...(perClassAP ? { perClassAP } : {}),
    apPerQuery: ap,
  };
}

interface Accumulators {
  precK: Float64Array;
  mapK: Float64Array;
  ndcgK: Float64Array;
  precisionSum: Float64Array;
  recallSum: Float64Array;
}

/**
 * One query's pass down its ranking. A top-level function with plain locals: variables captured by a
 * closure live in a heap context, which made this loop three times slower.
 */
function walk(
  order: Int32Array, rel: Uint8Array, grade: Uint8Array, skip: number, R: number, ks: number[], idcg: Float64Array,
  denominatorKind: MapAtKDenominator, curveRanks: Int32Array, gain: Float64Array, discount: Float64Array,
  hitPrecision: Float64Array, acc: Accumulators,
): { apSum: number; first: number } {
  const N = order.length;
  const maxK = ks.length ? (ks[ks.length - 1] as number) : 0;
  const points = curveRanks.length;
  let hits = 0;
  let apSum = 0;
  let dcg = 0;
  let ki = 0;
  let ci = 0;
  let nextK = ks.length ? (ks[0] as number) : Infinity;
  let nextCurve = curveRanks[0] as number;
  let rank = 0;
  let first = 0;
  for (let t = 0; t < N; t++) {
    const j = order[t] as number;
    if (j === skip) continue;
    rank++;
    if (rel[j]) {
      hits++;
      const p = hits / rank;
      apSum += p;
      hitPrecision[hits - 1] = p;
      if (!first) first = rank;
      if (rank <= maxK) dcg += (gain[grade[j] as number] as number) * (discount[rank] as number);
    }
    if (rank === nextK) {
      while (ki < ks.length && ks[ki] === rank) {
        recordCutoff(acc, ki, ks[ki] as number, hits, apSum, dcg, R, idcg, denominatorKind);
        ki++;
      }
      nextK = ki < ks.length ? (ks[ki] as number) : Infinity;
    }
    if (rank === nextCurve) {
      while (ci < points && curveRanks[ci] === rank) {
        acc.precisionSum[ci]! += hits / rank;
        acc.recallSum[ci]! += hits / R;
        ci++;
      }
      nextCurve = ci < points ? (curveRanks[ci] as number) : Infinity;
    }
    // Past the last relevant item and every cut-off, the rest follows in closed form.
    if (hits === R && rank >= maxK) break;
  }
  for (; ci < points; ci++) {
    acc.precisionSum[ci]! += R / (curveRanks[ci] as number);
    acc.recallSum[ci]! += 1;
  }
  // Cut-offs beyond the list length count the whole list.
  for (; ki < ks.length; ki++) recordCutoff(acc, ki, ks[ki] as number, hits, apSum, dcg, R, idcg, denominatorKind);
  return { apSum, first };
}

function recordCutoff(acc: Accumulators, ki: number, k: number, hits: number, apSum: number, dcg: number, R: number, idcg: Float64Array, denominatorKind: MapAtKDenominator): void {
  acc.precK[ki]! += hits / k;
  const denominator = denominatorKind === 'retrieved' ? hits : Math.min(k, R);
  acc.mapK[ki]! += denominator ? apSum / denominator : 0;
  acc.ndcgK[ki]! += idcg[ki]! > 0 ? dcg / idcg[ki]! : 0;
}
