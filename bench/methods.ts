// Training-step figures of the DAGNN family on the shapes of issue 5: the real Wikipedia shape (image 128-d,
// text 10-d, 10 labels) and the MIRFlickr shape (image 4096-d, text 1386-d, 24 labels), batch 100, 5 GCN layers.
import { Adam } from '../src/engine/adam.js';
import { nativeKernels, tf } from '../src/engine/engine.js';
import { createRng, uniformArray } from '../src/engine/random.js';
import '../src/methods/index.js';
import { create, resolve } from '../src/methods/registry.js';
import { emit, summarize, timeIt } from './harness.js';

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
 * What the addon's thread pool and thin-product kernels give an ignn-con step (engine.md, Threads): the settings
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
    { name: 'pool + thin kernels (default)', split: true, thin: true },
    { name: 'pool, OpenBLAS for thin products', split: true, thin: false },
    { name: 'OpenBLAS threads + thin kernels', split: false, thin: true },
    { name: 'OpenBLAS threads, OpenBLAS for thin products (before session 4)', split: false, thin: false },
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
          step.run();
          const t = performance.now();
          for (let k = 0; k < 5; k++) step.run();
          times[i]!.push((performance.now() - t) / 5);
        }
      }
    } finally {
      native.setBlasSplit(true);
      native.setThinKernels(true);
      step.dispose();
    }
    for (const [i, setting] of settings.entries()) {
      // Each timing is the mean of 5 steps, so runs counts steps.
      const stats = summarize(times[i]!);
      emit({ name: `ignn-con training step, ${shape.name} shape, batch 100: ${setting.name}`, ...stats, runs: stats.runs * 5 });
    }
  }
}
