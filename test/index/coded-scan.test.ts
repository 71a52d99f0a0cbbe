// The exact engine's int8 first pass (index/engines.ts searchCoded, native/scan_i8.h) returns exactly what the
// float32 scan returns: the same ids in the same order and the same scores, bit for bit, with and without filters,
// for k from 1 to 200, on clustered and on random vectors with duplicated rows (ties). A control with the error
// bound removed misses true neighbours, so the comparison can fail. Batches through int8 codes of rows and queries
// (native/batch_coded.h) return what their queries return one at a time, bit for bit; the same control applies.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initEngine } from '../../src/engine/engine.js';
import { loadNative } from '../../src/engine/native.js';
import { createRng, normal } from '../../src/engine/random.js';
import { CODED_SCAN_MIN, ExactEngine, normalizeInPlace, VectorStore } from '../../src/index/engines.js';

await initEngine({ quiet: true });
const native = Boolean(loadNative().kernels?.scanI8);

function store(kind: 'clustered' | 'random' | 'offset', n: number, dim: number, seed: number): VectorStore {
  const rng = createRng(seed);
  const centres = Array.from({ length: 200 }, () => Float32Array.from({ length: dim }, () => normal(rng)));
  const s = new VectorStore(dim, n);
  for (let r = 0; r < n; r++) {
    // offset: every row shifted by +2 or -2 along the all-ones direction, so its codes sum far from zero, one way
    // or the other (the batched first pass corrects each row by that sum)
    const v = kind !== 'clustered' ? Float32Array.from({ length: dim }, () => normal(rng) + (kind === 'offset' ? (r % 2 ? 2 : -2) : 0))
      : Float32Array.from(centres[r % 200]!, (x) => x + 0.7 * normal(rng));
    // Every 97th row repeats an earlier one: equal scores, broken by the lower slot.
    s.set(r, r % 97 === 96 ? s.data.slice((r - 50) * dim, (r - 49) * dim) : normalizeInPlace(v, dim));
  }
  return s;
}

function compare(s: VectorStore, queries: Float32Array[], ks: number[], masks: Uint8Array[]) {
  const engine = new ExactEngine(s);
  let differ = 0;
  for (const q of queries) {
    for (const k of ks) {
      for (const allowed of masks) {
        ExactEngine.coded = false;
        const plain = engine.search(q, k, allowed)[0]!;
        ExactEngine.coded = true;
        const coded = engine.search(q, k, allowed)[0]!;
        if (JSON.stringify(coded) !== JSON.stringify(plain)) differ++;
      }
    }
  }
  return differ;
}

test('int8 first pass: the same ids and scores as the float32 scan, bit for bit', { skip: native ? false : 'native kernels not built' }, () => {
  const n = CODED_SCAN_MIN + 3000;
  for (const [kind, dim, seed] of [['clustered', 64, 1], ['random', 48, 2], ['clustered', 130, 3]] as const) {
    const s = store(kind, n, dim, seed);
    const rng = createRng(seed + 10);
    const queries = Array.from({ length: 12 }, (_, i) => (i < 4 ? s.data.slice(i * 311 * dim, (i * 311 + 1) * dim) : normalizeInPlace(Float32Array.from({ length: dim }, () => normal(rng)), dim)));
    const all = new Uint8Array(n).fill(1);
    const half = Uint8Array.from({ length: n }, (_, r) => r % 2);
    const before = ExactEngine.codedSearches;
    assert.equal(compare(s, queries, [1, 10, 200], [all, half]), 0, `${kind} ${dim}-d`);
    assert.ok(ExactEngine.codedSearches - before >= 60, `the coded path answered ${ExactEngine.codedSearches - before} of 72 searches`);
  }
});

