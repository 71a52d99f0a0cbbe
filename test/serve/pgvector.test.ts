// The pgvector engine from the command line: xmodal index --engine pgvector, search and export give what the
// embedded index gives; refusals are one line; two services on one database see each other's writes; a service
// killed during a write burst loses no acknowledged write. Needs the server scripts/postgres.sh starts.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { PgCollection } from '../../src/index/pgvector.js';
import { SearchIndex } from '../../src/index/search-index.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { train } from '../../src/train/trainer.js';
import { skipWithoutDatabase, TEST_DATABASE, uniqueIndexName } from '../helpers/postgres.js';
import { tempDir } from '../helpers/tmp.js';
import { tinyDataset, tinyOptions } from '../helpers/tiny-dataset.js';

const cli = join(PACKAGE_ROOT, 'dist/src/cli/main.js');
const xmodal = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
const url = TEST_DATABASE ?? '';
const name = uniqueIndexName('cli');
const token = 'test-token-123';
const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

after(async () => {
  if (TEST_DATABASE) await PgCollection.drop(url, name);
});

async function serve(): Promise<{ child: ChildProcess; address: string }> {
  const child = spawn(process.execPath, [cli, 'serve', name, '--database', url, '--port', '0', '--token', token], { stdio: ['ignore', 'pipe', 'pipe'] });
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /on (http:\/\/[^\s]+) \(/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
  return { child, address };
}

const stop = (child: ChildProcess) => new Promise((resolve) => {
  if (child.exitCode !== null || child.signalCode !== null) return resolve(null);
  child.once('exit', resolve);
  child.kill('SIGTERM');
});

describe('pgvector from the command line', { skip: skipWithoutDatabase }, async () => {
  const dir = tempDir();
  const runDir = join(dir, 'run');
  if (!skipWithoutDatabase) await train({ method: 'pgnn-con', options: tinyOptions, data: tinyDataset(dir), out: runDir, epochs: 2, batchSize: 20, lr: 1e-3 });
  const embedded = join(dir, 'embedded');

  test('index, search and export: the same results as the embedded index; refusals in one line', () => {
    let r = xmodal('index', runDir, '--engine', 'pgvector', '--database', url, '--name', name);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`wrote index '${name}' to the database: 80 items, image \\+ text, pgvector engine`));
    assert.equal(xmodal('index', runDir, '--out', embedded).status, 0);
    const search = (...where: string[]) => {
      const out = xmodal('search', ...where, '--from', 'text', '--to', 'image', '--item', '3', '-k', '5', '--labels-any', 'sky,dog', '--json');
      assert.equal(out.status, 0, out.stderr);
      return JSON.parse(out.stdout) as Array<Array<{ id: string; score: number; labels: string[] }>>;
    };
    const fromDb = search(name, '--database', url)[0]!;
    const fromDir = search(embedded)[0]!;
    assert.equal(fromDb.length, 5);
    assert.deepEqual(fromDb.map((h) => [h.id, h.labels]), fromDir.map((h) => [h.id, h.labels]));
    fromDb.forEach((h, i) => assert.ok(Math.abs(h.score - fromDir[i]!.score) < 1e-5));

    const exported = join(dir, 'exported');
    r = xmodal('index', 'export', name, '--database', url, '--out', exported);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(search(exported)[0], fromDir);
    assert.equal(SearchIndex.load(exported).size, 80);

    const refusals: Array<[string[], RegExp]> = [
      [['index', runDir, '--engine', 'pgvector', '--database', url, '--name', name], new RegExp(`index '${name}' exists \\(use --force to replace it\\)`)],
      [['index', runDir, '--engine', 'pgvector', '--database', url, '--name', 'Bad-Name'], /index name "Bad-Name" is not allowed in a database: use lower-case letters/],
      [['index', runDir, '--engine', 'pgvector', '--name', name], /--engine pgvector needs --database URL/],
      [['index', runDir, '--engine', 'pgvector', '--database', 'postgres://nobody@127.0.0.1:1/none', '--name', name], /postgres:\/\/nobody@127\.0\.0\.1:1\/none: connection refused/],
      [['search', 'no_such_index', '--database', url, '--from', 'text', '--to', 'image', '--item', '3'], /no index 'no_such_index' in this database/],
      [['index', 'export', name, '--database', url, '--out', exported], /exists/],
    ];
    for (const [args, message] of refusals) {
      const out = xmodal(...args);
      assert.notEqual(out.status, 0, args.join(' '));
      assert.match(out.stderr, message);
      assert.equal(out.stderr.trim().split('\n').length, 1, out.stderr);
    }
  });

  test('two services on one database: a write through one is seen by the other', async () => {
    const a = await serve();
    const b = await serve();
    try {
      const add = await fetch(`${a.address}/items`, { method: 'POST', headers: auth, body: JSON.stringify({ id: 'shared-1', labels: ['car'], metadata: { via: 'a' }, features: { image: new Array(16).fill(0.3) } }) });
      assert.equal(add.status, 201, await add.text());
      const seen = await fetch(`${b.address}/items/shared-1`);
      assert.equal(seen.status, 200);
      assert.deepEqual(((await seen.json()) as { metadata: unknown }).metadata, { via: 'a' });
      const found = await fetch(`${b.address}/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ from: 'image', to: 'image', item: 'shared-1', k: 1 }) });
      assert.equal(((await found.json()) as { results: Array<Array<{ id: string }>> }).results[0]![0]!.id, 'shared-1');
      assert.equal(((await (await fetch(`${b.address}/health`)).json()) as { items: number }).items, 81);
      assert.equal((await fetch(`${b.address}/items/shared-1`, { method: 'DELETE', headers: { authorization: auth.authorization } })).status, 204);
      assert.equal((await fetch(`${a.address}/items/shared-1`)).status, 404);
      assert.equal(((await (await fetch(`${a.address}/health`)).json()) as { items: number }).items, 80);
    } finally {
      await stop(a.child);
      await stop(b.child);
    }
  });

  test('a service killed (SIGKILL) during a write burst: every acknowledged write is in the database, none half-applied', async () => {
    const { child, address } = await serve();
    const acked: number[] = [];
    let killed = false;
    const item = (id: string) => ({ id, labels: ['dog'], metadata: {}, features: { image: new Array(16).fill(0.2) } });
    await Promise.all(Array.from({ length: 8 }, async (_, c) => {
      for (let n = c; n < 400 && !killed; n += 8) {
        try {
          const r = await fetch(`${address}/items`, { method: 'POST', headers: auth, body: JSON.stringify([item(`k${n}a`), item(`k${n}b`)]) });
          if (r.status === 201) acked.push(n);
          if (acked.length >= 25 && !killed) {
            killed = true;
            child.kill('SIGKILL');
          }
        } catch {
          // in flight when the process died: never acknowledged
        }
      }
    }));
    await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.once('exit', resolve)));
    const c = await PgCollection.open(url, name);
    try {
      for (const n of acked) assert.ok((await c.item(`k${n}a`)) && (await c.item(`k${n}b`)), `acknowledged batch ${n} lost`);
      for (let n = 0; n < 400; n++) assert.equal(Boolean(await c.item(`k${n}a`)), Boolean(await c.item(`k${n}b`)), `batch ${n} half-applied`);
      const live = (await Promise.all(Array.from({ length: 400 }, (_, n) => c.item(`k${n}a`)))).filter(Boolean).length;
      assert.equal(await c.size(), 80 + 2 * live, 'the item count moves with the rows');
    } finally {
      await c.close();
    }
  });
});
