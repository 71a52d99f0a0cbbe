// A served media collection for tests: the 14 photo-and-text items of media-items.ts imported with xmodal's own
// featurisers, a small dscmr model trained on them, and its index.
import { join } from 'node:path';
import { importMedia } from '../../src/data/importers/media.js';
import { writeDataset } from '../../src/data/writer.js';
import { buildIndex } from '../../src/index/build.js';
import { loadRun } from '../../src/runs/load.js';
import { train } from '../../src/train/trainer.js';
import { writeMediaItems } from './media-items.js';

export async function mediaIndex(dir: string) {
  const items = writeMediaItems(dir);
  const spec = await importMedia(items, {
    imageField: 'image', textFields: ['name', 'description'], labelField: 'label', splitField: 'split', idField: 'id', metaFields: [],
    image: { backbone: 'mobilenet-v2' }, text: { name: 'tfidf', tfidf: { minDf: 1, maxFeatures: 500, stopWords: true, sublinearTf: true } },
    skipBad: false, cacheDir: join(dir, 'cache'), valFraction: undefined, testFraction: 0, seed: 0, name: 'photos',
    warn: () => {}, progress: () => {},
  });
  const data = join(dir, 'ds');
  writeDataset(data, spec);
  const runDir = join(dir, 'run');
  await train({ method: 'dscmr', options: { hiddenDim: 64, commonDim: 32 }, data, out: runDir, epochs: 3, batchSize: 5, lr: 1e-3, valFraction: 0.3 });
  const run = await loadRun(runDir);
  return { data, run, index: buildIndex(run, { engine: 'exact' }) };
}
