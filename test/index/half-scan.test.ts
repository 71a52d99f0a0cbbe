// The exact engine's binary16 first pass (index/engines.ts searchHalf, native/scan_f16.h) returns exactly what the
// float32 scan returns: the same ids in the same order and the same scores, bit for bit, with and without filters,
// for k from 1 to 200, on clustered, random and nearly equal rows, with ties, a NaN row, a row too large for
// binary16 and rows in its subnormal range, before and after writes. A control with the error bound removed
// misses true neighbours, so the comparison can fail.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initEngine } from '../../src/engine/engine.js';
import { loadNative } from '../../src/engine/native.js';
import { createRng, normal } from '../../src/engine/random.js';
import { CODED_SCAN_MIN, ExactEngine, HALF_SCAN_MIN, normalizeInPlace, VectorStore } from '../../src/index/engines.js';

await initEngine({ quiet: true });
const kernels = loadNative().kernels;
const native = Boolean(kernels?.searchHalf && kernels.encodeHalves);
const skip = native ? false : 'native kernels not built';

test('binary16 encoding rounds to nearest even, with subnormals, overflow and NaN', { skip }, () => {
  const cases: Array<[number, number]> = [
    [1, 0x3c00], [-2, 0xc000], [0.1, 0x2e66], [65504, 0x7bff], [65519, 0x7bff], [65520, 0x7c00], [-1e6, 0xfc00],
    [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], // ties go to the even mantissa
    [2 ** -14, 0x0400], [2 ** -24, 0x0001], [2 ** -25, 0x0000], [1.5 * 2 ** -25, 0x0001], [3 * 2 ** -25, 0x0002], [-0, 0x8000],
  ];
  const rows = Float32Array.from([...cases.map(([x]) => x), Number.NaN]);
  const halves = new Uint16Array(rows.length);
  kernels!.encodeHalves!(rows, 1, rows.length, halves, new Float32Array(1));
  cases.forEach(([x, bits], i) => assert.equal(halves[i], bits, `${x}: 0x${halves[i]!.toString(16)}, expected 0x${bits.toString(16)}`));
  assert.equal(halves[cases.length]! & 0x7c00, 0x7c00);
  assert.ok((halves[cases.length]! & 0x3ff) !== 0, 'NaN stays NaN');
  const norms = new Float32Array(2);
  kernels!.encodeHalves!(Float32Array.from([3, 4, 1e5, 0]), 2, 2, new Uint16Array(4), norms);
  assert.ok(norms[0]! >= 5 && norms[0]! < 5.0001, `norm ${norms[0]}`);
  assert.equal(norms[1], Number.POSITIVE_INFINITY, 'a row past binary16 has an unbounded error');
});

type Kind = 'clustered' | 'random' | 'near';

function store(kind: Kind, n: number, dim: number, seed: number): VectorStore {
  const rng = createRng(seed);
  const centres = Array.from({ length: 100 }, () => Float32Array.from({ length: dim }, () => normal(rng)));
  const base = Float32Array.from({ length: dim }, () => normal(rng));
  const s = new VectorStore(dim, 16); // small capacity: the rows below grow it (and its halves) several times
  for (let r = 0; r < n; r++) {
    // near: every row within about 1e-3 of one direction, so the best scores differ in the 4th-6th digit, below
    // what binary16 resolves
    const v = kind === 'near' ? Float32Array.from(base, (x) => x + 0.02 * normal(rng))
      : kind === 'random' ? Float32Array.from({ length: dim }, () => normal(rng))
        : Float32Array.from(centres[r % 100]!, (x) => x + 0.7 * normal(rng));
    // Every 97th row repeats an earlier one: equal scores, broken by the lower slot.
    s.set(r, r % 97 === 96 ? s.data.slice((r - 50) * dim, (r - 49) * dim) : normalizeInPlace(v, dim));
  }
  return s;
}

function compare(engine: ExactEngine, queries: Float32Array[], ks: number[], masks: Uint8Array[]): number {
  let differ = 0;
  for (const q of queries) {
    for (const k of ks) {
      for (const allowed of masks) {
        ExactEngine.half = false;
        const plain = engine.search(q, k, allowed)[0]!;
        ExactEngine.half = true;
        const half = engine.search(q, k, allowed)[0]!;
        if (JSON.stringify(half) !== JSON.stringify(plain)) differ++;
      }
    }
  }
  return differ;
}

function masks(n: number): Uint8Array[] {
  return [
    new Uint8Array(n).fill(1),
    Uint8Array.from({ length: n }, (_, r) => r % 2),
    Uint8Array.from({ length: n }, (_, r) => (r === 17 || r === n - 1 || r === 900 ? 1 : 0)), // fewer rows than k
  ];
}

