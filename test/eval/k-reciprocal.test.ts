// k-reciprocal re-ranking (src/eval/k-reciprocal.ts) against a direct, dense transcription of the paper's
// definitions written here; lambda = 1 and k1 = 0 are plain cosine search; a control shows it re-ranks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRng, normal } from '../../src/engine/random.js';
import { evaluateCrossModal } from '../../src/eval/crossmodal.js';
import { kReciprocalRescorer, type KReciprocal } from '../../src/eval/k-reciprocal.js';
import type { Matrix32 } from '../../src/eval/similarity.js';

const rng = createRng(3);
const unit = (d: number) => {
  const v = Array.from({ length: d }, () => normal(rng));
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};
const dim = 6;
const N = 40;
const gallery = Array.from({ length: N }, () => unit(dim));
const queries = Array.from({ length: 5 }, () => unit(dim));
const matrix = (rows: number[][]): Matrix32 => ({ rows: rows.length, cols: dim, data: Float32Array.from(rows.flat()) });
const cos = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * (b[i] as number), 0);
// Scores as the evaluation computes them (float32), so both sides start from the same numbers.
const f32 = (x: number) => Math.fround(x);

/** The paper's re-ranking for one query, dense over the N gallery positions plus the query (position N). */
function reference(q: number[], o: { k1: number; k2: number; lambda: number }): number[] {
  const s = (i: number, j: number) => f32(cos(gallery[i]!, gallery[j]!));
  const order = (score: (j: number) => number) => Array.from({ length: N }, (_, j) => j).sort((a, b) => score(b) - score(a) || a - b);
  const nn = Array.from({ length: N }, (_, g) => order((j) => s(g, j)));
  const N_ = (g: number, k: number) => nn[g]!.slice(0, k);
  const R = (g: number, k: number) => N_(g, k + 1).filter((j) => N_(j, k + 1).includes(g));
  const half = Math.max(1, Math.round(o.k1 / 2));
  const expand = (base: number[]) => {
    const out = new Set(base);
    for (const j of base) {
      if (j === N) continue;
      const c = R(j, half);
      if (c.filter((x) => base.includes(x)).length > (2 / 3) * c.length) c.forEach((x) => out.add(x));
    }
    return [...out];
  };
  const V = (members: number[], d: (j: number) => number) => {
    const v = new Array<number>(N + 1).fill(0);
    for (const j of members) v[j] = Math.exp(-d(j));
    const sum = v.reduce((a, b) => a + b, 0);
    return v.map((x) => x / sum);
  };
  const meanOf = (vs: number[][]) => vs[0]!.map((_, j) => vs.reduce((a, v) => a + (v[j] as number), 0) / vs.length);
  const raw = Array.from({ length: N }, (_, g) => V(expand(R(g, o.k1)), (j) => 1 - s(g, j)));
  const Vg = Array.from({ length: N }, (_, g) => meanOf(N_(g, Math.min(o.k2, o.k1 + 1)).map((j) => raw[j]!)));
  const sq = (j: number) => (j === N ? 1 : f32(cos(q, gallery[j]!)));
  const top = order(sq).slice(0, o.k1);
  const radius = (g: number) => 1 - s(g, N_(g, o.k1 + 1)[o.k1]!);
  const rq = [N, ...top.filter((g) => 1 - sq(g) < radius(g))];
  const vq = meanOf([V(expand(rq), (j) => 1 - sq(j)), ...top.slice(0, Math.min(o.k2, o.k1 + 1) - 1).map((g) => Vg[g]!)]);
  return Array.from({ length: N }, (_, g) => {
    let mn = 0;
    let mx = 0;
    for (let j = 0; j <= N; j++) {
      mn += Math.min(vq[j]!, Vg[g]![j]!);
      mx += Math.max(vq[j]!, Vg[g]![j]!);
    }
    return 1 - ((1 - o.lambda) * (1 - mn / mx) + o.lambda * (1 - sq(g)));
  });
}

async function rescored(o: KReciprocal): Promise<Float32Array> {
  const rescore = await kReciprocalRescorer(matrix(gallery), o);
  const scores = Float32Array.from(queries.flatMap((q) => gallery.map((g) => f32(cos(q, g)))));
  rescore(scores, queries.length);
  return scores;
}

test('k-reciprocal scores equal a direct transcription of the paper (several k1, k2, lambda)', async () => {
  for (const o of [{ k1: 5, k2: 1, lambda: 0.3 }, { k1: 8, k2: 3, lambda: 0.3 }, { k1: 12, k2: 4, lambda: 0 }, { k1: 0.2, k2: 2, lambda: 0.5 }]) {
    const got = await rescored(o);
    const k1 = o.k1 < 1 ? Math.round(o.k1 * N) : o.k1;
    queries.forEach((q, i) => {
      const want = reference(q, { ...o, k1 });
      for (let g = 0; g < N; g++) assert.ok(Math.abs((got[i * N + g] as number) - (want[g] as number)) < 1e-5, `${JSON.stringify(o)} query ${i} item ${g}: ${got[i * N + g]} vs ${want[g]}`);
    });
  }
});

test('lambda 1 and k1 0 are plain search; otherwise the ranking changes (control)', async () => {
  const plain = Float32Array.from(queries.flatMap((q) => gallery.map((g) => f32(cos(q, g)))));
  assert.deepEqual(await rescored({ k1: 10, k2: 3, lambda: 1 }), plain);
  assert.deepEqual(await rescored({ k1: 0, k2: 3, lambda: 0.3 }), plain);
  const input = { embeddings: { a: matrix(queries), b: matrix(gallery) }, labels: new Uint8Array(0), labelNames: ['x', 'y'], labelsOf: { a: Uint8Array.from(queries.flatMap((_, i) => [i % 2, 1 - (i % 2)])), b: Uint8Array.from(gallery.flatMap((_, i) => [i % 2, 1 - (i % 2)])) } };
  const base = await evaluateCrossModal(input, [['a', 'b']]);
  const same = await evaluateCrossModal(input, [['a', 'b']], { kReciprocal: { k1: 10, k2: 3, lambda: 1 } });
  assert.deepEqual(same.directions['a->b']!.apPerQuery, base.directions['a->b']!.apPerQuery);
  const moved = await evaluateCrossModal(input, [['a', 'b']], { kReciprocal: { k1: 10, k2: 3, lambda: 0.2 } });
  assert.notDeepEqual(moved.directions['a->b']!.apPerQuery, base.directions['a->b']!.apPerQuery);
});
