// Names from data never become paths outside the output; a data set that cannot be right is refused at import
// and reported by validate; JSONL is decoded strictly; importers say what they decided for the user.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Dataset } from '../../src/data/dataset.js';
import { validateDataset } from '../../src/data/inspect.js';
import { importJsonl } from '../../src/data/importers/jsonl.js';
import { readMatrix } from '../../src/data/formats/matrix.js';
import { writeDataset, type DatasetSpec } from '../../src/data/writer.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { writeMat5 } from '../helpers/mat5-writer.js';
import { tempDir } from '../helpers/tmp.js';

const cli = join(PACKAGE_ROOT, 'dist/src/cli/main.js');
const xmodal = (cwd: string, ...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd });
const line = (o: Record<string, unknown>) => JSON.stringify(o) + '\n';

function spec(overrides: Partial<DatasetSpec> = {}): DatasetSpec {
  return {
    name: 't',
    modalities: [{ name: 'image', dim: 2, data: Float32Array.from([1, 2, 3, 4, 5, 6]) }],
    labels: { names: ['a', 'b'], data: Uint8Array.from([1, 0, 0, 1, 1, 0]) },
    splits: { train: Int32Array.from([0, 1]), test: Int32Array.from([2]) },
    provenance: { source: 'test', importer: 'test' },
    ...overrides,
  };
}

test('a field, modality or split name like ../../x is refused before anything is written (the reported exploit)', () => {
  const dir = tempDir();
  writeFileSync(join(dir, 't.jsonl'), line({ id: 'a', image: [1, 2], '../../PWNED': [1, 2], labels: ['x'], split: 'train' }));
  const r = xmodal(dir, 'import', 'jsonl', 't.jsonl', '--out', 'a/b/out');
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr.trim(), /^xmodal: t\.jsonl: line 1: field '\.\.\/\.\.\/PWNED': modality name "\.\.\/\.\.\/PWNED" is not allowed/);
  assert.equal(existsSync(join(dir, 'a')), false, 'nothing written, not even the parent of --out');
  assert.deepEqual(readdirSync(dir), ['t.jsonl']);
  // The same check guards the writer itself, whatever importer built the spec.
  const out = join(dir, 'w', 'x', 'out');
  assert.throws(() => writeDataset(out, spec({ modalities: [{ name: '../../evil', dim: 2, data: new Float32Array(6) }] })), /modality name "\.\.\/\.\.\/evil" is not allowed/);
  assert.throws(() => writeDataset(out, spec({ splits: { '../x': Int32Array.from([0]) } })), /split name "\.\.\/x" is not allowed/);
  assert.equal(existsSync(join(dir, 'w')), false);
});

test('reserved names are refused: a modality called labels no longer overwrites the labels file', () => {
  const dir = tempDir();
  for (const name of ['labels', 'dataset', 'metadata', 'label-embeddings', 'split-train', 'aggregate']) {
    assert.throws(() => writeDataset(join(dir, name), spec({ modalities: [{ name, dim: 2, data: new Float32Array(6) }] })), /is reserved/, name);
  }
  assert.deepEqual(readdirSync(dir), []);
});

test('an index manifest naming a modality ../x is refused on load, so no file outside the index is read', async () => {
  const { SearchIndex } = await import('../../src/index/search-index.js');
  const dir = tempDir();
  const index = SearchIndex.build({
    format: 'xmodal-index', version: 1, engine: 'exact', hnsw: { connectivity: 16, expansionAdd: 64, expansionSearch: 32, quantization: 'f16' }, dim: 2,
    modalities: [{ name: 'image', inputDim: 2, builtSlots: 0, vocabulary: null }], labelNames: ['a'],
    run: { dir: 'r', method: 'm', modelSha256: '0' }, dataset: { name: 'd', path: 'p' },
  }, [{ id: 'x', labels: ['a'], metadata: {}, embeddings: { image: Float32Array.from([1, 0]) } }]);
  await index.save(join(dir, 'index'));
  const path = join(dir, 'index', 'index.json');
  const manifest = JSON.parse(readFileSync(path, 'utf8'));
  manifest.modalities[0].name = '../../etc/x';
  writeFileSync(path, JSON.stringify(manifest));
  assert.throws(() => SearchIndex.load(join(dir, 'index')), /index\.json: field modalities\.0\.name/);
});

