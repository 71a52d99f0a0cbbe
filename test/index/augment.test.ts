// xmodal index --database-augmentation: the index stores each item as eval's augmentDatabase computes it over
// the indexed items of its modality (so search ranks as `xmodal eval --database-augmentation` scores), n 0 is
// the plain index, and the manifest records the setting.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { augmentDatabase } from '../../src/eval/rerank.js';
import { normalizeRows } from '../../src/eval/similarity.js';
import { buildAugmentedIndex, buildIndex } from '../../src/index/build.js';
import { loadRun } from '../../src/runs/load.js';
import { train } from '../../src/train/trainer.js';
import { tempDir } from '../helpers/tmp.js';
import { tinyDataset, tinyOptions } from '../helpers/tiny-dataset.js';

test('augmented index: n 0 equals the plain index; otherwise it stores eval\'s augmented items', async () => {
  const dir = tempDir();
  const data = tinyDataset(dir);
  await train({ method: 'pgnn-con', options: tinyOptions, data, out: join(dir, 'run'), epochs: 1, batchSize: 20, lr: 1e-3 });
  const run = await loadRun(join(dir, 'run'));
  const plain = buildIndex(run, { engine: 'exact' });
  const zero = await buildAugmentedIndex(run, { engine: 'exact' }, { n: 0, weight: 1 });
  const query = plain.embeddingOf('3', 'image');
  assert.deepEqual(zero.search('text', query, { k: 10 }), plain.search('text', query, { k: 10 }));
  const augmented = await buildAugmentedIndex(run, { engine: 'exact' }, { n: 5, weight: 1 });
  assert.deepEqual(augmented.manifest.databaseAugmentation, { n: 5, weight: 1 });
  const ids = run.dataset.ids();
  const texts = run.encoder.embed('text', run.dataset.features('text', run.dataset.all()), run.dataset.modality('text').dim);
  const d = run.encoder.embeddingDim;
  const expected = normalizeRows(await augmentDatabase({ rows: texts.length, cols: d, data: Float32Array.from(texts.flatMap((t) => [...t])) }, { n: 5, weight: 1 }));
  for (const i of [0, 7, 41]) {
    const stored = augmented.embeddingOf(ids[i]!, 'text');
    stored.forEach((v, c) => assert.ok(Math.abs(v - expected.data[i * d + c]!) < 1e-5, `item ${i} [${c}]`));
  }
  assert.notDeepEqual(augmented.search('text', query, { k: 10 }), plain.search('text', query, { k: 10 }), 'a control: augmentation changes the ranking');
  run.method.dispose();
});
