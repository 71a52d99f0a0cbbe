// Incomplete modalities: the paper's simulation, masked training, zero-fill as an explicit option, reconstruction.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { Dataset } from '../../src/data/dataset.js';
import { dropModalities } from '../../src/data/drop.js';
import { synthDefaults, synthesize } from '../../src/data/synth.js';
import { writeDataset } from '../../src/data/writer.js';
import { initEngine, tf } from '../../src/engine/engine.js';
import { createRng, uniformArray } from '../../src/engine/random.js';
import '../../src/methods/index.js';
import { create, resolve } from '../../src/methods/registry.js';
import { loadSplit, makeBatch } from '../../src/train/split-data.js';
import { reconstructMissing } from '../../src/train/reconstruct.js';
import { train } from '../../src/train/trainer.js';
import { readEpochs } from '../../src/runs/files.js';
import { loadRun } from '../../src/runs/load.js';
import { evaluateSplit, maps } from '../../src/train/evaluate.js';
import { tempDir } from '../helpers/tmp.js';
import { tinyOptions } from '../helpers/tiny-dataset.js';

await initEngine({ quiet: true });
const dir = tempDir();

function incomplete(items: number) {
  const rng = createRng(2);
  const source = Uint8Array.from({ length: 100 * 4 }, (_, i) => (i % 4 === Math.floor(i / 4) % 4 ? 1 : 0));
  const spec = synthesize({ ...synthDefaults, items, modalities: { image: 12, text: 6 }, missing: {}, noise: 0.2, seed: 3, latentDim: 6, labelSource: { names: ['a', 'b', 'c', 'd'], data: source, source: 'test' }, name: 'incomplete' });
  spec.labelEmbeddings = { data: uniformArray(rng, 4 * 5), dim: 5, source: 'random' };
  return spec;
}

test('the paper\'s protocol: exactly 2/5 image-only, 2/5 text-only, 1/5 complete training items', () => {
  const spec = dropModalities(incomplete(1000), { image: 0.4, text: 0.4 }, 7);
  const train = spec.splits.train!;
  const [image, text] = spec.modalities.map((m) => m.present!);
  let imageOnly = 0;
  let textOnly = 0;
  let complete = 0;
  for (const i of train) {
    if (image![i] && text![i]) complete++;
    else if (image![i]) imageOnly++;
    else if (text![i]) textOnly++;
  }
  assert.equal(train.length, 700);
  assert.deepEqual([complete, imageOnly, textOnly], [140, 280, 280]);
  for (const i of [...spec.splits.val!, ...spec.splits.test!]) assert.ok(image![i] && text![i], 'only training items lose modalities');
});

const out = join(dir, 'data');
writeDataset(out, dropModalities(incomplete(300), { image: 0.4, text: 0.4 }, 1));
const ds = Dataset.open(out);

test('masked batches: no absent (zero) feature reaches a loss; zero-fill is the explicit exception', () => {
  const split = loadSplit(ds, ds.split('train'), ['image', 'text']);
  const order = Int32Array.from({ length: split.items.length }, (_, i) => i);
  let rowsSeen = 0;
  for (let s = 0; s < order.length; s += 50) {
    const batch = makeBatch(split, order.subarray(s, s + 50));
    for (const m of ['image', 'text']) {
      const x = batch.x[m]!.arraySync() as number[][];
      const rows = batch.rows[m]!;
      assert.equal(x.length, rows.length);
      rows.forEach((r, k) => {
        assert.equal(split.present[m]![s + r], 1, `${m} row of an item that has it`);
        assert.ok(x[k]!.some((v) => v !== 0), 'a real feature, not a zero fill');
      });
      rowsSeen += rows.length;
    }
    tf.dispose([...Object.values(batch.x), batch.labels]);
  }
  assert.ok(rowsSeen < 2 * split.items.length, 'absent modalities were left out');
  const zeroFilled = loadSplit(ds, ds.split('train'), ['image', 'text'], { zeroFill: true });
  const batch = makeBatch(zeroFilled, order.subarray(0, 50));
  assert.ok((batch.x.image!.arraySync() as number[][]).some((row) => row.every((v) => v === 0)), 'zero-fill passes the zero rows');
  tf.dispose([...Object.values(batch.x), batch.labels]);
});

test('training on incomplete data (default mask) and with reconstruction', async () => {
  const run = await train({ method: 'ignn-con', options: tinyOptions, data: out, out: join(dir, 'run'), epochs: 3, batchSize: 30, lr: 1e-3, reconstruct: { epochs: 2, lr: 1e-4, optimizer: 'adam', argOrder: 'paper' } });
  assert.deepEqual(readEpochs(run.dir).map((e) => e.stage ?? 'main'), ['main', 'main', 'main', 'reconstruction', 'reconstruction']);
  // The reported test scores are those of the saved model, evaluated again from disk on the incomplete test split.
  const saved = await loadRun(run.dir);
  const again = await evaluateSplit(saved.method, loadSplit(saved.dataset, saved.dataset.split('test'), ['image', 'text']), saved.dataset.labelNames, 'labels');
  assert.deepEqual(maps(run.test!), again.scores);
  saved.method.dispose();
  const method = create(resolve('ignn-con', undefined, tinyOptions), { dims: { image: 12, text: 6 }, labelNames: ds.labelNames, trainLabels: ds.labels(ds.split('train')), labelEmbeddings: ds.labelEmbeddings()!, seed: 0 });
  const split = loadSplit(ds, ds.split('train'), ['image', 'text']);
  const { split: filled, pools } = reconstructMissing(method, split);
  assert.ok(pools[1].length > 0 && pools[2].length > 0);
  for (const [m, pool] of [['text', pools[1]], ['image', pools[2]]] as const) {
    const dim = filled.dims[m]!;
    // Each filled row is the generator's output for that item's present modality, computed on its own.
    const from = m === 'text' ? 'image' : 'text';
    for (const p of pool.slice(0, 5)) {
      const x = split.features[from]!.subarray(p * split.dims[from]!, (p + 1) * split.dims[from]!);
      const expected = tf.tidy(() => method.generate!(from, m, tf.tensor2d(x, [1, x.length])).dataSync());
      const row = filled.features[m]!.subarray(p * dim, (p + 1) * dim);
      row.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-5, `${m} of item ${p}[${i}]: ${v} vs ${expected[i]}`));
      assert.ok(split.features[m]!.subarray(p * dim, (p + 1) * dim).every((v) => v === 0), 'it was missing before');
    }
    const kept = pools[0][0]!;
    assert.deepEqual(filled.features[m]!.subarray(kept * dim, (kept + 1) * dim), split.features[m]!.subarray(kept * dim, (kept + 1) * dim), 'complete items keep their features');
    assert.ok(pool.every((p) => filled.present[m]![p] === 1));
  }
  method.dispose();
});
