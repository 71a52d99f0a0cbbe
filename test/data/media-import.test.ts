// xmodal import media on real photos and texts: the data set it writes, bad files (refused in one line naming
// the file, or left out with --skip-bad), the feature cache, and that a failed import leaves nothing behind.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Dataset } from '../../src/data/dataset.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { tempDir } from '../helpers/tmp.js';
import { writeMediaItems } from '../helpers/media-items.js';

const CLI = join(PACKAGE_ROOT, 'dist', 'src', 'cli', 'main.js');
const xmodal = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
const mediaArgs = (items: string, out: string) => ['import', 'media', items, '--out', out, '--image-field', 'image', '--text-field', 'name,description', '--label-field', 'label', '--split-field', 'split', '--id-field', 'id', '--min-df', '1'];

test('a JSONL of photos and texts becomes a data set with both featurisers, media and thumbnails; a re-run reuses the cache', () => {
  const dir = tempDir();
  const items = writeMediaItems(dir);
  const out = join(dir, 'ds');
  const r = xmodal(...mediaArgs(items, out));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /wrote .*: 14 items \(train 7, test 7\); image 960-d, text \d+-d; 2 labels/);
  const ds = Dataset.open(out).verify();
  assert.deepEqual(ds.labelNames, ['animal', 'scene']);
  assert.equal((ds.featurizerState('image') as { name: string; layer: string }).layer, 'block_16_expand_relu');
  assert.equal((ds.featurizerState('text') as { name: string }).name, 'tfidf');
  const media = ds.media()!;
  assert.equal(media[0]!.text, 'dog\na brown dog sitting beside a bicycle');
  assert.equal(media[0]!.image!.source, 'photos/dog.jpg');
  assert.equal(media[0]!.image!.thumbnail, media[1]!.image!.thumbnail, 'one photo, one thumbnail');
  assert.equal(readdirSync(join(out, 'thumbnails')).length, 7);
  assert.deepEqual(ds.metadata()[0], { id: 'dog-1', title: 'dog' });
  // The text vocabulary comes from training texts only: a word only in test texts is not a column.
  const vocabulary = (ds.featurizerState('text') as { vocabulary: string[] }).vocabulary;
  assert.ok(vocabulary.includes('bicycle') && !vocabulary.includes('expressionist'), vocabulary.join(' '));
  // Again into another directory: every image's features come from the cache and are the same bytes.
  const again = xmodal(...mediaArgs(items, join(dir, 'ds2')), '--cache', `${out}.cache`);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /14 image features reused from /);
  assert.deepEqual(readFileSync(join(dir, 'ds2', 'image.npy')), readFileSync(join(out, 'image.npy')));
});

test('CSV input, items without a photo or a text become items without that modality', () => {
  const dir = tempDir();
  writeMediaItems(dir);
  const csv = ['id,image,description,label', 'a,photos/dog.jpg,"a dog, sitting",animal', 'b,,"a horse, running",animal', 'c,photos/kite.jpg,,scene', 'd,photos/scream.jpg,a painting,scene'].join('\n');
  writeFileSync(join(dir, 'items.csv'), csv + '\n');
  const out = join(dir, 'ds');
  const r = xmodal('import', 'media', join(dir, 'items.csv'), '--out', out, '--image-field', 'image', '--text-field', 'description', '--label-field', 'label', '--id-field', 'id', '--min-df', '1');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /no line has a "split" field: all 4 items go to train/);
  const ds = Dataset.open(out);
  assert.deepEqual([...ds.present('image', ds.all())], [1, 0, 1, 1]);
  assert.deepEqual([...ds.present('text', ds.all())], [1, 1, 0, 1]);
  assert.equal(ds.media()![1]!.image, null);
  assert.equal(ds.media()![2]!.text, null);
});

test('a missing or broken photo: one line naming it and nothing written; --skip-bad leaves such items out with a count', () => {
  const dir = tempDir();
  const items = writeMediaItems(dir, [
    { id: 'gone', image: 'photos/nowhere.jpg', description: 'missing', label: 'scene', split: 'train' },
    { id: 'bad', image: 'broken.jpg', description: 'broken', label: 'scene', split: 'train' },
  ]);
  writeFileSync(join(dir, 'broken.jpg'), 'not a photo\n');
  const out = join(dir, 'ds');
  const r = xmodal(...mediaArgs(items, out));
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^xmodal: .*items\.jsonl: line 15: image .*nowhere\.jpg: cannot read: ENOENT \(--skip-bad leaves such items out\)\n$/);
  assert.ok(!existsSync(out), 'no half-written data set');
  const skipped = xmodal(...mediaArgs(items, out), '--skip-bad');
  assert.equal(skipped.status, 0, skipped.stderr);
  assert.match(skipped.stderr, /left out 2 items whose image is missing or unreadable \(--skip-bad\)/);
  assert.equal(Dataset.open(out).size, 14);
  // Only the broken file: its line and why.
  const onlyBroken = writeMediaItems(join(dir, 'b'), [{ id: 'bad', image: '../broken.jpg', description: 'x', label: 'scene', split: 'train' }]);
  const b = xmodal(...mediaArgs(onlyBroken, join(dir, 'b', 'ds')));
  assert.match(b.stderr, /line 15: image \.\.\/broken\.jpg: not an image sharp can read/);
});

test('bad fields: one line naming the field', () => {
  const dir = tempDir();
  const items = writeMediaItems(dir);
  const r = xmodal('import', 'media', items, '--out', join(dir, 'ds'), '--text-field', 'summary', '--label-field', 'label');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /no item has the field 'summary' \(fields: id, image, name, description, label, split\)/);
  const f = xmodal('import', 'media', items, '--out', join(dir, 'ds'), '--image-field', 'image', '--label-field', 'label', '--image-features', 'resnet');
  assert.equal(f.status, 2);
  assert.match(f.stderr, /--image-features 'resnet'/);
});
