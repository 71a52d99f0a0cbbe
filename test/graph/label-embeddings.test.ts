import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { labelEmbeddings, readWordVectors } from '../../src/graph/label-embeddings.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();

test('GloVe text tables: whole names, multi-word names averaged, missing names listed', () => {
  const path = join(dir, 'glove.txt');
  writeFileSync(path, 'teddy 1 0 2\nbear 3 2 0\nsky 0 1 1\n');
  const table = readWordVectors(path);
  assert.equal(table.dim, 3);
  assert.deepEqual(Array.from(labelEmbeddings(['sky', 'teddy bear', 'Teddy_Bear'], table)), [0, 1, 1, 2, 1, 1, 2, 1, 1]);
  assert.throws(() => labelEmbeddings(['sky', 'sea', 'cloud'], table), /no vector for labels 'sea', 'cloud'/);
});

test('the shipped label GloVe JSON reads by label name', () => {
  const table = readWordVectors(join(PACKAGE_ROOT, 'datasets/resources/label-glove/mirflickr25k_glove_word2vec.json'));
  assert.equal(table.dim, 300);
  const e = labelEmbeddings(['sky', 'plant_life'], table);
  assert.equal(e.length, 600);
  assert.ok(e.some((v) => v !== 0));
});
