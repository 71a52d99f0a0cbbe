import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRng } from '../../src/engine/random.js';
import { evaluateCrossModal, evaluateInstances } from '../../src/eval/crossmodal.js';
import { evaluateRetrieval } from '../../src/eval/metrics.js';
import { descendingKey, Ranker } from '../../src/eval/ranking.js';
import { groupRelevance, labelRelevance } from '../../src/eval/relevance.js';
import type { Matrix32 } from '../../src/eval/similarity.js';
import { reference } from './reference.js';
import { loadNative } from '../../src/engine/native.js';

const m32 = (rows: number[][]): Matrix32 => ({ rows: rows.length, cols: rows[0]!.length, data: Float32Array.from(rows.flat()) });

// methods.md 2.3, computed by the official evaluate.py
const L = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 1, 1], [1, 0, 0]];
const I = [[0.9, 0.1, 0.3], [0.2, 0.8, 0.5], [0.4, 0.4, 0.1], [0.1, 0.3, 0.9], [0.6, 0.6, 0.2], [0.3, 0.9, 0.1]];
const T = [[0.1, 0.9, 0.2], [0.8, 0.2, 0.4], [0.3, 0.3, 0.8], [0.7, 0.6, 0.1], [0.2, 0.5, 0.5], [0.9, 0.3, 0.3]];

for (const native of [true, false]) {
  test(`golden mAP of the official code, to 1e-12 (${native ? 'native sgemm' : 'float64 loop'})`, async () => {
    const result = await evaluateCrossModal({ embeddings: { image: m32(I), text: m32(T) }, labels: Uint8Array.from(L.flat()), labelNames: ['a', 'b', 'c'] },
      [['image', 'text'], ['text', 'image']], { native });
    assert.ok(Math.abs(result.directions['image->text']!.mAP - 0.6477314814814814) < 1e-12, String(result.directions['image->text']!.mAP));
    assert.ok(Math.abs(result.directions['text->image']!.mAP - 0.6433333333333333) < 1e-12, String(result.directions['text->image']!.mAP));
    assert.ok(Math.abs(result.averageMAP - (0.6477314814814814 + 0.6433333333333333) / 2) < 1e-12);
  });
}

test('the radix ranking equals a stable sort by descending score, ties by index, NaN last', () => {
  const rng = createRng(5);
  const n = 3000;
  const scores = Float32Array.from({ length: n }, () => Math.round((rng() * 2 - 1) * 50) / 10); // many ties
  scores[7] = Number.NaN;
  scores[8] = -Infinity;
  scores[9] = Infinity;
  scores[10] = -0;
  const expected = Array.from({ length: n }, (_, i) => i).sort((a, b) => descendingKey(scores[a]!) - descendingKey(scores[b]!) || a - b);
  assert.deepEqual(Array.from(new Ranker(n).rank(scores)), expected);
  assert.equal(expected[0], 9);
  assert.equal(expected[n - 1], 7);
  const native = loadNative().kernels;
  if (native) {
    const rows = 5;
    const block = new Float32Array(rows * n);
    for (let r = 0; r < rows; r++) block.set(r % 2 ? scores.map((s) => -s) : scores, r * n);
    const order = new Int32Array(rows * n);
    native.rankRows(block, rows, n, order, 2);
    for (let r = 0; r < rows; r++) assert.deepEqual(Array.from(order.subarray(r * n, (r + 1) * n)), Array.from(new Ranker(n).rank(block.subarray(r * n, (r + 1) * n))), `native row ${r}`);
  }
});

