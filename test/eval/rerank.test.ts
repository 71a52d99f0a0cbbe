// Query expansion: hand-checked on a small case, n = 0 is plain search, shares of the retrieval set, and a
// control in which expansion changes the ranking (so the n = 0 check is not vacuous).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initEngine } from '../../src/engine/engine.js';
import { createRng, normal } from '../../src/engine/random.js';
import { evaluateCrossModal } from '../../src/eval/crossmodal.js';
import { augmentDatabase, expandQueries, expansionCount } from '../../src/eval/rerank.js';
import type { Matrix32 } from '../../src/eval/similarity.js';

await initEngine({ quiet: true });

const m = (rows: number[][]): Matrix32 => ({ rows: rows.length, cols: rows[0]!.length, data: Float32Array.from(rows.flat()) });

test('hand-checked: each unit query plus weight x the mean of its n nearest unit items', async () => {
  const queries = m([[3, 4], [0, -2]]);
  const items = m([[1, 0], [0, 2], [-1, 0], [0.6, 0.8]]);
  const out = await expandQueries(queries, items, { n: 2, weight: 0.5 });
  // query 1 = (0.6, 0.8): nearest (0.6, 0.8) then (0, 1) -> mean (0.3, 0.9); + 0.5 x that = (0.75, 1.25).
  // query 2 = (0, -1): cosines 0, -1, 0, -0.8: the two zeros, earlier first: (1, 0) and (-1, 0) -> mean (0, 0).
  const expected = [0.75, 1.25, 0, -1];
  out.data.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-6, `[${i}] ${v} vs ${expected[i]}`));
});

test('n = 0 is plain search: the same queries and the same result; a control shows expansion changes it', async () => {
  const rng = createRng(4);
  const n = 60;
  const labels = Uint8Array.from({ length: n * 3 }, (_, i) => (i % 3 === Math.floor(i / 3) % 3 ? 1 : 0));
  const embed = (noise: number) => m(Array.from({ length: n }, (_, i) => Array.from({ length: 8 }, (_, d) => (d === i % 3 ? 1 : 0) + noise * normal(rng))));
  const input = { embeddings: { image: embed(0.9), text: embed(0.9) }, labels, labelNames: ['a', 'b', 'c'] };
  const settings = { ks: [], recallKs: [], curvePoints: 2 };
  const plain = await evaluateCrossModal(input, [['image', 'text']], settings);
  const zero = await evaluateCrossModal(input, [['image', 'text']], { ...settings, queryExpansion: { n: 0, weight: 1 } });
  assert.deepEqual(zero, plain);
  assert.equal(await expandQueries(input.embeddings.image, input.embeddings.text, { n: 0, weight: 1 }), input.embeddings.image);
  const expanded = await evaluateCrossModal(input, [['image', 'text']], { ...settings, queryExpansion: { n: 10, weight: 1 } });
  assert.notEqual(expanded.averageMAP, plain.averageMAP);
});

test('n below 1 is a share of the retrieval set (at least one item); counts are capped; other values refused', () => {
  assert.equal(expansionCount(0.09, 217), 20);
  assert.equal(expansionCount(0.09, 693), 62);
  assert.equal(expansionCount(0.001, 10), 1);
  assert.equal(expansionCount(50, 10), 10);
  assert.equal(expansionCount(0, 10), 0);
  assert.throws(() => expansionCount(1.5, 10), /query expansion n 1.5: a count/);
  assert.throws(() => expansionCount(-1, 10), /a count/);
});

test('database augmentation: hand-checked items (each with itself among its neighbours); n = 0 is plain search', async () => {
  const items = m([[1, 0], [0.6, 0.8], [0, 1]]);
  const out = await augmentDatabase(items, { n: 2, weight: 1 });
  // item 1 = (1, 0): nearest itself then (0.6, 0.8) -> + mean (0.8, 0.4) = (1.8, 0.4); item 3 = (0, 1): itself and (0.6, 0.8) -> (0.3, 1.9).
  const expected = [1.8, 0.4, 0.6 + 0.3, 0.8 + 0.9, 0.3, 1.9];
  out.data.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-6, `[${i}] ${v} vs ${expected[i]}`));
  const rng = createRng(9);
  const n = 40;
  const labels = Uint8Array.from({ length: n * 2 }, (_, i) => (i % 2 === Math.floor(i / 2) % 2 ? 1 : 0));
  const embed = () => m(Array.from({ length: n }, (_, i) => Array.from({ length: 6 }, (_, d) => (d === i % 2 ? 1 : 0) + 0.8 * normal(rng))));
  const input = { embeddings: { image: embed(), text: embed() }, labels, labelNames: ['a', 'b'] };
  const settings = { ks: [], recallKs: [], curvePoints: 2 };
  const plain = await evaluateCrossModal(input, [['image', 'text']], settings);
  assert.deepEqual(await evaluateCrossModal(input, [['image', 'text']], { ...settings, databaseAugmentation: { n: 0, weight: 1 } }), plain);
  const augmented = await evaluateCrossModal(input, [['image', 'text']], { ...settings, databaseAugmentation: { n: 5, weight: 1 } });
  assert.notEqual(augmented.averageMAP, plain.averageMAP, 'a control: augmentation changes the ranking');
});
