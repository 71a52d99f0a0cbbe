// Writes are all or nothing and acknowledged once saved; non-finite embeddings are refused; writes never race;
// deleted items do not pile up; a corrupt index is refused in one line; serve fails in one line on a bad port.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeNpy } from '../../src/data/formats/npy.js';
import { buildIndex } from '../../src/index/build.js';
import { JournalWriter } from '../../src/index/journal.js';
import { SearchIndex } from '../../src/index/search-index.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { SECURITY_HEADERS } from '../../src/serve/page.js';
import { createServer } from '../../src/serve/server.js';
import { loadRun } from '../../src/runs/load.js';
import { train } from '../../src/train/trainer.js';
import { GroupCommit } from '../../src/util/group-commit.js';
import { tempDir } from '../helpers/tmp.js';
import { tinyDataset, tinyOptions } from '../helpers/tiny-dataset.js';

const cli = join(PACKAGE_ROOT, 'dist/src/cli/main.js');
const dir = tempDir();
const data = tinyDataset(dir);
const runDir = join(dir, 'run');
await train({ method: 'pgnn-con', options: tinyOptions, data, out: runDir, epochs: 2, batchSize: 20, lr: 1e-3 });
const run = await loadRun(runDir);
const token = 'test-token-123';
const auth = { authorization: `Bearer ${token}` };
const item = (id: string, extra: Record<string, unknown> = {}) => ({ id, labels: ['dog'], metadata: {}, features: { image: new Array(16).fill(0.2) }, ...extra });

test('a batch [good, bad] is refused whole: the good item is not live and is never persisted', async () => {
  const index = buildIndex(run, { engine: 'exact' });
  const path = join(dir, 'refused');
  await index.save(path);
  const writer = await JournalWriter.open(index, path);
  const app = createServer({ index, run, token, writer });
  const before = index.size;
  const r = await app.inject({ method: 'POST', url: '/items', headers: auth, payload: [item('good'), item('bad', { labels: ['no-such-label'] })] });
  assert.equal(r.statusCode, 400, r.body);
  assert.match(r.json().error, /item 'bad': unknown label 'no-such-label'/);
  assert.equal(index.size, before);
  assert.equal((await app.inject({ method: 'GET', url: '/items/good' })).statusCode, 404);
  const dup = await app.inject({ method: 'POST', url: '/items', headers: auth, payload: [item('twin'), item('twin')] });
  assert.equal(dup.statusCode, 400);
  assert.equal(index.size, before);
  await app.close();
  assert.equal(readFileSync(join(path, 'journal.jsonl'), 'utf8'), '', 'nothing reached the journal');
  assert.equal(SearchIndex.load(path).size, before);
});

test('features that make a NaN embedding are refused with 400, and searches stay whole', async () => {
  const index = buildIndex(run, { engine: 'exact' });
  const app = createServer({ index, run, token });
  const r = await app.inject({ method: 'POST', url: '/items', headers: auth, payload: item('huge', { features: { image: new Array(16).fill(3e38) } }) });
  assert.equal(r.statusCode, 400, r.body);
  assert.match(r.json().error, /embedding is not finite/);
  assert.equal((await app.inject({ method: 'GET', url: '/items/huge' })).statusCode, 404);
  const q = await app.inject({ method: 'POST', url: '/search', payload: { from: 'image', to: 'text', vector: new Array(16).fill(3e38) } });
  assert.equal(q.statusCode, 400);
  assert.match(q.json().error, /embedding is not finite or is zero/);
  const ok = await app.inject({ method: 'POST', url: '/search', payload: { from: 'text', to: 'image', item: '3', k: 5 } });
  assert.equal(ok.json().results[0].length, 5);
});

test('saves never overlap and concurrent writers share them; each write is answered only after its save', async () => {
  let running = 0;
  let maxRunning = 0;
  let saves = 0;
  const commit = new GroupCommit(async () => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    await new Promise((r) => setTimeout(r, 20));
    saves++;
    running--;
  });
  const done = await Promise.all(Array.from({ length: 10 }, async () => { await commit.commit(); return saves; }));
  assert.equal(maxRunning, 1);
  assert.ok(saves <= 3, `10 writers shared ${saves} saves`);
  assert.ok(done.every((s) => s >= 1));
  const failing = new GroupCommit(async () => { throw new Error('disk full'); });
  await assert.rejects(failing.commit(), /disk full/);
});

test('concurrent writes through the service all land on disk (journal replayed); deleted items are compacted away', async () => {
  const index = buildIndex(run, { engine: 'exact' });
  const path = join(dir, 'served');
  await index.save(path);
  const app = createServer({ index, run, token, writer: await JournalWriter.open(index, path) });
  const adds = await Promise.all(Array.from({ length: 12 }, (_, i) => app.inject({ method: 'POST', url: '/items', headers: auth, payload: item(`new${i}`) })));
  assert.ok(adds.every((r) => r.statusCode === 201));
  assert.equal(SearchIndex.load(path).size, 80 + 12);
  for (let i = 0; i < 12; i++) assert.equal((await app.inject({ method: 'DELETE', url: `/items/new${i}`, headers: auth })).statusCode, 204);
  for (let i = 0; i < 40; i++) assert.equal((await app.inject({ method: 'DELETE', url: `/items/${i}`, headers: auth })).statusCode, 204);
  const reloaded = SearchIndex.load(path);
  assert.equal(reloaded.size, 40);
  assert.ok(reloaded.deadSlots * 4 <= 40 + reloaded.deadSlots, `dead slots ${reloaded.deadSlots} bounded by a quarter`);
  const hits = reloaded.search('image', reloaded.embeddingOf('50', 'text'), { k: 40 })[0]!;
  assert.equal(hits.length, 40);
  assert.ok(hits.every((h) => Number(h.id) >= 40));
});