function randomCase(seed: number, nq: number, nr: number, d: number, classes: number, density: number) {
  const rng = createRng(seed);
  const q = Array.from({ length: nq }, () => Array.from({ length: d }, () => rng() * 2 - 1));
  const r = Array.from({ length: nr }, () => Array.from({ length: d }, () => rng() * 2 - 1));
  const ql: number[][] = Array.from({ length: nq }, () => Array.from({ length: classes }, () => (rng() < density ? 1 : 0)));
  const rl: number[][] = Array.from({ length: nr }, () => Array.from({ length: classes }, () => (rng() < density ? 1 : 0)));
  // Float32 inputs for both implementations, so only the arithmetic differs.
  const f = (rows: number[][]) => rows.map((row) => row.map((x) => Math.fround(x)));
  return { q: f(q), r: f(r), ql, rl, classes };
}

for (const distance of ['cosine', 'dot', 'euclidean'] as const) {
  test(`every metric agrees with the float64 reference on random multi-label data (${distance})`, async () => {
    const c = randomCase(distance.length, 37, 53, 6, 5, 0.25);
    const grade = (i: number, j: number) => c.ql[i]!.reduce((s, v, k) => s + v * c.rl[j]![k]!, 0);
    const ref = reference(c.q, c.r, grade, distance);
    for (const denominator of ['retrieved', 'min-k-r'] as const) {
      const got = await evaluateRetrieval(m32(c.q), m32(c.r), labelRelevance(Uint8Array.from(c.ql.flat()), Uint8Array.from(c.rl.flat()), c.classes),
        { distance, ks: [1, 5, 10, 53, 80], mapAtKDenominator: denominator });
      const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} vs ${b}`);
      close(got.mAP, ref.map, 'mAP');
      assert.equal(got.queries.withoutRelevant, ref.withoutRelevant);
      assert.ok(ref.withoutRelevant > 0, 'the case includes queries without relevant items');
      assert.equal(got.queries.evaluated + got.queries.withoutRelevant, 37);
      for (const k of [1, 5, 10, 53, 80]) {
        close(got.mapAtK[k]!, ref.mapAtK(k, denominator), `mAP@${k} ${denominator}`);
        close(got.precisionAtK[k]!, ref.precisionAtK(k), `P@${k}`);
        close(got.ndcgAtK[k]!, ref.ndcgAtK(k), `NDCG@${k}`);
      }
      got.pr11.forEach((v, i) => close(v, ref.pr11[i]!, `pr11[${i}]`));
      got.prCurve.rank.forEach((r, i) => close(got.prCurve.precision[i]!, ref.precisionAtK(r), `curve precision at rank ${r}`));
      for (const k of [1, 5, 10]) close(got.recallAtK[k]!, ref.recallAtK(k), `R@${k}`);
      close(got.medianRank, ref.medianRank, 'median rank');
      assert.ok(Number.isFinite(got.mAP), 'no NaN in the mean');
    }
  });
}

test('excluding the paired item matches the reference; per-class AP averages the queries of each class', async () => {
  const c = randomCase(11, 30, 30, 4, 3, 0.4);
  const grade = (i: number, j: number) => c.ql[i]!.reduce((s, v, k) => s + v * c.rl[j]![k]!, 0);
  const exclude = Array.from({ length: 30 }, (_, i) => i);
  const ref = reference(c.q, c.r, grade, 'cosine', exclude);
  const got = await evaluateRetrieval(m32(c.q), m32(c.r), labelRelevance(Uint8Array.from(c.ql.flat()), Uint8Array.from(c.rl.flat()), 3),
    { exclude: Int32Array.from(exclude), perClass: { labels: Uint8Array.from(c.ql.flat()), classes: 3, names: ['x', 'y', 'z'] } });
  assert.ok(Math.abs(got.mAP - ref.map) < 1e-9);
  const apOf = Array.from(got.apPerQuery);
  const expectedX = apOf.filter((ap, i) => c.ql[i]![0] && !Number.isNaN(ap));
  assert.ok(Math.abs(got.perClassAP!.x! - expectedX.reduce((a, b) => a + b, 0) / expectedX.length) < 1e-12);
  assert.match(String(got.conventions.pairedItem), /left out/);
});

test('a perfect ranking scores 1 everywhere; a random one scores about the base rate', async () => {
  const n = 200;
  const classes = 4;
  const labels = Uint8Array.from({ length: n * classes }, (_, i) => (i % classes === Math.floor(i / classes) % classes ? 1 : 0));
  const perfect = m32(Array.from({ length: n }, (_, i) => Array.from({ length: classes }, (_, c) => (c === i % classes ? 1 : 0))));
  const rel = labelRelevance(labels, labels, classes);
  const best = await evaluateRetrieval(perfect, perfect, rel, { ks: [10, 50] });
  assert.equal(best.mAP, 1);
  assert.equal(best.precisionAtK[50], 1);
  assert.equal(best.ndcgAtK[10], 1);
  assert.deepEqual(best.pr11, new Array(11).fill(1));
  const rng = createRng(2);
  const noise = m32(Array.from({ length: n }, () => Array.from({ length: 16 }, () => rng() - 0.5)));
  const random = await evaluateRetrieval(noise, noise.rows ? m32(Array.from({ length: n }, () => Array.from({ length: 16 }, () => rng() - 0.5))) : noise, rel);
  assert.ok(Math.abs(random.mAP - 0.25) < 0.05, `random mAP ${random.mAP} vs base rate 0.25`);
});

test('queries without any relevant item are counted, not averaged in as NaN', async () => {
  const labels = Uint8Array.from([1, 0, 0, 0, 1, 0]); // item 1 has no label
  const x = m32([[1, 0], [0, 1], [1, 1]]);
  const r = await evaluateRetrieval(x, x, labelRelevance(labels, labels, 2));
  assert.equal(r.queries.withoutRelevant, 1);
  assert.equal(r.queries.evaluated, 2);
  assert.ok(Number.isFinite(r.mAP));
  assert.ok(Number.isNaN(r.apPerQuery[1]));
});

test('Recall@K, median rank and rSum on a hand-checked example', async () => {
  // Two images, each with two captions (groups 0,0,1,1). Scores by dot product.
  const images = m32([[1, 0], [0, 1]]);
  const captions = m32([[0.9, 0.1], [0.2, 0.8], [0.6, 0.5], [0.1, 0.95]]);
  const r = await evaluateInstances(images, [0, 1], captions, [0, 0, 1, 1], { distance: 'dot', recallKs: [1, 2, 3] });
  // image 0 ranks captions 0 (0.9), 2 (0.6), 1 (0.2), 3 (0.1): first own caption at rank 1.
  // image 1 ranks captions 3 (0.95), 1 (0.8), 2 (0.5), 0 (0.1): first own caption (3) at rank 1.
  assert.deepEqual(r.forward.recallAtK, { 1: 1, 2: 1, 3: 1 });
  assert.equal(r.forward.medianRank, 1);
  // caption 0 -> image 0 (0.9 vs 0.1): rank 1; caption 1 -> image 1 (0.8) first, its image 0 at rank 2;
  // caption 2 -> image 0 (0.6) first, its image 1 (0.5) at rank 2; caption 3 -> image 1: rank 1.
  assert.deepEqual(r.backward.recallAtK, { 1: 0.5, 2: 1, 3: 1 });
  assert.equal(r.backward.medianRank, 1.5);
  assert.equal(r.rSum, 100 * (3 + 2.5));
});

test('the addon\'s per-query pass (evaluateRows) gives the JavaScript path\'s figures bit for bit', async (t) => {
  const native = loadNative().kernels;
  if (!native) { t.skip('the addon is not built here'); return; }
  assert.ok(native.evaluateRows, 'the addon exports evaluateRows');
  const rng = createRng(21);
  // Quantised embeddings give tied scores; 40 classes take two bitset words; some queries have no label at all.
  const make = (rows: number) => m32(Array.from({ length: rows }, () => Array.from({ length: 8 }, () => Math.round((rng() * 2 - 1) * 3) / 3)));
  const nq = 300;
  const nr = 700;
  const q = make(nq);
  const r = make(nr);
  for (const classes of [5, 40]) {
    const labels = (rows: number, empty: number) => Uint8Array.from({ length: rows * classes }, (_, i) => (Math.floor(i / classes) % empty === 0 ? 0 : rng() < 0.2 ? 1 : 0));
    const ql = labels(nq, 17);
    const rl = labels(nr, 1000);
    const withNative = labelRelevance(ql, rl, classes);
    // The same relevance without its native form takes the JavaScript walk over the same sgemm scores.
    const jsOnly = { fill: withNative.fill.bind(withNative), description: withNative.description };
    const exclude = Int32Array.from({ length: nq }, (_, i) => (i % 3 === 0 ? -1 : (i * 7) % nr));
    for (const options of [
      { ks: [1, 5, 10, 100, 699, 5000], blockSize: 64 },
      { ks: [3, 50], mapAtKDenominator: 'min-k-r' as const, exclude, curvePoints: 33, blockSize: 300 },
    ]) {
      const a = await evaluateRetrieval(q, r, withNative, options);
      const b = await evaluateRetrieval(q, r, jsOnly, options);
      assert.ok(a.queries.withoutRelevant > 0 && a.queries.evaluated > 0);
      assert.deepStrictEqual(a, b, `${classes} classes, ${JSON.stringify(options.ks)}`);
      // The native pass's own block size (all 300 queries in one block here) changes nothing.
      const { blockSize: _, ...unblocked } = options;
      assert.deepStrictEqual(await evaluateRetrieval(q, r, withNative, unblocked), a, 'default block size');
    }
  }
  // Instance-level relevance (group ids).
  const groups = groupRelevance(Array.from({ length: nq }, (_, i) => i % 250), Array.from({ length: nr }, (_, i) => i % 250));
  const a = await evaluateRetrieval(q, r, groups, { ks: [1, 10] });
  const b = await evaluateRetrieval(q, r, { fill: groups.fill.bind(groups), description: groups.description }, { ks: [1, 10] });
  assert.ok(a.queries.evaluated === nq);
  assert.deepStrictEqual(a, b, 'group relevance');
});

test('both directions from one product equal each direction multiplied on its own', async () => {
  const rng = createRng(33);
  const make = (rows: number) => m32(Array.from({ length: rows }, () => Array.from({ length: 12 }, () => rng() * 2 - 1)));
  const n = 400;
  const classes = 6;
  const labels = Uint8Array.from({ length: n * classes }, () => (rng() < 0.25 ? 1 : 0));
  const input = { embeddings: { image: make(n), text: make(n) }, labels, labelNames: ['a', 'b', 'c', 'd', 'e', 'f'] };
  for (const native of [false, true]) {
    const both = await evaluateCrossModal(input, [['image', 'text'], ['text', 'image']], { native, blockSize: 96 });
    const forward = await evaluateCrossModal(input, [['image', 'text']], { native, blockSize: 96 });
    const backward = await evaluateCrossModal(input, [['text', 'image']], { native, blockSize: 96 });
    // The directions differ, so a block handed to the wrong direction (or not transposed) would show.
    assert.notEqual(forward.directions['image->text']!.mAP, backward.directions['text->image']!.mAP);
    if (!native) {
      // The float64 loop is symmetric by construction: the figures are identical.
      assert.deepStrictEqual(both.directions['image->text'], forward.directions['image->text']);
      assert.deepStrictEqual(both.directions['text->image'], backward.directions['text->image']);
    } else {
      // sgemm need not give A.B^T's transpose bit for bit on every kernel: the figures agree to rounding.
      for (const [k, v] of Object.entries({ ...forward.directions, ...backward.directions })) {
        assert.ok(Math.abs(both.directions[k]!.mAP - v.mAP) < 1e-6, `${k}: ${both.directions[k]!.mAP} vs ${v.mAP}`);
        assert.ok(Math.abs(both.directions[k]!.precisionAtK['10']! - v.precisionAtK['10']!) < 1e-6, k);
      }
    }
  }
});
