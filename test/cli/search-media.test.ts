// xmodal search --image / --text on an index of real photos: the CLI featurises a photo or words exactly as
// the service and the library do (same ids and scores), and refuses a file that is not an image in one line.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { imageFeatures } from '../../src/index/featurize.js';
import { queryVectors } from '../../src/index/query.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { mediaIndex } from '../helpers/media-index.js';
import { PHOTOS } from '../helpers/media-items.js';
import { tempDir } from '../helpers/tmp.js';

const CLI = join(PACKAGE_ROOT, 'dist', 'src', 'cli', 'main.js');

test('search --image and --text: the same hits as in process; a non-image is one line naming the file', async () => {
  const dir = tempDir();
  const { run, index } = await mediaIndex(dir);
  const indexDir = join(dir, 'index');
  await index.save(indexDir);
  const photo = join(PHOTOS, 'eagle.jpg');
  const r = spawnSync(process.execPath, [CLI, 'search', indexDir, '--from', 'image', '--to', 'text', '--image', photo, '-k', '4', '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const [q] = await queryVectors(index, run, [{ from: 'image', vector: await imageFeatures(index, 'image', readFileSync(photo)) }]);
  assert.deepEqual(JSON.parse(r.stdout), index.search('text', q!, { k: 4 }));
  const words = spawnSync(process.execPath, [CLI, 'search', indexDir, '--from', 'text', '--to', 'image', '--text', 'an eagle with wings', '-k', '2', '--json'], { encoding: 'utf8' });
  assert.equal(words.status, 0, words.stderr);
  const [w] = await queryVectors(index, run, [{ from: 'text', text: 'an eagle with wings' }]);
  assert.deepEqual(JSON.parse(words.stdout), index.search('image', w!, { k: 2 }));
  // Another data set whose text vocabulary differs cannot be indexed with this run: its columns mean other words.
  const other = spawnSync(process.execPath, [CLI, 'import', 'media', join(dir, 'items.jsonl'), '--out', join(dir, 'other'), '--image-field', 'image', '--text-field', 'name', '--label-field', 'label', '--split-field', 'split', '--id-field', 'id', '--min-df', '1'], { encoding: 'utf8' });
  assert.equal(other.status, 0, other.stderr);
  const refused = spawnSync(process.execPath, [CLI, 'index', run.dir, '--data', join(dir, 'other'), '--out', join(dir, 'other-index')], { encoding: 'utf8' });
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /other: the text featuriser differs from the one the run was trained on \(.*ds\): maxFeatures: 500 vs 5000\n$/);
  const notes = join(dir, 'notes.jpg');
  writeFileSync(notes, 'not a photo');
  const bad = spawnSync(process.execPath, [CLI, 'search', indexDir, '--from', 'image', '--to', 'text', '--image', notes], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr, `xmodal: ${notes}: not an image sharp can read (Input buffer contains unsupported image format)\n`);
});
