// Evaluation at MIRFlickr size: 20,000 image and 20,000 text embeddings of 1,024-d, real MIRFlickr labels,
// mAP@all (and every other metric) in both directions. Target: under 30 s on 2 cores.
import { createRng } from '../src/engine/random.js';
import { evaluateCrossModal } from '../src/eval/crossmodal.js';
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
  const start = performance.now();
  const result = await evaluateCrossModal({ embeddings: { image, text }, labels, labelNames: source.names }, [['image', 'text'], ['text', 'image']]);
  const ms = performance.now() - start;
  emit({
    name: 'eval 20000x20000 1024-d, both directions, all metrics',
    median_ms: round(ms), min_ms: round(ms), runs: 1,
    gemm_gflop: round((2 * 2 * n * n * d) / 1e9, 1),
    map_random: round(result.averageMAP, 4),
  });
}
