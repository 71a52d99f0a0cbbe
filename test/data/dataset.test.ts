import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Dataset } from '../../src/data/dataset.js';
import { importWikipedia } from '../../src/data/importers/wikipedia.js';
import { datasetInfo, validateDataset } from '../../src/data/inspect.js';
import { mirflickrLabels } from '../../src/data/resources.js';
import { synthDefaults, synthesize } from '../../src/data/synth.js';
import { writeDataset, type DatasetSpec } from '../../src/data/writer.js';
import { UserError } from '../../src/errors.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { entries, needsShared, SHARED_DATA, tempDir } from '../helpers/tmp.js';

const dir = tempDir();

function tiny(): DatasetSpec {
  return {
    name: 'tiny',
    modalities: [
      { name: 'image', dim: 3, data: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), present: Uint8Array.from([1, 1, 0, 1]) },
      { name: 'text', dim: 2, data: Float32Array.from([1, 0, 0, 1, 1, 1, 0, 0]) },
    ],
    labels: { names: ['a', 'b'], data: Uint8Array.from([1, 0, 0, 1, 1, 1, 0, 0]) },
    splits: { train: Int32Array.from([0, 1]), test: Int32Array.from([2, 3]) },
    metadata: [{ id: 'x0', title: 'zero' }, { id: 'x1' }, { id: 'x2' }, { id: 'x3' }],
    provenance: { source: 'unit test', importer: 'test' },
  };
}

test('write then open: lazy per-batch reads give the written rows; absent rows are zero', () => {
  const out = join(dir, 'tiny');
  const manifest = writeDataset(out, tiny());
  assert.equal(manifest.items, 4);
  const ds = Dataset.open(out);
  assert.deepEqual(ds.modalityNames, ['image', 'text']);
  assert.deepEqual(Array.from(ds.features('image', [3, 0])), [10, 11, 12, 1, 2, 3]);
  assert.deepEqual(Array.from(ds.features('image', [2])), [0, 0, 0]);
  assert.deepEqual(Array.from(ds.present('image', [0, 1, 2, 3])), [1, 1, 0, 1]);
  assert.deepEqual(Array.from(ds.present('text', [0, 3])), [1, 1]);
  assert.deepEqual(Array.from(ds.split('test')), [2, 3]);
  assert.deepEqual(Array.from(ds.labels([1, 2])), [0, 1, 1, 1]);
  assert.deepEqual(ds.ids(), ['x0', 'x1', 'x2', 'x3']);
  assert.equal(ds.metadata()[0]!.title, 'zero');
  // sha256 of every file is in the manifest and matches
  for (const [file, entry] of Object.entries(manifest.files)) {
    assert.equal(createHash('sha256').update(readFileSync(join(out, file))).digest('hex'), entry.sha256, file);
  }
  const report = validateDataset(ds);
  assert.deepEqual(report.problems, []);
  assert.ok(report.warnings.some((w) => /image: 1 of 4 items lack it/.test(w)));
  assert.ok(report.warnings.some((w) => /1 items have no label; they are kept/.test(w)));
});

