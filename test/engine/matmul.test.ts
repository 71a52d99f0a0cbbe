import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initEngine, tf } from '../../src/engine/engine.js';
import { nativeMatMulCalls, setNativeMatMul } from '../../src/engine/matmul-kernel.js';
import { createRng, uniformArray } from '../../src/engine/random.js';

const info = await initEngine({ quiet: true });

test('the engine runs on wasm', () => {
  assert.equal(info.backend, 'wasm');
});

test('tf.matMul goes through the native kernel when the addon is loaded', { skip: !info.native.loaded && info.native.reason }, () => {
  const before = nativeMatMulCalls();
  tf.tidy(() => tf.matMul(tf.ones([3, 4]), tf.ones([4, 2])).dataSync());
  assert.equal(nativeMatMulCalls(), before + 1);
});

test('overridden tf.matMul equals the stock wasm kernel, all transposes, rank 2 and 3', () => {
  const rng = createRng(11);
  const cases: Array<[number[], number[], boolean, boolean]> = [
    [[5, 7], [7, 3], false, false], [[7, 5], [7, 3], true, false], [[5, 7], [3, 7], false, true],
    [[7, 5], [3, 7], true, true], [[1, 6, 4], [1, 4, 9], false, false], [[1, 4, 6], [1, 9, 4], true, true],
    [[2, 3, 4], [2, 4, 5], false, false], // batch 2 falls through to the stock kernel
    [[0, 4], [4, 3], false, false],
  ];
  for (const [sa, sb, ta, tb] of cases) {
    const a = tf.tensor(uniformArray(rng, sa.reduce((x, y) => x * y, 1)), sa);
    const b = tf.tensor(uniformArray(rng, sb.reduce((x, y) => x * y, 1)), sb);
    const ours = tf.matMul(a, b, ta, tb);
    const previous = setNativeMatMul(false);
    const stock = tf.matMul(a, b, ta, tb);
    setNativeMatMul(previous);
    assert.deepEqual(ours.shape, stock.shape);
    const x = ours.dataSync();
    const y = stock.dataSync();
    for (let i = 0; i < x.length; i++) assert.ok(Math.abs((x[i] as number) - (y[i] as number)) < 1e-5, `${sa} ${sb} ${ta} ${tb}`);
    tf.dispose([a, b, ours, stock]);
  }
});

test('mismatched inner shapes give the usual error', () => {
  assert.throws(() => tf.matMul(tf.ones([2, 3]), tf.ones([4, 2])), /inner shapes/);
});
