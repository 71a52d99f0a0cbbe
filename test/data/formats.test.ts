import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { matMatrix, parseMat5, readMat5 } from '../../src/data/formats/mat5.js';
import { readDelimited, readMatrix, toMultiHot } from '../../src/data/formats/matrix.js';
import { decodeNpy, encodeNpy, NpyRows } from '../../src/data/formats/npy.js';
import { UserError } from '../../src/errors.js';
import { writeMat5, type MatVar } from '../helpers/mat5-writer.js';
import { writeZip } from '../helpers/zip-writer.js';
import { needsShared, SHARED_DATA, tempDir } from '../helpers/tmp.js';

const dir = tempDir();

test('npy round trip for float32, uint8 and int32, 1-d and 2-d', () => {
  const cases = [
    { data: Float32Array.from([1.5, -2, 3.25, 0, 7, 8]), shape: [2, 3] },
    { data: Uint8Array.from([0, 1, 1, 0]), shape: [4] },
    { data: Int32Array.from([5, -6, 7, 8, 9, 10]), shape: [3, 2] },
  ];
  for (const { data, shape } of cases) {
    const bytes = encodeNpy(data, shape);
    assert.equal((bytes.indexOf(0x0a) + 1) % 64, 0, 'header padded to 64 bytes');
    const back = decodeNpy(bytes, 'x.npy');
    assert.deepEqual(back.header.shape, shape);
    assert.deepEqual(Array.from(back.data as ArrayLike<number>), Array.from(data));
    assert.equal(back.data.constructor, data.constructor);
  }
});

test('npy: Fortran order is returned row-major, rows are read at random', () => {
  const header = "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }";
  const padded = header + ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
  const prefix = Buffer.from([0x93, ...Buffer.from('NUMPY'), 1, 0, padded.length & 0xff, padded.length >> 8]);
  const column = Float32Array.from([1, 4, 2, 5, 3, 6]); // [[1,2,3],[4,5,6]] stored by columns
  const bytes = Buffer.concat([prefix, Buffer.from(padded, 'latin1'), Buffer.from(column.buffer)]);
  assert.deepEqual(Array.from(decodeNpy(bytes, 'f.npy').data as Float32Array), [1, 2, 3, 4, 5, 6]);

  const path = join(dir, 'rows.npy');
  writeFileSync(path, encodeNpy(Float32Array.from({ length: 40 }, (_, i) => i), [10, 4]));
  const rows = new NpyRows(path);
  assert.deepEqual(Array.from(rows.read([7, 2, 3, 9]) as Float32Array), [28, 29, 30, 31, 8, 9, 10, 11, 12, 13, 14, 15, 36, 37, 38, 39]);
});

test('npy: truncated and foreign files give one-line errors naming the file', () => {
  const bytes = encodeNpy(new Float32Array(100), [10, 10]);
  assert.throws(() => decodeNpy(bytes.subarray(0, bytes.length - 8), 'cut.npy'), (e: Error) => e instanceof UserError && /cut\.npy: truncated/.test(e.message));
  assert.throws(() => decodeNpy(Buffer.from('hello world, not numpy'), 'txt.npy'), /txt\.npy: not a \.npy file/);
  const path = join(dir, 'cut.npy');
  writeFileSync(path, bytes.subarray(0, bytes.length - 8));
  assert.throws(() => new NpyRows(path).read([9]), /truncated/);
});

test('MAT v5 reader: every class, plain and compressed, column-major to row-major', () => {
  const vars: MatVar[] = [
    { name: 'd', cls: 'double', rows: 2, cols: 3, values: [1.5, 2, 3, 4, 5, -6.25] },
    { name: 's', cls: 'single', rows: 3, cols: 1, values: [0.5, 1, 2] },
    { name: 'u', cls: 'uint8', rows: 1, cols: 4, values: [0, 255, 7, 8] },
    { name: 'i', cls: 'int32', rows: 2, cols: 2, values: [-1, 2, -3, 4] },
    { name: 'l', cls: 'logical', rows: 2, cols: 2, values: [1, 0, 0, 1] },
    { name: 'q', cls: 'int64', rows: 1, cols: 2, values: [12, -13] },
  ];
  for (const compressed of [false, true]) {
    const mat = parseMat5(writeMat5(vars, compressed), 'made.mat');
    for (const v of vars) {
      const got = mat.variables.get(v.name);
      assert.ok(got, v.name);
      assert.deepEqual(got.dims, [v.rows, v.cols]);
      assert.deepEqual(Array.from(got.values!), v.values, `${v.name} compressed=${compressed}`);
    }
    assert.equal(mat.variables.get('l')!.matlabClass, 'logical');
  }
});

test('the real Wikipedia file (compressed v5, double) reads with the known shapes', { skip: needsShared('wikipedia') }, () => {
  const mat = readMat5(join(SHARED_DATA, 'wikipedia/raw_features.mat'));
  const shapes = Object.fromEntries([...mat.variables.values()].map((v) => [v.name, v.dims.join('x')]));
  assert.deepEqual(shapes, { I_tr: '2173x128', I_te: '693x128', T_tr: '2173x10', T_te: '693x10' });
  const t = matMatrix(mat, 'T_tr');
  for (const row of [0, 1000, 2172]) {
    const sum = t.values.subarray(row * 10, row * 10 + 10).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 1e-6, `LDA proportions of row ${row} sum to 1`);
  }
  assert.throws(() => matMatrix(mat, 'I_val'), /no variable 'I_val' \(variables: I_tr, I_te, T_tr, T_te\)/);
});

