// Raw queries and media in the service, on real photos: a typed text or a photo (base64 or multipart) is
// featurised exactly as the indexed items were; media routes serve only what the import recorded.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Dataset } from '../../src/data/dataset.js';
import { imageFeatures } from '../../src/index/featurize.js';
import { queryVectors } from '../../src/index/query.js';
import { MediaStore } from '../../src/serve/media.js';
import { createServer } from '../../src/serve/server.js';
import { textFeatures } from '../../src/index/featurize.js';
import { mediaIndex } from '../helpers/media-index.js';
import { PHOTOS } from '../helpers/media-items.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();
const { data, run, index } = await mediaIndex(dir);
const ds = Dataset.open(data);
const app = createServer({ index, run, media: MediaStore.open(data) });
const photo = readFileSync(join(PHOTOS, 'giraffe.jpg'));

/** A multipart/form-data body by hand (fastify's inject takes a buffer and the boundary header). */
function multipart(fields: Record<string, string>, file?: { name: string; bytes: Uint8Array }) {
  const boundary = 'xmodal-test-boundary';
  const parts = Object.entries(fields).map(([k, v]) => Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  if (file) parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="image"; filename="${file.name}"\r\ncontent-type: image/jpeg\r\n\r\n`), Buffer.from(file.bytes), Buffer.from('\r\n'));
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(parts), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

test('a query is featurised as its item was at import, bit for bit (text and photo)', async () => {
  const media = ds.media()!;
  const i = ds.ids().indexOf('giraffe-2');
  assert.deepEqual(textFeatures(index, 'text', media[i]!.text!), ds.features('text', [i]));
  assert.deepEqual(await imageFeatures(index, 'image', photo), ds.features('image', [i]));
});

test('POST /search by words and by a base64 photo; POST /search/image gives the same as the base64 query', async () => {
  const words = await app.inject({ method: 'POST', url: '/search', payload: { from: 'text', to: 'image', text: 'a giraffe with a long neck', k: 3 } });
  assert.equal(words.statusCode, 200, words.body);
  assert.equal(words.json().results[0].length, 3);
  const base64 = await app.inject({ method: 'POST', url: '/search', payload: { from: 'image', to: 'text', image: photo.toString('base64'), k: 5 } });
  assert.equal(base64.statusCode, 200, base64.body);
  const upload = await app.inject({ method: 'POST', url: '/search/image', ...multipart({ to: 'text', k: '5' }, { name: 'giraffe.jpg', bytes: photo }) });
  assert.equal(upload.statusCode, 200, upload.body);
  assert.deepEqual(upload.json().results, base64.json().results);
  // A label filter travels as a JSON field.
  const filtered = await app.inject({ method: 'POST', url: '/search/image', ...multipart({ to: 'text', k: '5', filter: JSON.stringify({ labelsAny: ['scene'] }) }, { name: 'giraffe.jpg', bytes: photo }) });
  assert.ok(filtered.json().results[0].length > 0 && filtered.json().results[0].every((h: { labels: string[] }) => h.labels.includes('scene')), filtered.body);
  // The same as querying with the photo's features through the encoder directly.
  const [q] = await queryVectors(index, run, [{ from: 'image', vector: await imageFeatures(index, 'image', photo) }]);
  assert.deepEqual(index.search('text', q!, { k: 5 })[0]!.map((h) => h.id), base64.json().results[0].map((h: { id: string }) => h.id));
});

test('bad photos and uploads: a 400 naming the problem', async () => {
  const notImage = await app.inject({ method: 'POST', url: '/search/image', ...multipart({ to: 'text' }, { name: 'notes.jpg', bytes: Buffer.from('just text') }) });
  assert.equal(notImage.statusCode, 400);
  assert.match(notImage.json().error, /^image: not an image sharp can read/);
  const noFile = await app.inject({ method: 'POST', url: '/search/image', ...multipart({ to: 'text' }) });
  assert.equal(noFile.statusCode, 400);
  assert.match(noFile.json().error, /no file field "image"/);
  const json = await app.inject({ method: 'POST', url: '/search/image', payload: { to: 'text' } });
  assert.equal(json.statusCode, 400);
  assert.match(json.json().error, /multipart\/form-data/);
  const badBase64 = await app.inject({ method: 'POST', url: '/search', payload: { from: 'image', to: 'text', image: 'data:image/jpeg;base64,xyz' } });
  assert.equal(badBase64.statusCode, 400);
  assert.match(badBase64.json().error, /body\.image: base64 of an image file/);
  const wrongModality = await app.inject({ method: 'POST', url: '/search', payload: { from: 'text', to: 'image', image: photo.toString('base64') } });
  assert.equal(wrongModality.statusCode, 400);
  assert.match(wrongModality.json().error, /the text modality has no image featuriser/);
});

test('media routes: an item\'s thumbnail and text; nothing else reaches the file system; a changed file is not served', async () => {
  const image = await app.inject({ method: 'GET', url: '/items/dog-1/media/image' });
  assert.equal(image.statusCode, 200);
  assert.equal(image.headers['content-type'], 'image/jpeg');
  const sha = ds.media()![0]!.image!.thumbnail;
  assert.deepEqual(image.rawPayload, readFileSync(ds.thumbnailPath(sha)));
  const text = await app.inject({ method: 'GET', url: '/items/dog-1/media/text' });
  assert.equal(text.body, 'dog\na brown dog sitting beside a bicycle');
  for (const url of ['/items/..%2Fdataset.json/media/image', '/items/nope/media/text', `/items/${sha}/media/image`]) {
    const r = await app.inject({ method: 'GET', url });
    assert.equal(r.statusCode, 404, url);
  }
  const info = (await app.inject({ method: 'GET', url: '/info' })).json();
  assert.deepEqual(info.modalities.map((m: { image: boolean; text: boolean }) => [m.image, m.text]), [[true, false], [false, true]]);
  const sample = (await app.inject({ method: 'GET', url: '/sample?n=4' })).json().items as Array<{ id: string }>;
  assert.equal(new Set(sample.map((s) => s.id)).size, 4);
  // A thumbnail replaced on disk no longer matches its sha256: refused, not served.
  writeFileSync(ds.thumbnailPath(sha), Buffer.from('tampered'));
  assert.equal((await app.inject({ method: 'GET', url: '/items/dog-1/media/image' })).statusCode, 404);
});