test('every response carries the security headers; the page has no inline script', async () => {
  const app = createServer({ index: buildIndex(run, { engine: 'exact' }), run });
  for (const url of ['/', '/app.js', '/info', '/no-such-route']) {
    const r = await app.inject({ method: 'GET', url });
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) assert.equal(r.headers[k], v, `${url} ${k}`);
  }
  assert.match(SECURITY_HEADERS['content-security-policy'], /script-src 'self';/);
  const page = (await app.inject({ method: 'GET', url: '/' })).body;
  assert.doesNotMatch(page, /<script>|<style>|\son\w+=/);
  const js = (await app.inject({ method: 'GET', url: '/app.js' })).body;
  assert.doesNotMatch(js, /innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
});

test('a corrupt index is refused in one line naming the file', async () => {
  const index = buildIndex(run, { engine: 'exact' });
  const path = join(dir, 'corrupt');
  await index.save(path);
  const live = readFileSync(join(path, 'live.npy'));
  writeFileSync(join(path, 'live.npy'), encodeNpy(new Uint8Array(70).fill(1), [70]));
  assert.throws(() => SearchIndex.load(path), /live\.npy: \d+ bytes, index\.json says \d+/);
  writeFileSync(join(path, 'live.npy'), live);
  const manifest = JSON.parse(readFileSync(join(path, 'index.json'), 'utf8'));
  delete manifest.files; // an index made before checksums: shapes are still checked
  writeFileSync(join(path, 'index.json'), JSON.stringify(manifest));
  writeFileSync(join(path, 'live.npy'), encodeNpy(new Uint8Array(70).fill(1), [70]));
  assert.throws(() => SearchIndex.load(path), /live\.npy: shape \(70\), expected \(80\)/);
  writeFileSync(join(path, 'index.json'), '{"format": "xmodal-index",');
  const r = spawnSync(process.execPath, [cli, 'search', path, '--from', 'text', '--to', 'image', '--item', '3'], { encoding: 'utf8' });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr.trim(), /^xmodal: .*index\.json: not valid JSON/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});

test('serve on a port in use or an invalid port: one line, exit 2', async () => {
  const path = join(dir, 'port-index');
  await buildIndex(run, { engine: 'exact' }).save(path);
  const blocker = createNetServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as { port: number }).port;
  try {
    const serve = (p: string) => new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [cli, 'serve', path, '--port', p], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.on('close', (status) => { clearTimeout(timer); resolve({ status, stderr }); });
    });
    const busy = await serve(String(port));
    assert.equal(busy.status, 2, busy.stderr);
    assert.equal(busy.stderr.trim(), `xmodal: cannot listen on 127.0.0.1:${port}: the port is in use (another xmodal serve? pick another with --port)`);
    const bad = await serve('70000');
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr.trim(), /^xmodal: --port '70000': not a port/);
  } finally {
    blocker.close();
  }
});

test('a service killed (SIGKILL) during a write burst: every acknowledged write is on disk, no batch half-applied', async () => {
  const path = join(dir, 'killed');
  await buildIndex(run, { engine: 'exact' }).save(path);
  const child = spawn(process.execPath, [cli, 'serve', path, '--port', '0', '--token', token], { stdio: ['ignore', 'pipe', 'pipe'] });
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /on (http:\/\/[^\s]+) \(/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}`)));
  });
  const acked: number[] = [];
  let killed = false;
  const post = async (b: number) => {
    try {
      const r = await fetch(`${address}/items`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify([item(`k${b}a`), item(`k${b}b`)]) });
      if (r.status === 201) acked.push(b);
      if (acked.length >= 25 && !killed) {
        killed = true;
        child.kill('SIGKILL');
      }
    } catch {
      // a request in flight when the process died: never acknowledged
    }
  };
  // Eight clients in a burst until the kill.
  await Promise.all(Array.from({ length: 8 }, async (_, c) => {
    for (let b = c; b < 400 && !killed; b += 8) await post(b);
  }));
  await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.once('exit', resolve)));
  assert.ok(killed && acked.length >= 25, `${acked.length} writes acknowledged before the kill`);
  const reloaded = SearchIndex.load(path);
  for (const b of acked) assert.ok(reloaded.item(`k${b}a`) && reloaded.item(`k${b}b`), `acknowledged batch ${b} lost`);
  for (let b = 0; b < 400; b++) assert.equal(Boolean(reloaded.item(`k${b}a`)), Boolean(reloaded.item(`k${b}b`)), `batch ${b} half-applied`);
  assert.ok(reloaded.size >= 80 + 2 * acked.length);
});
