// Training-step figures of the DAGNN family on the shapes of issue 5: the real Wikipedia shape (image 128-d,
// text 10-d, 10 labels) and the MIRFlickr shape (image 4096-d, text 1386-d, 24 labels), batch 100, 5 GCN layers.
import { Adam } from '../src/engine/adam.js';
import { nativeKernels, tf } from '../src/engine/engine.js';
import { createRng, uniformArray } from '../src/engine/random.js';
import '../src/methods/index.js';
import { create, resolve } from '../src/methods/registry.js';
import { emit, round, summarize, timeIt } from './harness.js';

interface StepShape { name: string; image: number; text: number; classes: number; labelDim: number }

/** A training step of `method` on random data of `shape`; dispose() frees it. */
function makeStep(method: string, shape: StepShape, batch: number) {
  const rng = createRng(3);
  const labels = Uint8Array.from({ length: 2000 * shape.classes }, () => (rng() < 0.15 ? 1 : 0));
  const r = resolve(method, 'mirflickr');
  const model = create(r, {
    dims: { image: shape.image, text: shape.text }, labelNames: Array.from({ length: shape.classes }, (_, i) => `l${i}`), trainLabels: labels,
    labelEmbeddings: { data: uniformArray(rng, shape.classes * shape.labelDim), dim: shape.labelDim, source: 'random' }, seed: 1,
  });
  const params = model.trainableVariables().reduce((s, v) => s + v.size, 0);
  const optimizer = new Adam(model.trainableVariables(), { lr: 5e-5, beta1: 0.5 });
  const x = { image: tf.tensor2d(uniformArray(rng, batch * shape.image, 0, 1), [batch, shape.image]), text: tf.tensor2d(uniformArray(rng, batch * shape.text, 0, 1), [batch, shape.text]) };
  const y = tf.tensor2d(Float32Array.from(labels.subarray(0, batch * shape.classes)), [batch, shape.classes]);
  const all = Int32Array.from({ length: batch }, (_, i) => i);
  const rows = { image: all, text: all };
  return {
    params,
    run: () => {
      optimizer.minimize(() => model.losses({ x, rows, labels: y, size: batch }, { progress: 0 }).total);
      model.afterStep();
    },
    dispose: () => {
      tf.dispose([x.image, x.text, y]);
      optimizer.dispose();
      model.dispose();
    },
  };
}

function stepFigure(method: string, shape: StepShape, batch = 100): void {
  const step = makeStep(method, shape, batch);
  const stats = timeIt(step.run, { warmup: 3, runs: 20, maxSeconds: 30 });
  emit({ name: `${method} training step, ${shape.name} shape, batch ${batch}`, ...stats, params: step.params });
  step.dispose();
}

const wiki: StepShape = { name: 'Wikipedia', image: 128, text: 10, classes: 10, labelDim: 100 };
const mir: StepShape = { name: 'MIRFlickr', image: 4096, text: 1386, classes: 24, labelDim: 300 };

export function benchSteps(): void {
  for (const m of ['dagnn', 'pgnn-con', 'ignn-con']) stepFigure(m, wiki);
  stepFigure('ignn-con', mir);
}

/**
 * What the addon's thread pool, thin-product kernels and operand-role swap give an ignn-con step (engine.md, Threads): the settings
 * alternate every 5 steps in one process, so that the shared machine's drifting load falls on all of them alike
 * (separate processes minutes apart differ by up to 40% here).
 */
export function benchThreadSettings(): void {
  const native = nativeKernels();
  if (!native) {
    console.error('thread-settings: the native addon is not loaded; nothing to compare');
    return;
  }
  const settings = [
    { name: 'pool + thin kernels (default)', split: true, thin: true, swap: true },
    { name: 'pool + thin kernels, op(A) B^T products given to OpenBLAS as written (before session 32)', split: true, thin: true, swap: false },
    { name: 'pool, OpenBLAS for thin products', split: true, thin: false, swap: true },
    { name: 'OpenBLAS threads + thin kernels', split: false, thin: true, swap: true },
    { name: 'OpenBLAS threads, OpenBLAS for thin products (before session 4)', split: false, thin: false, swap: true },
  ];
  for (const shape of [wiki, mir]) {
    const step = makeStep('ignn-con', shape, 100);
    for (let i = 0; i < 3; i++) step.run();
    const times = settings.map((): number[] => []);
    const rounds = shape === wiki ? 10 : 5;
    try {
      for (let r = 0; r < rounds; r++) {
        for (const [i, setting] of settings.entries()) {
          native.setBlasSplit(setting.split);
          native.setThinKernels(setting.thin);
          native.setBlasSwap(setting.swap);
          step.run();
          const t = performance.now();
          for (let k = 0; k < 5; k++) step.run();
          times[i]!.push((performance.now() - t) / 5);
        }
      }
    } finally {
      native.setBlasSplit(true);
      native.setThinKernels(true);
      native.setBlasSwap(true);
      step.dispose();
    }
    for (const [i, setting] of settings.entries()) {
      // Each timing is the mean of 5 steps, so runs counts steps.
      const stats = summarize(times[i]!);
      emit({ name: `ignn-con training step, ${shape.name} shape, batch 100: ${setting.name}`, ...stats, runs: stats.runs * 5 });
    }
  }
}