test('binary16 first pass: the same ids and scores as the float32 scan, bit for bit', { skip }, () => {
  const n = HALF_SCAN_MIN + 2000;
  assert.ok(n < CODED_SCAN_MIN);
  // 130-d: rows end inside a vector step; 1,024-d: the Wikipedia index's width.
  for (const [kind, dim, seed] of [['clustered', 64, 1], ['random', 130, 2], ['near', 1024, 3], ['clustered', 1024, 4]] as const) {
    const s = store(kind, n, dim, seed);
    const special = (slot: number, v: Float32Array) => s.set(slot, v);
    special(5, Float32Array.from(s.data.subarray(0, dim), (x) => x * 1e7)); // halves overflow: always a candidate
    special(6, Float32Array.from(s.data.subarray(dim, 2 * dim), (x) => x * 1e-5)); // halves mostly subnormal
    special(7, new Float32Array(dim).fill(Number.NaN)); // skipped by both paths
    const rng = createRng(seed + 10);
    const queries = Array.from({ length: 8 }, (_, i) => (i < 3 ? s.data.slice((i * 311 + 20) * dim, (i * 311 + 21) * dim) : normalizeInPlace(Float32Array.from({ length: dim }, () => normal(rng)), dim)));
    queries.push(new Float32Array(dim), Float32Array.from({ length: dim }, (_, i) => (i === 3 ? Number.NaN : 0.1)));
    const engine = new ExactEngine(s);
    const before = ExactEngine.halfSearches;
    assert.equal(compare(engine, queries, [1, 10, 200], masks(n)), 0, `${kind} ${dim}-d`);
    assert.ok(ExactEngine.halfSearches - before >= 40, `the half path answered ${ExactEngine.halfSearches - before} of 60 searches`);
    // Writes after the halves exist: new rows past the capacity (4,096 here) and a rewritten one.
    for (let r = n; r < n + 1200; r++) s.set(r, s.data.slice((r - n + 40) * dim, (r - n + 41) * dim).map((x, i) => x + (i === r % dim ? 0.01 : 0)));
    s.set(30, queries[3]!);
    assert.equal(compare(engine, queries.slice(2, 5), [1, 10], masks(n + 1200)), 0, `${kind} ${dim}-d after writes`);
  }
});

test('binary16 first pass scores few rows again in float32', { skip }, () => {
  const s = store('clustered', 3000, 1024, 6);
  const engine = new ExactEngine(s);
  const before = { searches: ExactEngine.halfSearches, candidates: ExactEngine.halfCandidates };
  const all = new Uint8Array(s.count).fill(1);
  for (let i = 0; i < 20; i++) engine.search(s.data.slice(i * 7 * 1024, (i * 7 + 1) * 1024), 10, all);
  const per = (ExactEngine.halfCandidates - before.candidates) / (ExactEngine.halfSearches - before.searches);
  assert.ok(per < 100, `${per} rows scored again per query`);
});

test('binary16 first pass: rows whose halves round against their true order', { skip }, () => {
  // Around 0.125 binary16 steps by u = 2^-13. Row A's first 32 elements lie just below a midpoint (they round down,
  // by u / 2), row B's just above it (round up); A's last 32 are 5u above B's. For q = (1 x 32, 0.1 x 32), A's true
  // score is higher by 16u - 64e (e = 0.001u), but its halves score 16u lower: only the error bound (about 55u for
  // the pair) keeps A among the candidates. A bound a quarter as large misses it.
  const dim = 64;
  const u = 2 ** -13;
  const e = 0.001 * u;
  const rowA = Float32Array.from({ length: dim }, (_, i) => (i < 32 ? 0.125 + 0.5 * u - e : 0.125 + 5 * u));
  const rowB = Float32Array.from({ length: dim }, (_, i) => (i < 32 ? 0.125 + 0.5 * u + e : 0.125));
  const q = Float32Array.from({ length: dim }, (_, i) => (i < 32 ? 1 : 0.1));
  const s = new VectorStore(dim, 16);
  const rng = createRng(7);
  for (let r = 0; r < HALF_SCAN_MIN + 100; r++) s.set(r, normalizeInPlace(Float32Array.from({ length: dim }, () => normal(rng)), dim));
  s.set(10, rowB);
  s.set(900, rowA);
  const engine = new ExactEngine(s);
  const all = new Uint8Array(s.count).fill(1);
  ExactEngine.half = false;
  const plain = engine.search(q, 1, all)[0]!;
  ExactEngine.half = true;
  assert.equal(plain[0]!.position, 900, 'A is the true best');
  assert.deepEqual(engine.search(q, 1, all)[0], plain);
  ExactEngine.boundScale = 1 / 4;
  try {
    assert.notEqual(engine.search(q, 1, all)[0]![0]!.position, 900, 'control: a quarter of the bound loses A');
  } finally {
    ExactEngine.boundScale = 1;
  }
});

test('control: without the error bound the first pass misses true neighbours', { skip }, () => {
  const s = store('near', HALF_SCAN_MIN + 500, 256, 5);
  const rng = createRng(5);
  const queries = Array.from({ length: 20 }, () => normalizeInPlace(Float32Array.from({ length: 256 }, () => normal(rng)), 256));
  ExactEngine.boundScale = 0;
  try {
    assert.ok(compare(new ExactEngine(s), queries, [50], [new Uint8Array(s.count).fill(1)]) > 0);
  } finally {
    ExactEngine.boundScale = 1;
  }
});