test('an existing destination is refused without --force and replaced with it', () => {
  const out = join(dir, 'again');
  writeDataset(out, tiny());
  assert.throws(() => writeDataset(out, tiny()), /already exists \(use --force/);
  const spec = tiny();
  spec.name = 'replaced';
  writeDataset(out, spec, { force: true });
  assert.equal(Dataset.open(out).name, 'replaced');
  assert.deepEqual(entries(dir).filter((e) => e.includes('tmp')), []);
});

test('bad inputs: one-line errors naming the source, and nothing written', () => {
  const cases: Array<[string, (s: DatasetSpec) => void, RegExp]> = [
    ['row counts disagree', (s) => { s.modalities[1]!.data = new Float32Array(6); }, /modality 'text'.*3 rows, but the labels have 4/],
    ['NaN', (s) => { s.modalities[0]!.data[4] = Number.NaN; }, /non-finite value NaN at row 2, column 2 \(use --allow-nonfinite/],
    ['Inf', (s) => { s.modalities[1]!.data[7] = Infinity; }, /non-finite value Infinity at row 4, column 2/],
    ['label not 0/1', (s) => { s.labels.data[3] = 2; }, /row 2, column 2: label value 2 is not 0 or 1/],
    ['split out of range', (s) => { s.splits.test = Int32Array.from([2, 9]); }, /split 'test': item 9 out of range/],
  ];
  for (const [name, mutate, message] of cases) {
    const spec = tiny();
    mutate(spec);
    const out = join(dir, `bad-${name.replace(/\W/g, '')}`);
    assert.throws(() => writeDataset(out, spec), (e: Error) => e instanceof UserError && message.test(e.message) && !e.message.includes('\n'), name);
    assert.equal(existsSync(out), false, `${name}: nothing written`);
  }
  assert.deepEqual(entries(dir).filter((e) => e.includes('tmp')), [], 'no temporary directories left');
  const spec = tiny();
  spec.modalities[0]!.data[4] = Number.NaN;
  writeDataset(join(dir, 'nonfinite-ok'), spec, { allowNonfinite: true });
  assert.ok(validateDataset(Dataset.open(join(dir, 'nonfinite-ok'))).problems.some((p) => /1 non-finite values \(first at row 2, column 2\)/.test(p)));
});

test('validate finds a modified file; open rejects a broken manifest with the field named', () => {
  const out = join(dir, 'tamper');
  writeDataset(out, tiny());
  appendFileSync(join(out, 'labels.npy'), Buffer.from([0]));
  assert.ok(validateDataset(Dataset.open(out)).problems.some((p) => /labels\.npy: 137 bytes, dataset\.json says 136/.test(p)));
  const text = readFileSync(join(out, 'text.npy'));
  text[text.length - 1] = (text[text.length - 1] as number) ^ 0x40; // same size, different content
  writeFileSync(join(out, 'text.npy'), text);
  assert.ok(validateDataset(Dataset.open(out)).problems.some((p) => /text\.npy: sha256 differs/.test(p)));
  const manifest = JSON.parse(readFileSync(join(out, 'dataset.json'), 'utf8'));
  manifest.modalities[0].dim = -1;
  const broken = join(dir, 'broken');
  writeDataset(broken, tiny());
  writeFileSync(join(broken, 'dataset.json'), JSON.stringify(manifest));
  assert.throws(() => Dataset.open(broken), /dataset\.json: field modalities\.0\.dim:/);
});

test('Wikipedia import: the known shapes, class counts and provenance', { skip: needsShared('wikipedia') }, async () => {
  const spec = await importWikipedia(join(SHARED_DATA, 'wikipedia'));
  const out = join(dir, 'wiki');
  writeDataset(out, spec);
  const ds = Dataset.open(out);
  assert.equal(ds.size, 2866);
  assert.deepEqual(ds.manifest.modalities.map((m) => [m.name, m.dim]), [['image', 128], ['text', 10]]);
  const info = datasetInfo(ds);
  assert.equal(info.splits.train!.items, 2173);
  assert.equal(info.splits.test!.items, 693);
  assert.deepEqual(Object.values(info.splits.train!.labelCounts), [138, 272, 244, 248, 202, 178, 186, 144, 214, 347]);
  assert.equal(info.labels.perItemMean, 1);
  assert.match(ds.manifest.provenance.source, /Rasiwasia/);
  // row order is the list files' order: the first test item is the 2174th item
  assert.equal(ds.metadata()[2173]!.split, 'test');
});

test('the shipped datasets/wikipedia is valid and equals a fresh import of the real files', { skip: needsShared('wikipedia') }, () => {
  const shipped = Dataset.open(join(PACKAGE_ROOT, 'datasets/wikipedia'));
  assert.deepEqual(validateDataset(shipped).problems, []);
  const fresh = Dataset.open(join(dir, 'wiki'));
  for (const m of ['image', 'text']) assert.deepEqual(shipped.features(m, shipped.all()), fresh.features(m, fresh.all()));
  assert.deepEqual(shipped.labels(shipped.all()), fresh.labels(fresh.all()));
});

test('synth: seeded, labels drawn from MIRFlickr rows, missing rates as asked, marked synthetic', async () => {
  const source = await mirflickrLabels();
  assert.equal(source.data.length, 20015 * 24);
  const options = { ...synthDefaults, items: 400, modalities: { image: 16, text: 8, audio: 4 }, missing: { image: 0.5 }, labelSource: source, name: 's' };
  const a = synthesize(options);
  const b = synthesize(options);
  assert.deepEqual(a.modalities[0]!.data, b.modalities[0]!.data);
  assert.notDeepEqual(synthesize({ ...options, seed: 1 }).modalities[0]!.data, a.modalities[0]!.data);
  const rows = new Set<string>();
  for (let r = 0; r < 20015; r++) rows.add(source.data.subarray(r * 24, r * 24 + 24).join(''));
  for (let i = 0; i < 400; i++) assert.ok(rows.has(a.labels.data.subarray(i * 24, i * 24 + 24).join('')), `item ${i} has a real label set`);
  const missing = a.modalities[0]!.present!.reduce((s, p) => s + (p ? 0 : 1), 0) / 400;
  assert.ok(missing > 0.4 && missing < 0.6, `image missing rate ${missing}`);
  const out = join(dir, 'synth');
  writeDataset(out, a);
  const ds = Dataset.open(out);
  assert.notEqual(ds.manifest.synthetic, null);
  assert.deepEqual(validateDataset(ds).problems, []);
  assert.deepEqual(ds.splitNames, ['train', 'val', 'test']);
});
