// Feasibility: average query expansion in the target modality, chosen on the carved validation split.
import { loadRun } from './dist/src/runs/load.js';
import { loadSplit, embedSplit } from './dist/src/train/split-data.js';
import { carveValidation } from './dist/src/data/splits.js';
import { evaluateCrossModal } from './dist/src/eval/crossmodal.js';
import { normalizeRows } from './dist/src/eval/similarity.js';
const run = await loadRun(process.argv[2]);
const ds = run.dataset, cfg = run.config;
const carved = carveValidation(ds.split('train'), ds.labels(ds.all()), ds.labelNames.length, cfg.valFraction, cfg.seed);
function expand(q, r, n, alpha) {
  if (n === 0) return q;
  const Q = normalizeRows(q), R = normalizeRows(r), d = q.cols;
  const out = new Float32Array(q.data.length);
  for (let i = 0; i < q.rows; i++) {
    const s = new Float32Array(R.rows);
    for (let j = 0; j < R.rows; j++) { let acc = 0; for (let k = 0; k < d; k++) acc += Q.data[i * d + k] * R.data[j * d + k]; s[j] = acc; }
    const top = Array.from(s.keys()).sort((a, b) => s[b] - s[a]).slice(0, n);
    for (let k = 0; k < d; k++) { let m = 0; for (const j of top) m += R.data[j * d + k]; out[i * d + k] = Q.data[i * d + k] + alpha * m / n; }
  }
  return { rows: q.rows, cols: d, data: out };
}
async function score(idx, n, alpha) {
  const split = loadSplit(ds, idx, ['image', 'text']);
  const { embeddings } = embedSplit(run.method, split);
  const res = {};
  for (const [from, to] of [['image', 'text'], ['text', 'image']]) {
    const r = await evaluateCrossModal({ embeddings: { [from]: expand(embeddings[from], embeddings[to], n, alpha), [to]: embeddings[to] }, labels: split.labels, labelNames: ds.labelNames }, [[from, to]], { ks: [], recallKs: [], curvePoints: 2 });
    res[`${from}->${to}`] = r.directions[`${from}->${to}`].mAP;
  }
  return res;
}
for (const [n, alpha] of [[20, 0.5], [30, 0.5], [30, 1], [50, 1], [50, 2], [100, 1]]) {
  const v = await score(carved.val, n, alpha);
  const t = await score(ds.split('test'), n, alpha);
  console.log(`n=${n} a=${alpha} val ${Object.values(v).map((x) => x.toFixed(4)).join('/')} (${((v['image->text'] + v['text->image']) / 2).toFixed(4)}) test ${Object.values(t).map((x) => x.toFixed(4)).join('/')}`);
}
