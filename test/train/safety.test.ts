// What a new user trips over in training, resuming and loading runs: tampered data, labels that cannot train,
// a missing test split, resume from the run directory alone, stray temporary directories, corrupt run files.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { synthesize, synthDefaults } from '../../src/data/synth.js';
import { writeDataset } from '../../src/data/writer.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { loadRun } from '../../src/runs/load.js';
import { train } from '../../src/train/trainer.js';
import { tempDir } from '../helpers/tmp.js';
import { tinyDataset, tinyOptions } from '../helpers/tiny-dataset.js';

const cli = join(PACKAGE_ROOT, 'dist/src/cli/main.js');
const xmodal = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
const tiny = { method: 'pgnn-con', options: tinyOptions, epochs: 2, batchSize: 20, lr: 1e-3 };
const oneLine = (r: { status: number | null; stderr: string }, pattern: RegExp) => {
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, pattern);
};

/** A synthetic set with disjoint train/test; `labels` rewrites its label matrix. */
function dataset(dir: string, name: string, edit?: (spec: ReturnType<typeof synthesize>) => void): string {
  const labelSource = { names: ['sky', 'sea', 'tree'], data: Uint8Array.from({ length: 60 * 3 }, (_, i) => (i % 3 === Math.floor(i / 3) % 3 ? 1 : 0)), source: 'test' };
  const spec = synthesize({ ...synthDefaults, items: 60, modalities: { image: 8, text: 6 }, missing: {}, noise: 0.2, seed: 1, latentDim: 4, labelSource, name });
  edit?.(spec);
  writeDataset(join(dir, name), spec);
  return join(dir, name);
}

test('a data file changed after import is refused by train and by index (checksums verified)', async () => {
  const dir = tempDir();
  const data = dataset(dir, 'd');
  await train({ ...tiny, data, out: join(dir, 'run') });
  const file = join(data, 'image.npy');
  const bytes = readFileSync(file);
  bytes[bytes.length - 1]! ^= 0x01; // same size, one bit flipped
  writeFileSync(file, bytes);
  await assert.rejects(train({ ...tiny, data, out: join(dir, 'run2') }), /image\.npy: sha256 differs from dataset\.json/);
  assert.deepEqual(readdirSync(join(dir, 'run2')), [], 'a refused run leaves its directory empty');
  await assert.rejects(loadRun(join(dir, 'run')), /image\.npy: sha256 differs/);
  oneLine(xmodal('index', join(dir, 'run'), '--out', join(dir, 'index')), /image\.npy: sha256 differs from dataset\.json/);
});

test('labels that cannot train are refused at start, not after every epoch', async () => {
  const dir = tempDir();
  const zero = dataset(dir, 'zero', (s) => s.labels.data.fill(0));
  await assert.rejects(train({ ...tiny, data: zero, out: join(dir, 'r1') }), /no training item has a label/);
  assert.equal(existsSync(join(dir, 'r1', 'config.json')), false);
  const noVal = dataset(dir, 'noval', (s) => {
    const N = s.labels.data.length / 3;
    s.splits = { train: Int32Array.from({ length: 40 }, (_, i) => i), val: Int32Array.from({ length: 10 }, (_, i) => 40 + i), test: Int32Array.from({ length: N - 50 }, (_, i) => 50 + i) };
    s.labels.data.fill(0, 40 * 3, 50 * 3);
  });
  await assert.rejects(train({ ...tiny, data: noVal, out: join(dir, 'r2') }), /no validation item has a label/);
});

test('--reconstruct for a method without generators is refused at start, before any epoch', async () => {
  const dir = tempDir();
  const data = dataset(dir, 'd');
  const reconstruct = { epochs: 1, lr: 1e-7, optimizer: 'sgd' as const, argOrder: 'paper' as const };
  const epochs: number[] = [];
  await assert.rejects(train({ method: 'dscmr', epochs: 2, batchSize: 20, data, out: join(dir, 'r'), reconstruct }, { onEvent: (e) => e.type === 'epoch' && epochs.push(e.record.epoch) }),
    /^UserError: --reconstruct: dscmr has no generators/);
  assert.deepEqual(epochs, []);
  assert.equal(existsSync(join(dir, 'r', 'config.json')), false);
  oneLine(xmodal('train', '--method', 'cca', '--data', data, '--out', join(dir, 'r2'), '--reconstruct'), /--reconstruct: cca has no generators/);
});

