// The image networks' kernels: 1 x 1 convolutions on OpenBLAS equal the stock wasm kernel (with and without bias
// and activation; other shapes fall through), and batch norm folded into convolutions computes the same
// features as the network as published (MobileNetV2 from nsfwjs, to the default layer).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nativeConvCalls, setNativeConv } from '../../src/engine/cnn-kernels.js';
import { initEngine, tf } from '../../src/engine/engine.js';
import { createRng, uniformArray } from '../../src/engine/random.js';
import { foldBatchNorm } from '../../src/features/fold-batch-norm.js';
import { mobilenetArtifacts } from '../../src/features/image.js';
import { DEFAULT_IMAGE_LAYER } from '../../src/features/state.js';

const info = await initEngine({ quiet: true });
const rng = createRng(5);
const random = (shape: number[]) => tf.tensor(uniformArray(rng, shape.reduce((a, b) => a * b, 1)), shape);

/** The largest difference relative to the reference's largest magnitude (values near 0 would inflate a per-element ratio). */
function maxRelativeDifference(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return worst / scale;
}

test('1 x 1 convolutions: the native kernel equals the stock one; other filters fall through', { skip: !info.native.loaded && info.native.reason }, () => {
  const x = random([2, 5, 6, 7]);
  const cases: Array<[string, number[], boolean, 'linear' | 'relu' | 'relu6']> = [
    ['pointwise', [1, 1, 7, 9], false, 'linear'], ['pointwise + bias + relu6', [1, 1, 7, 9], true, 'relu6'],
    ['pointwise + relu', [1, 1, 7, 4], true, 'relu'], ['3 x 3 (stock)', [3, 3, 7, 4], true, 'relu6'],
  ];
  for (const [name, shape, withBias, activation] of cases) {
    const filter = tf.sub(random(shape), 0.5);
    const bias = withBias ? random([shape[3]!]) : undefined;
    const run = () => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: filter as tf.Tensor4D, strides: 1, pad: 'same', ...(bias ? { bias } : {}), activation }).dataSync() as Float32Array;
    const before = nativeConvCalls();
    const ours = run();
    const native = nativeConvCalls() - before;
    assert.equal(native, shape[0] === 1 ? 1 : 0, `${name}: native calls`);
    const previous = setNativeConv(false);
    const stock = run();
    setNativeConv(previous);
    assert.ok(maxRelativeDifference(ours, stock) < 1e-5, `${name}: ${maxRelativeDifference(ours, stock)}`);
    // Plain conv2d (no fusion) takes the same path.
    if (shape[0] === 1 && !withBias) assert.ok(maxRelativeDifference(tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, 1, 'valid').dataSync() as Float32Array, stock) < 1e-5);
  }
});

test('batch norm folded into MobileNetV2\'s convolutions: the same features, without a single batch-norm layer', async () => {
  const artifacts = mobilenetArtifacts();
  const folded = await foldBatchNorm(artifacts, DEFAULT_IMAGE_LAYER);
  const load = async (a: typeof artifacts) => {
    const data = a.weights.buffer.slice(a.weights.byteOffset, a.weights.byteOffset + a.weights.byteLength) as ArrayBuffer;
    const full = await tf.loadLayersModel({ load: async () => ({ modelTopology: a.topology, weightSpecs: a.weightSpecs, weightData: data }) });
    return { full, sub: tf.model({ inputs: full.inputs, outputs: full.getLayer(DEFAULT_IMAGE_LAYER).output }) };
  };
  const [original, fast] = [await load(artifacts), await load(folded)];
  assert.ok(original.full.layers.some((l) => l.getClassName() === 'BatchNormalization'));
  assert.equal(fast.full.layers.filter((l) => l.getClassName() === 'BatchNormalization').length, 0);
  const x = random([2, 224, 224, 3]);
  const a = (original.sub.predict(x) as tf.Tensor).dataSync() as Float32Array;
  const b = (fast.sub.predict(x) as tf.Tensor).dataSync() as Float32Array;
  assert.equal(a.length, b.length);
  assert.ok(maxRelativeDifference(b, a) < 1e-4, String(maxRelativeDifference(b, a)));
  // A control: folding with the wrong sign of the mean would not pass.
  assert.ok(a.some((v) => v > 0.1));
});