test('the real Pascal Sentence files (uncompressed v5, float32 and int64) read correctly', { skip: needsShared('pascal-sentence') }, async () => {
  const img = await readMatrix(join(SHARED_DATA, 'pascal-sentence/test_img.mat'));
  assert.equal(img.rows, 100);
  assert.equal(img.cols, 4096);
  const txt = await readMatrix(join(SHARED_DATA, 'pascal-sentence/train_txt.mat:train_txt'));
  assert.equal(txt.rows, 800);
  assert.equal(txt.cols, 300);
  // float32 values survive exactly: every value is representable in float32
  assert.ok(txt.values.every((v) => Math.fround(v) === v));
  const lab = toMultiHot(await readMatrix(join(SHARED_DATA, 'pascal-sentence/test_img_lab.mat')));
  assert.equal(lab.classes, 20);
  assert.equal(lab.base, 0);
  const perClass = new Array(20).fill(0);
  for (let i = 0; i < 100; i++) for (let c = 0; c < 20; c++) perClass[c] += lab.data[i * 20 + c] as number;
  assert.deepEqual(perClass, new Array(20).fill(5));
});

test('MAT v5: truncated and corrupt files give one-line errors', { skip: needsShared('wikipedia') }, () => {
  const bytes = readFileSync(join(SHARED_DATA, 'wikipedia/raw_features.mat'));
  assert.throws(() => parseMat5(bytes.subarray(0, 5000), 'cut.mat'), (e: Error) => e instanceof UserError && /^cut\.mat: truncated at byte \d+/.test(e.message));
  const corrupt = Buffer.from(bytes);
  corrupt.fill(0x55, 200, 400);
  assert.throws(() => parseMat5(corrupt, 'bad.mat'), /bad\.mat: corrupt compressed element/);
  assert.throws(() => parseMat5(Buffer.from('not a mat file'), 'x.mat'), /x\.mat: not a MAT-file/);
});

test('CSV and TSV: header detection, NaN and Inf kept for the checker, bad cells named', async () => {
  const csv = join(dir, 'f.csv');
  writeFileSync(csv, 'a,b,c\n1,2,3\n4,NaN,-inf\n');
  const m = readDelimited(csv, ',');
  assert.equal(m.rows, 2);
  assert.deepEqual(Array.from(m.values).slice(0, 3), [1, 2, 3]);
  assert.ok(Number.isNaN(m.values[4]));
  assert.equal(m.values[5], -Infinity);
  writeFileSync(csv, '1,2\n3,x\n');
  assert.throws(() => readDelimited(csv, ','), /f\.csv: line 2, column 2: 'x' is not a number/);
  const tsv = join(dir, 'f.tsv');
  writeFileSync(tsv, '1\t2\n3\t4\n');
  assert.deepEqual(Array.from((await readMatrix(tsv)).values), [1, 2, 3, 4]);
});

test('npz: stored and deflated archives, arrays by name, corruption detected', async () => {
  const a = encodeNpy(Float32Array.from([1, 2, 3, 4]), [2, 2]);
  const b = encodeNpy(Int32Array.from([7, 8, 9]), [3]);
  for (const deflate of [false, true]) {
    const path = join(dir, `arrays-${deflate}.npz`);
    writeFileSync(path, writeZip([{ name: 'feats.npy', content: a }, { name: 'labels.npy', content: b }], deflate));
    const m = await readMatrix(`${path}:feats`);
    assert.deepEqual([m.rows, m.cols, ...m.values], [2, 2, 1, 2, 3, 4]);
    assert.deepEqual(Array.from((await readMatrix(`${path}:labels`)).values), [7, 8, 9]);
    await assert.rejects(readMatrix(path), /name the array as .*:NAME \(arrays: feats, labels\)/);
    await assert.rejects(readMatrix(`${path}:other`), /no array 'other' \(arrays: feats, labels\)/);
  }
  const bad = writeZip([{ name: 'feats.npy', content: a }], false);
  bad[40] = (bad[40] as number) ^ 0xff; // inside the stored .npy header
  writeFileSync(join(dir, 'bad.npz'), bad);
  await assert.rejects(readMatrix(join(dir, 'bad.npz:feats')), /CRC mismatch/);
});

test('MAT v7.3 (HDF5, with or without the 512-byte user block): N x D stored as D x N reads as N x D', async () => {
  const h5wasm = (await import('h5wasm/node')).default;
  await h5wasm.ready;
  const plain = join(dir, 'plain73.mat');
  const f = new h5wasm.File(plain, 'w');
  // MATLAB's 2 x 3 [[1,2,3],[4,5,6]] is stored column-major: an HDF5 dataset of shape [3, 2]
  f.create_dataset({ name: 'X', data: new Float64Array([1, 4, 2, 5, 3, 6]), shape: [3, 2] }).create_attribute('MATLAB_class', 'double');
  f.create_dataset({ name: 'lab', data: new Uint8Array([1, 0, 0, 1]), shape: [2, 2] }).create_attribute('MATLAB_class', 'uint8');
  f.close();
  const header = Buffer.alloc(512);
  header.write('MATLAB 7.3 MAT-file, Platform: GLNXA64', 0, 'latin1');
  const withBlock = join(dir, 'block73.mat');
  writeFileSync(withBlock, Buffer.concat([header, readFileSync(plain)]));
  for (const path of [plain, withBlock]) {
    const x = await readMatrix(`${path}:X`);
    assert.deepEqual([x.rows, x.cols, ...x.values], [2, 3, 1, 2, 3, 4, 5, 6]);
    await assert.rejects(readMatrix(`${path}:Y`), /no variable 'Y' \(variables: X, lab\)/);
  }
  assert.throws(() => readMat5(plain), /v7\.3 \(HDF5\)/);
});
