// A tiny labelled two-modality data set with label vectors, written to disk, for training tests.
import { join } from 'node:path';
import { createRng, uniformArray } from '../../src/engine/random.js';
import { synthesize, synthDefaults } from '../../src/data/synth.js';
import { writeDataset } from '../../src/data/writer.js';

export function tinyDataset(dir: string, name = 'tiny', items = 80, modalities: Record<string, number> = { image: 16, text: 12 }, labelVectors = true): string {
  const rng = createRng(11);
  const classes = 5;
  // Label sets of one or two labels, so co-occurrence is non-trivial.
  const source = new Uint8Array(200 * classes);
  for (let r = 0; r < 200; r++) {
    source[r * classes + Math.floor(rng() * classes)] = 1;
    if (rng() < 0.4) source[r * classes + Math.floor(rng() * classes)] = 1;
  }
  const spec = synthesize({
    ...synthDefaults, items, modalities, missing: {}, noise: 0.2, seed: 5, latentDim: 8,
    labelSource: { names: ['sky', 'sea', 'tree', 'dog', 'car'], data: source, source: 'test' }, name,
  });
  const all = Int32Array.from({ length: items }, (_, i) => i);
  spec.splits = { train: all, test: all };
  const vectors = uniformArray(rng, classes * 8);
  if (labelVectors) spec.labelEmbeddings = { data: vectors, dim: 8, source: 'random test vectors' };
  const out = join(dir, name);
  writeDataset(out, spec, { allowOverlappingSplits: true }); // train = test: the tests check that methods can fit
  return out;
}

/** Small model options so that every method trains in a second. */
export const tinyOptions = { commonDim: 32, layers: 2, labelInputDim: 8, heads: 2 };
