import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Dataset } from '../../src/data/dataset.js';
import { encodeNpy } from '../../src/data/formats/npy.js';
import { importArrays } from '../../src/data/importers/arrays.js';
import { importJsonl } from '../../src/data/importers/jsonl.js';
import { importLayout } from '../../src/data/importers/layout.js';
import { writeDataset } from '../../src/data/writer.js';
import { writeMat5 } from '../helpers/mat5-writer.js';
import { needsShared, SHARED_DATA, tempDir } from '../helpers/tmp.js';

const dir = tempDir();

function mat(path: string, name: string, rows: number, cols: number, values: number[], cls: 'single' | 'double' | 'uint8' = 'single') {
  writeFileSync(path, writeMat5([{ name, cls, rows, cols, values }], true));
}

test('GNN4CMR layout: multi-hot labels, train and test appended in order, 24 labels named as MIRFlickr', async () => {
  const src = join(dir, 'gnn');
  mkdirSync(src);
  const lab = (rows: number) => Array.from({ length: rows * 24 }, (_, i) => ((i * 7) % 5 === 0 ? 1 : 0));
  mat(join(src, 'train_img.mat'), 'train_img', 3, 4, Array.from({ length: 12 }, (_, i) => i));
  mat(join(src, 'train_txt.mat'), 'train_txt', 3, 2, [1, 2, 3, 4, 5, 6]);
  mat(join(src, 'train_lab.mat'), 'train_lab', 3, 24, lab(3), 'uint8');
  mat(join(src, 'test_img.mat'), 'test_img', 2, 4, Array.from({ length: 8 }, (_, i) => 100 + i));
  mat(join(src, 'test_txt.mat'), 'test_txt', 2, 2, [7, 8, 9, 10]);
  mat(join(src, 'test_lab.mat'), 'test_lab', 2, 24, lab(2), 'uint8');
  const spec = await importLayout(src);
  writeDataset(join(dir, 'gnn-out'), spec);
  const ds = Dataset.open(join(dir, 'gnn-out'));
  assert.equal(ds.size, 5);
  assert.deepEqual(Array.from(ds.split('test')), [3, 4]);
  assert.deepEqual(Array.from(ds.features('image', [3])), [100, 101, 102, 103]);
  assert.deepEqual(Array.from(ds.features('text', [2, 4])), [5, 6, 9, 10]);
  assert.deepEqual(Array.from(ds.labels([3])), lab(2).slice(0, 24));
  assert.equal(ds.labelNames[0], 'animals');
});

test('DSCMR layout with class indices; Pascal Sentence without its training images needs --partial', { skip: needsShared('pascal-sentence') }, async () => {
  const pascal = join(SHARED_DATA, 'pascal-sentence');
  await assert.rejects(importLayout(pascal), /train_img\.mat: missing \(use --partial/);
  const spec = await importLayout(pascal, { partial: true });
  const out = join(dir, 'pascal');
  writeDataset(out, spec);
  const ds = Dataset.open(out);
  assert.equal(ds.size, 900);
  assert.equal(ds.labelNames.length, 20);
  const train = ds.split('train');
  assert.equal(train.length, 800);
  assert.ok(ds.present('image', train).every((p) => p === 0));
  assert.ok(ds.present('text', train).every((p) => p === 1));
  assert.ok(ds.present('image', ds.split('test')).every((p) => p === 1));
  assert.equal(ds.modality('image').dim, 4096);
});

test('arrays: .npy, .csv and .mat inputs, explicit splits, class-index labels', async () => {
  const npy = join(dir, 'img.npy');
  writeFileSync(npy, encodeNpy(Float32Array.from({ length: 12 }, (_, i) => i / 2), [4, 3]));
  const csv = join(dir, 'txt.csv');
  writeFileSync(csv, 'x,y\n1,2\n3,4\n5,6\n7,8\n');
  const labels = join(dir, 'lab.mat');
  mat(labels, 'lab', 4, 1, [1, 2, 2, 3], 'double');
  const spec = await importArrays({ modalities: [`image=${npy}`, `text=${csv}`], labels: `${labels}:lab`, labelNames: 'cat,dog,bird', splits: ['train=0:3', 'test=3:4'] });
  writeDataset(join(dir, 'arr'), spec);
  const ds = Dataset.open(join(dir, 'arr'));
  assert.deepEqual(ds.labelNames, ['cat', 'dog', 'bird']);
  assert.deepEqual(Array.from(ds.labels([0, 3])), [1, 0, 0, 0, 0, 1]);
  assert.deepEqual(Array.from(ds.features('text', [1])), [3, 4]);
  assert.deepEqual(Array.from(ds.features('image', [3])), [4.5, 5, 5.5]);
  assert.deepEqual(Array.from(ds.split('train')), [0, 1, 2]);
  writeFileSync(csv, '1,2\n3,4\n5,6\n');
  await assert.rejects(importArrays({ modalities: [`text=${csv}`], labels: `${labels}:lab` }), /txt\.csv: 3 rows, but the labels .* have 4/);
});

test('jsonl: modalities from numeric fields, missing fields are missing modalities, labels by name', () => {
  const path = join(dir, 'items.jsonl');
  writeFileSync(path, [
    { id: 'a', image: [1, 2], text: [3], labels: ['sea'], split: 'train', meta: { title: 'A' } },
    { id: 'b', image: [4, 5], labels: ['sky', 'sea'], split: 'train' },
    { id: 'c', text: [6], labels: ['sky'], split: 'test' },
  ].map((x) => JSON.stringify(x)).join('\n') + '\n');
  writeDataset(join(dir, 'jl'), importJsonl(path));
  const ds = Dataset.open(join(dir, 'jl'));
  assert.deepEqual(ds.labelNames, ['sea', 'sky']);
  assert.deepEqual(Array.from(ds.present('text', [0, 1, 2])), [1, 0, 1]);
  assert.deepEqual(Array.from(ds.present('image', [0, 1, 2])), [1, 1, 0]);
  assert.deepEqual(Array.from(ds.labels([1])), [1, 1]);
  assert.deepEqual(ds.ids(), ['a', 'b', 'c']);
  assert.equal(ds.metadata()[0]!.title, 'A');
  assert.deepEqual(Array.from(ds.split('test')), [2]);
  writeFileSync(path, '{"image":[1,2],"labels":["x"]}\n{"image":[1,2,3],"labels":["x"]}\n');
  assert.throws(() => importJsonl(path), /items\.jsonl: line 2: field 'image' has 3 values, earlier lines have 2/);
  writeFileSync(path, '{"image":[1,2],"labels":["x"]}\n{"image":[1,2],\n');
  assert.throws(() => importJsonl(path), /items\.jsonl: line 2: not valid JSON/);
  assert.equal(existsSync(join(dir, 'never')), false);
});
