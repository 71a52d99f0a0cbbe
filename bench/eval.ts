// Evaluation at MIRFlickr size: 20,000 image and 20,000 text embeddings of 1,024-d, real MIRFlickr labels,
// mAP@all (and every other metric) in both directions, against the former path in the same run. #19 asks under 12 s.
import { createRng } from '../src/engine/random.js';
import { evaluateCrossModal } from '../src/eval/crossmodal.js';
import { evaluateRetrieval } from '../src/eval/metrics.js';
import { labelRelevance } from '../src/eval/relevance.js';
import { kReciprocalRescorer } from '../src/eval/k-reciprocal.js';
import { mirflickrLabels } from '../src/data/resources.js';
import { emit, round } from './harness.js';

export async function benchEval(): Promise<void> {
  const n = 20000;
  const d = 1024;
  const source = await mirflickrLabels();
  const C = source.names.length;
  const labels = source.data.subarray(0, n * C);
  const rng = createRng(1);
  const make = () => ({ rows: n, cols: d, data: Float32Array.from({ length: n * d }, () => rng() - 0.5) });
  const image = make();
  const text = make();
  let start = performance.now();
  const result = await evaluateCrossModal({ embeddings: { image, text }, labels, labelNames: source.names }, [['image', 'text'], ['text', 'image']]);
  const ms = performance.now() - start;
  // The former path, side by side: each direction multiplies its own scores, and the metric walk runs in
  // JavaScript after the addon's ranking (a relevance without its native form takes that path).
  const relevance = (from: Uint8Array, to: Uint8Array) => {
    const r = labelRelevance(from, to, C);
    return { fill: r.fill.bind(r), description: r.description };
  };
  start = performance.now();
  const before = [
    await evaluateRetrieval(image, text, relevance(labels, labels)),
    await evaluateRetrieval(text, image, relevance(labels, labels)),
  ];
  const beforeMs = performance.now() - start;
  const same = before[0]!.mAP === result.directions['image->text']!.mAP && before[1]!.mAP === result.directions['text->image']!.mAP;
  emit({
    name: 'eval 20000x20000 1024-d, both directions, all metrics',
    median_ms: round(ms), min_ms: round(ms), runs: 1,
    gemm_gflop: round((2 * n * n * d) / 1e9, 1),
    before_ms: round(beforeMs), before_gemm_gflop: round((2 * 2 * n * n * d) / 1e9, 1), ratio: round(ms / beforeMs, 3),
    map_random: round(result.averageMAP, 4), same_map: same,
  });
}

/**
 * The cost of the re-ranking options per query, against one plain scoring pass, at Wikipedia's test size (693
 * items) and its whole collection (2,866), 1,024-d: k-reciprocal re-ranking (its one-off preparation of the
 * retrieval set's neighbour sets, then per query) with the settings chosen on validation, K1 a share of 0.2.
 */
export async function benchRerank(): Promise<void> {
  const d = 1024;
  const rng = createRng(2);
  for (const n of [693, 2866]) {
    const retrieval = { rows: n, cols: d, data: Float32Array.from({ length: n * d }, () => rng() - 0.5) };
    let t = performance.now();
    const rescore = await kReciprocalRescorer(retrieval, { k1: 0.2, k2: 6, lambda: 0.8 });
    const prepare = performance.now() - t;
    const queries = 50;
    const scores = Float32Array.from({ length: queries * n }, () => rng() * 2 - 1);
    t = performance.now();
    rescore(scores, queries);
    const perQuery = (performance.now() - t) / queries;
    emit({ name: `rerank: k-reciprocal 0.2,6,0.8 over ${n} x ${d}, per query`, median_ms: round(perQuery), min_ms: round(perQuery), runs: queries, prepare_ms: round(prepare, 0), k1: Math.round(0.2 * n) });
  }
}
