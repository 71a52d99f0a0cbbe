// The exact engine's batches through the addon's chunked product with top-k on the fly (native/batch_search.h)
// return what the full score matrix + topk.ts return: the same ids in the same order and the same scores, with and
// without filters, for k from 1 to past the collection, across chunk boundaries, with duplicated rows (ties).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initEngine } from '../../src/engine/engine.js';
import { loadNative } from '../../src/engine/native.js';
import { createRng, normal } from '../../src/engine/random.js';
import { ExactEngine, normalizeInPlace, VectorStore } from '../../src/index/engines.js';

await initEngine({ quiet: true });
const native = Boolean(loadNative().kernels?.searchBatch);

test('batched exact search: the chunked product with top-k on the fly equals the full matrix + topK', { skip: native ? false : 'native kernels not built' }, () => {
  const rng = createRng(8);
  const dim = 40;
  const n = 5000; // two full chunks of 2,048 and a partial one
  const s = new VectorStore(dim, n);
  for (let r = 0; r < n; r++) {
    // Every 61st row repeats an earlier one: equal scores, broken by the lower slot (also across chunks).
    s.set(r, r % 61 === 60 && r > 2100 ? s.data.slice((r - 2100) * dim, (r - 2099) * dim) : normalizeInPlace(Float32Array.from({ length: dim }, () => normal(rng)), dim));
  }
  const engine = new ExactEngine(s);
  const q = 37;
  const queries = new Float32Array(q * dim);
  for (let i = 0; i < q; i++) queries.set(i < 5 ? s.data.subarray(i * 977 * dim, (i * 977 + 1) * dim) : normalizeInPlace(Float32Array.from({ length: dim }, () => normal(rng)), dim), i * dim);
  const all = new Uint8Array(n).fill(1);
  const third = Uint8Array.from({ length: n }, (_, r) => (r % 3 === 0 ? 1 : 0));
  const few = Uint8Array.from({ length: n }, (_, r) => (r === 17 || r === 4444 || r === 2048 ? 1 : 0));
  let compared = 0;
  for (const k of [1, 10, 200, n + 5]) {
    for (const allowed of [all, third, few]) {
      ExactEngine.fusedBatch = false;
      const plain = engine.search(queries, k, allowed);
      ExactEngine.fusedBatch = true;
      const fused = engine.search(queries, k, allowed);
      assert.equal(fused.length, q);
      assert.deepStrictEqual(fused, plain, `k ${k}, ${allowed === all ? 'all' : allowed === third ? 'a third' : 'three'} allowed`);
      compared += plain.reduce((sum, hits) => sum + hits.length, 0);
    }
  }
  // The filters bite: three allowed rows give three hits whatever k.
  assert.equal(engine.search(queries.subarray(0, dim * 2), 10, few)[1]!.length, 3);
  assert.ok(compared > 100_000, `${compared} hits compared`);
});
