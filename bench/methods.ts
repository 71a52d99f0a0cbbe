// Training-step figures of the DAGNN family on the shapes of issue 5: the real Wikipedia shape (image 128-d,
// text 10-d, 10 labels) and the MIRFlickr shape (image 4096-d, text 1386-d, 24 labels), batch 100, 5 GCN layers.
import { Adam } from '../src/engine/adam.js';
import { tf } from '../src/engine/engine.js';
import { createRng, uniformArray } from '../src/engine/random.js';
import '../src/methods/index.js';
import { create, resolve } from '../src/methods/registry.js';
import { emit, timeIt } from './harness.js';

function stepFigure(method: string, shape: { name: string; image: number; text: number; classes: number; labelDim: number }, batch = 100): void {
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
  const stats = timeIt(() => {
    optimizer.minimize(() => model.losses({ x, rows, labels: y, size: batch }, { progress: 0 }).total);
    model.afterStep();
  }, { warmup: 3, runs: 20, maxSeconds: 30 });
  emit({ name: `${method} training step, ${shape.name} shape, batch ${batch}`, ...stats, params });
  tf.dispose([x.image, x.text, y]);
  optimizer.dispose();
  model.dispose();
}

export function benchSteps(): void {
  const wiki = { name: 'Wikipedia', image: 128, text: 10, classes: 10, labelDim: 100 };
  const mir = { name: 'MIRFlickr', image: 4096, text: 1386, classes: 24, labelDim: 300 };
  for (const m of ['dagnn', 'pgnn-con', 'ignn-con']) stepFigure(m, wiki);
  stepFigure('ignn-con', mir);
}
