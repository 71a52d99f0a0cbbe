import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initEngine, tf } from '../../src/engine/engine.js';
import { createRng, uniformArray } from '../../src/engine/random.js';
import { nativeReductionCalls, setNativeReductions } from '../../src/engine/reduce-kernel.js';

const info = await initEngine({ quiet: true });

test('column sums and means give the stock wasm kernels\' bits; other reductions fall through', { skip: !info.native.loaded && info.native.reason }, () => {
  const rng = createRng(5);
  const cases: Array<[number[], number | number[], boolean]> = [
    [[100, 1024], 0, false], [[100, 1024], [0], true], [[37, 5], -2, false], [[1, 9], 0, true],
    [[100, 1024], 1, false], [[6, 7], [0, 1], false], [[3, 4, 5], 0, false], // these three use the stock kernels
  ];
  for (const [shape, axis, keepDims] of cases) {
    const x = tf.tensor(uniformArray(rng, shape.reduce((a, b) => a * b, 1), -1, 1), shape);
    for (const op of [tf.sum, tf.mean] as const) {
      const calls = nativeReductionCalls();
      const ours = op(x, axis, keepDims);
      const columnwise = shape.length === 2 && (axis === 0 || axis === -2 || (Array.isArray(axis) && axis.length === 1 && axis[0] === 0));
      assert.equal(nativeReductionCalls(), calls + (columnwise ? 1 : 0), `native path taken: ${columnwise}`);
      const previous = setNativeReductions(false);
      const stock = op(x, axis, keepDims);
      setNativeReductions(previous);
      const label = `${op === tf.sum ? 'sum' : 'mean'} of ${shape} over ${axis}${keepDims ? ', keepDims' : ''}`;
      assert.deepEqual(ours.shape, stock.shape, label);
      assert.deepEqual(Array.from(ours.dataSync()), Array.from(stock.dataSync()), label);
      tf.dispose([ours, stock]);
    }
    x.dispose();
  }
});

test('over zero rows the column sum is 0 and the mean NaN (the stock kernels return uninitialised memory)', { skip: !info.native.loaded && info.native.reason }, () => {
  const x = tf.zeros([0, 4]);
  assert.deepEqual(Array.from(tf.sum(x, 0).dataSync()), [0, 0, 0, 0]);
  assert.ok(Array.from(tf.mean(x, 0).dataSync()).every(Number.isNaN));
  x.dispose();
});

test('the addon refuses buffers too small for sumRows', { skip: !info.native.loaded && info.native.reason }, async () => {
  const { loadNative } = await import('../../src/engine/native.js');
  assert.throws(() => loadNative().kernels!.sumRows(new Float32Array(5), 2, 3, new Float32Array(3), 1), /buffers too small/);
});