const elements = (shape: number[] | undefined) => (shape ? shape.reduce((a, b) => a * b, 1) : 0);

/**
 * #19's yardstick for a training step: the machine's own floor, measured in the same run. The step's products
 * (every BatchMatMul kernel of one profiled step: 2 x batch x m x n x k) at the sgemm rate of a 1024^3 product,
 * plus its memory traffic at the copy bandwidth of a 256 MB array: every other tfjs kernel reads its inputs and
 * writes its outputs once (views such as Reshape and Identity excluded), and Adam reads parameter, gradient and
 * both moments and writes three of them (28 bytes per parameter). The step's time over that floor is the figure,
 * with the share of the step spent in products and the rate they reach, from the same profile.
 */
export async function benchStepFloor(): Promise<void> {
  const a = tf.randomUniform([1024, 1024], -1, 1, 'float32', 1);
  const b = tf.randomUniform([1024, 1024], -1, 1, 'float32', 2);
  const gemm = timeIt(() => tf.matMul(a, b).dispose(), { runs: 20 });
  tf.dispose([a, b]);
  const gflops = (2 * 1024 ** 3) / gemm.median_ms / 1e6;
  const src = new Float32Array(64 * 2 ** 20).fill(1);
  const dst = new Float32Array(src.length);
  const copy = timeIt(() => dst.set(src), { runs: 10 });
  const bandwidth = (2 * src.byteLength) / copy.median_ms / 1e6; // GB/s, read + write
  for (const shape of [mir, wiki]) {
    const step = makeStep('ignn-con', shape, 100);
    for (let i = 0; i < 3; i++) step.run();
    const profile = await tf.profile(() => { step.run(); });
    let flops = 0;
    let bytes = 0;
    let productMs = 0;
    let kernelMs = 0;
    for (const k of profile.kernels) {
      const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      kernelMs += ms;
      if (k.name.includes('MatMul')) {
        const out = k.outputShapes[0] ?? [];
        const m = out[out.length - 2] ?? 0;
        const n = out[out.length - 1] ?? 0;
        const batches = m * n ? elements(out) / (m * n) : 0;
        flops += batches * m ? 2 * batches * m * n * (elements(k.inputShapes[0]) / (batches * m)) : 0;
        productMs += ms;
      } else if (k.name !== 'Reshape' && k.name !== 'Identity') {
        bytes += 4 * (k.inputShapes.reduce((sum, x) => sum + elements(x), 0) + k.outputShapes.reduce((sum, x) => sum + elements(x), 0));
      }
    }
    const adamBytes = 28 * step.params;
    const floorMs = flops / gflops / 1e6 + (bytes + adamBytes) / bandwidth / 1e6;
    const stats = timeIt(step.run, { warmup: 2, runs: 15, maxSeconds: 30 });
    emit({
      name: `ignn-con training step, ${shape.name} shape, batch 100, against the machine's floor`, ...stats,
      floor_ms: round(floorMs), ratio: round(stats.median_ms / floorMs, 3),
      step_gflop: round(flops / 1e9, 3), sgemm_gflops: round(gflops, 1), kernel_mb: round(bytes / 1e6, 1), adam_mb: round(adamBytes / 1e6, 1), copy_gb_per_s: round(bandwidth, 1),
      kernels: profile.kernels.length, products_ms: round(productMs), products_gflops: round(productMs ? flops / productMs / 1e6 : 0, 1), other_kernels_ms: round(kernelMs - productMs),
    });
    step.dispose();
  }
}