test('import refuses a 0-row set, overlapping splits, duplicate ids, duplicate label names, and too many labels', () => {
  const dir = tempDir();
  const out = join(dir, 'out');
  assert.throws(() => writeDataset(out, spec({ modalities: [{ name: 'image', dim: 2, data: new Float32Array(0) }], labels: { names: ['a'], data: new Uint8Array(0) }, splits: {} })), /no items/);
  assert.throws(() => writeDataset(out, spec({ splits: { train: Int32Array.from([0, 1]), test: Int32Array.from([1, 2]) } })), /splits 'train' and 'test' share item 1/);
  assert.throws(() => writeDataset(out, spec({ metadata: [{ id: 'x' }, { id: 'y' }, { id: 'x' }] })), /id 'x' is used by items 0 and 2/);
  assert.throws(() => writeDataset(out, spec({ labels: { names: ['a', 'a'], data: Uint8Array.from([1, 0, 0, 1, 1, 0]) } })), /label name 'a' given twice/);
  const many = Array.from({ length: 3 }, (_, i) => `l${i}`);
  assert.throws(() => writeDataset(out, spec({ labels: { names: many, data: Uint8Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]) } }), { maxLabels: 2 }), /3 labels, over the limit of 2 .*--max-labels 3/);
  assert.equal(existsSync(out), false);
  writeDataset(out, spec({ splits: { train: Int32Array.from([0, 1]), test: Int32Array.from([1, 2]) } }), { allowOverlappingSplits: true });
  assert.deepEqual(validateDataset(Dataset.open(out)).problems, ["splits 'train' and 'test' share item 1: train, val and test must not overlap"]);
});

test('a class index of 1,000,000 is refused before its matrix is allocated; --max-labels raises the limit', () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'x.csv'), 'a,b\n1,2\n3,4\n5,6\n');
  writeFileSync(join(dir, 'y.csv'), '0\n1\n1000000\n');
  const r = xmodal(dir, 'import', 'arrays', '--modality', 'image=x.csv', '--labels', 'y.csv', '--split', 'train=0:2', '--split', 'test=2:3', '--out', 'out');
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /y\.csv: class index 1000000 means 1000001 labels, over the limit of 10000/);
  assert.equal(existsSync(join(dir, 'out')), false);
  writeFileSync(join(dir, 'y.csv'), '0\n1\n12\n');
  const ok = xmodal(dir, 'import', 'arrays', '--modality', 'image=x.csv', '--labels', 'y.csv', '--split', 'train=0:2', '--split', 'test=2:3', '--out', 'out', '--max-labels', '13');
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stderr, /x\.csv: first line taken as a header and skipped: a,b/);
});

test('validate reports duplicate ids in a data set written by another tool (checksums consistent)', () => {
  const dir = tempDir();
  const out = join(dir, 'out');
  writeDataset(out, spec({ metadata: [{ id: 'x' }, { id: 'y' }, { id: 'z' }] }));
  const text = '{"id":"x"}\n{"id":"x"}\n{"id":"z"}\n';
  writeFileSync(join(out, 'metadata.jsonl'), text);
  const manifestPath = join(out, 'dataset.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  manifest.files['metadata.jsonl'] = { sha256: createHash('sha256').update(text).digest('hex'), bytes: Buffer.byteLength(text) };
  writeFileSync(manifestPath, JSON.stringify(manifest));
  assert.deepEqual(validateDataset(Dataset.open(out)).problems, ["metadata: id 'x' is used by items 0 and 1 (ids must be unique)"]);
});

test('JSONL: invalid UTF-8 names its line, a byte-order mark is accepted, __proto__ keys stay data', () => {
  const dir = tempDir();
  const bad = join(dir, 'bad.jsonl');
  writeFileSync(bad, Buffer.concat([Buffer.from(line({ id: 'a', image: [1], labels: ['x'] })), Buffer.from('{"id":"b","image":[1],"labels":["'), Buffer.from([0xff, 0xfe]), Buffer.from('"]}\n')]));
  assert.throws(() => importJsonl(bad), /bad\.jsonl: line 2: not valid UTF-8/);
  const bom = join(dir, 'bom.jsonl');
  writeFileSync(bom, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(line({ id: 'a', image: [1, 2], labels: ['x'], split: 'train' }) + line({ id: 'b', image: [3, 4], labels: ['y'], split: 'test' }))]));
  assert.equal(importJsonl(bom).modalities[0]?.name, 'image');
  const proto = join(dir, 'proto.jsonl');
  writeFileSync(proto, '{"id":"a","image":[1,2],"labels":["__proto__"],"split":"train","meta":{"__proto__":{"polluted":1},"title":"t"}}\n{"id":"b","image":[1,2],"labels":["y"],"split":"test"}\n');
  const s = importJsonl(proto);
  assert.deepEqual(s.labels.names, ['__proto__', 'y']);
  assert.equal(Object.getPrototypeOf(s.metadata![0]), Object.prototype);
  assert.deepEqual(Object.keys(s.metadata![0]!), ['id', '__proto__', 'title']);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  writeFileSync(proto, '{"id":"a","__proto__":[1,2],"labels":["x"]}\n');
  assert.throws(() => importJsonl(proto), /line 1: field '__proto__': modality name "__proto__" is not allowed/);
});