test('control: without the error bound the first pass misses true neighbours', { skip: native ? false : 'native kernels not built' }, () => {
  const s = store('random', CODED_SCAN_MIN + 1000, 64, 4);
  const rng = createRng(5);
  const queries = Array.from({ length: 20 }, () => normalizeInPlace(Float32Array.from({ length: 64 }, () => normal(rng)), 64));
  ExactEngine.boundScale = 0;
  try {
    assert.ok(compare(s, queries, [50], [new Uint8Array(s.count).fill(1)]) > 0);
  } finally {
    ExactEngine.boundScale = 1;
  }
});

/** Each query of a batch searched alone through the float32 scan, and the batch through its coded path. */
function compareBatch(s: VectorStore, queries: Float32Array, ks: number[], masks: Uint8Array[]) {
  const engine = new ExactEngine(s);
  const q = queries.length / s.dim;
  let differ = 0;
  for (const k of ks) {
    for (const allowed of masks) {
      const before = ExactEngine.codedBatches;
      const batch = engine.search(queries, k, allowed);
      assert.equal(ExactEngine.codedBatches, before + 1, 'the batch took the coded path');
      ExactEngine.coded = false;
      for (let i = 0; i < q; i++) {
        const alone = engine.search(queries.subarray(i * s.dim, (i + 1) * s.dim), k, allowed)[0]!;
        if (JSON.stringify(batch[i]) !== JSON.stringify(alone)) differ++;
      }
      ExactEngine.coded = true;
    }
  }
  return differ;
}

const vnni = native && (() => {
  const s = store('random', CODED_SCAN_MIN, 16, 9);
  const before = ExactEngine.codedBatches;
  new ExactEngine(s).search(new Float32Array(32).fill(0.25), 1, new Uint8Array(s.count).fill(1));
  return ExactEngine.codedBatches > before;
})();

test('batches through int8 codes: what each query returns alone, bit for bit', { skip: vnni ? false : 'no AVX-512 VNNI or native kernels' }, () => {
  const n = CODED_SCAN_MIN + 3000;
  // 130-d: rows end inside a 64-byte step; 13 queries: the last block of four is partly padding.
  for (const [kind, dim, seed] of [['clustered', 64, 1], ['random', 48, 2], ['clustered', 130, 3], ['offset', 96, 4]] as const) {
    const s = store(kind, n, dim, seed);
    const rng = createRng(seed + 20);
    const queries = new Float32Array(13 * dim);
    // For offset rows, queries orthogonal to the offsets: the rows' true scores ignore them, the uncorrected codes would not.
    const draw = () => {
      const v = Float32Array.from({ length: dim }, () => normal(rng));
      const mean = kind === 'offset' ? v.reduce((a, b) => a + b, 0) / dim : 0;
      return normalizeInPlace(v.map((x) => x - mean), dim);
    };
    for (let i = 0; i < 11; i++) queries.set(i < 4 ? s.data.subarray(i * 311 * dim, (i * 311 + 1) * dim) : draw(), i * dim);
    queries[11 * dim + 3] = Number.NaN; // query 11: a NaN (no hits, alone or batched); query 12: all zeros (ties everywhere)
    const all = new Uint8Array(n).fill(1);
    const half = Uint8Array.from({ length: n }, (_, r) => r % 2);
    const few = Uint8Array.from({ length: n }, (_, r) => (r === 17 || r === n - 1 || r === 9000 ? 1 : 0));
    assert.equal(compareBatch(s, queries, [1, 10, 200], [all, half, few]), 0, `${kind} ${dim}-d`);
  }
});

test('control: batches without the error bound miss true neighbours', { skip: vnni ? false : 'no AVX-512 VNNI or native kernels' }, () => {
  const s = store('random', CODED_SCAN_MIN + 1000, 64, 4);
  const rng = createRng(6);
  const queries = new Float32Array(20 * 64);
  for (let i = 0; i < 20; i++) queries.set(normalizeInPlace(Float32Array.from({ length: 64 }, () => normal(rng)), 64), i * 64);
  ExactEngine.boundScale = 0;
  try {
    assert.ok(compareBatch(s, queries, [50], [new Uint8Array(s.count).fill(1)]) > 0);
  } finally {
    ExactEngine.boundScale = 1;
  }
});