test('a data set without a test split trains with a note saying so, and no result.json', () => {
  const dir = tempDir();
  const data = dataset(dir, 'notest', (s) => { s.splits = { train: s.splits.train!, val: s.splits.test! }; });
  const r = xmodal('train', '--method', 'pgnn-con', '--data', data, '--out', join(dir, 'run'), '--epochs', '1', '--batch-size', '20', '--option', 'commonDim=32', '--option', 'layers=2');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /note: .*notest has no test split: the run will select its model on validation but write no test result/);
  assert.equal(existsSync(join(dir, 'run', 'result.json')), false);
});

test('xmodal train --out RUN --resume (what npm start runs) needs no --method; settings given on resume are refused', async () => {
  const dir = tempDir();
  const data = tinyDataset(dir);
  const run = join(dir, 'run');
  await train({ ...tiny, epochs: 3, data, out: run }, { stopAfterEpoch: 1 });
  oneLine(xmodal('train', '--out', run, '--resume', '--epochs', '5'), /--epochs: not taken with --resume/);
  oneLine(xmodal('train', '--out', run, '--resume', '--method', 'dscmr', '--seed', '3'), /--method, --seed: not taken with --resume/);
  const r = xmodal('train', '--out', run, '--resume', '--checkpoint-seconds', '0', '--json');
  assert.equal(r.status, 0, r.stderr);
  const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; startEpoch?: number; config?: { checkpointSeconds: number } });
  assert.equal(events[0]?.startEpoch, 2);
  assert.equal(events[0]?.config?.checkpointSeconds, 0, '--checkpoint-seconds is applied on resume');
  assert.deepEqual(events.map((e) => e.event), ['start', 'epoch', 'epoch', 'done']);
  oneLine(xmodal('train', '--out', join(dir, 'x'), '--data', data), /--method is required/);
  oneLine(xmodal('train', '--out', join(dir, 'y'), '--method', 'pgnn-con', '--data', data, '--checkpoint-seconds', '-1'), /^xmodal: --checkpoint-seconds '-1': must be at least 0\n$/);
});

test('stray temporary directories of a killed index --force are removed at the next write', async () => {
  const dir = tempDir();
  const data = tinyDataset(dir);
  await train({ ...tiny, data, out: join(dir, 'run') });
  let dead = 4_000_000;
  while (spawnSync('kill', ['-0', String(dead)]).status === 0) dead++;
  const stray = join(dir, `.index.tmp-${dead}-1700000000000`);
  mkdirSync(stray);
  writeFileSync(join(stray, 'labels.npy'), 'partial');
  mkdirSync(`${stray}.old`);
  const mine = join(dir, `.index.tmp-${process.pid}-1`); // a live writer's (this process): left alone
  mkdirSync(mine);
  const r = xmodal('index', join(dir, 'run'), '--out', join(dir, 'index'), '--force');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(existsSync(stray), false);
  assert.equal(existsSync(`${stray}.old`), false);
  assert.equal(existsSync(mine), true);
});

test('corrupt run files give one line naming the file, not a stack trace', async () => {
  const dir = tempDir();
  const data = tinyDataset(dir);
  const run = join(dir, 'run');
  await train({ ...tiny, data, out: run });
  writeFileSync(join(run, 'best', 'meta.json'), '{"epoch": ');
  oneLine(xmodal('eval', run), /best\/meta\.json: not valid JSON/);
  writeFileSync(join(run, 'config.json'), '{"method": 3}');
  oneLine(xmodal('eval', run), /config\.json: field /);
  oneLine(xmodal('train', '--out', run, '--resume'), /config\.json: field /);
});