test('JSONL without a split field: a warning, or a stratified seeded test share with --test-fraction', () => {
  const dir = tempDir();
  const file = join(dir, 'n.jsonl');
  writeFileSync(file, Array.from({ length: 20 }, (_, i) => line({ id: `i${i}`, image: [i, 1], labels: [i % 2 ? 'odd' : 'even'] })).join(''));
  const notes: string[] = [];
  const all = importJsonl(file, { warn: (m) => notes.push(m) });
  assert.deepEqual(Object.keys(all.splits), ['train']);
  assert.match(notes[0] ?? '', /no line has a "split" field: all 20 items go to train and there will be no test split \(give --test-fraction/);
  const split = importJsonl(file, { testFraction: 0.2, seed: 3 });
  assert.equal(split.splits.test?.length, 4);
  const testLabels = Array.from(split.splits.test!, (i) => split.labels.data[i * 2]);
  assert.deepEqual(testLabels.sort(), [0, 0, 1, 1], 'stratified: two of each label');
  assert.deepEqual(Array.from(importJsonl(file, { testFraction: 0.2, seed: 3 }).splits.test!), Array.from(split.splits.test!), 'seeded');
});

test('import wikipedia lists the variables it did not use and takes --image-var / --text-var', () => {
  const dir = tempDir();
  const vars = [['I_tr', 2, 3], ['I_te', 1, 3], ['T_tr', 2, 2], ['T_te', 1, 2], ['X_tr', 2, 4], ['X_te', 1, 4]] as const;
  writeFileSync(join(dir, 'raw_features.mat'), writeMat5(vars.map(([name, rows, cols]) => ({ name, cls: 'double' as const, rows, cols, values: Array.from({ length: rows * cols }, (_, i) => i + 1) })), true));
  writeFileSync(join(dir, 'trainset_txt_img_cat.list'), 't1\ti1\t1\nt2\ti2\t2\n');
  writeFileSync(join(dir, 'testset_txt_img_cat.list'), 't3\ti3\t1\n');
  const r = xmodal(dir, 'import', 'wikipedia', '.', '--out', 'a');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /raw_features\.mat: not imported: X_tr, X_te .*--image-var and --text-var/);
  const t = xmodal(dir, 'import', 'wikipedia', '.', '--out', 'b', '--text-var', 'X_tr,X_te');
  assert.equal(t.status, 0, t.stderr);
  assert.equal(Dataset.open(join(dir, 'b')).modality('text').dim, 4);
  assert.equal(xmodal(dir, 'import', 'wikipedia', '.', '--out', 'c', '--text-var', 'X_tr').status, 2);
});

test('--labels FILE:COLUMN reads the research .list files (text id, image id, class)', async () => {
  const dir = tempDir();
  const list = join(dir, 'set_txt_img_cat.list');
  writeFileSync(list, 'e3a1b\t9f0c2\t3\nab12c\t77d0e\t1\n');
  const m = await readMatrix(`${list}:3`);
  assert.deepEqual([m.rows, m.cols, ...m.values], [2, 1, 3, 1]);
  await assert.rejects(readMatrix(`${list}:4`), /no column '4'/);
  await assert.rejects(readMatrix(`${list}:1`), /column 1: '\w+' is not a number/);
  const withHeader = join(dir, 'h.tsv');
  writeFileSync(withHeader, 'text\timage\tclass\nx\ty\t2\n');
  const h = await readMatrix(`${withHeader}:class`);
  assert.deepEqual([...h.values], [2]);
  assert.equal(h.header, 'text\timage\tclass');
});

test('--val-fraction carves validation before --drop, so validation items keep every modality', () => {
  const dir = tempDir();
  const file = join(dir, 'v.jsonl');
  writeFileSync(file, Array.from({ length: 40 }, (_, i) => line({ id: `i${i}`, image: [i, 1], text: [1, i], labels: [i % 2 ? 'odd' : 'even'], split: i < 30 ? 'train' : 'test' })).join(''));
  const r = xmodal(dir, 'import', 'jsonl', 'v.jsonl', '--out', 'out', '--val-fraction', '0.2', '--drop', 'image=0.4,text=0.4');
  assert.equal(r.status, 0, r.stderr);
  const ds = Dataset.open(join(dir, 'out'));
  const val = ds.split('val');
  assert.equal(val.length, 6);
  for (const m of ['image', 'text']) assert.ok(ds.present(m, val).every((p) => p === 1), `${m}: validation items keep it`);
  assert.ok(ds.present('image', ds.split('train')).some((p) => p === 0), 'training items lost some images');
});
