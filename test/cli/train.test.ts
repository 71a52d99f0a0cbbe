import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeNpy } from '../../src/data/formats/npy.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { parseMethodOptions } from '../../src/cli/train.js';
import { tempDir } from '../helpers/tmp.js';
import { tinyDataset } from '../helpers/tiny-dataset.js';
import { existsSync, readFileSync } from 'node:fs';

const cli = join(PACKAGE_ROOT, 'dist/src/cli/main.js');
const dir = tempDir();
const data = tinyDataset(dir);
const xmodal = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
const run = join(dir, 'run');
const tiny = ['--option', 'commonDim=32', '--option', 'layers=2', '--option', 'heads=2'];

test('xmodal train --json emits NDJSON events and leaves a complete run', () => {
  const r = xmodal('train', '--method', 'ignn-con', '--data', data, '--out', run, '--epochs', '3', '--batch-size', '20', '--lr', '1e-3', ...tiny, '--json');
  assert.equal(r.status, 0, r.stderr);
  const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string });
  assert.deepEqual(events.map((e) => e.event), ['start', 'epoch', 'epoch', 'epoch', 'done']);
  assert.ok(existsSync(join(run, 'result.json')));
});

test('xmodal eval RUN and xmodal embed use the selected model', () => {
  const e = xmodal('eval', run, '--json', '--metric', 'map');
  assert.equal(e.status, 0, e.stderr);
  const report = JSON.parse(e.stdout);
  assert.deepEqual(Object.keys(report.directions), ['image->text', 'text->image']);
  assert.match(report.title, /selected by best epoch on a validation split/);
  const out = join(dir, 'text.npy');
  const m = xmodal('embed', run, '--modality', 'text', '--split', 'test', '--out', out);
  assert.equal(m.status, 0, m.stderr);
  const emb = decodeNpy(readFileSync(out), out);
  assert.deepEqual(emb.header.shape, [80, 32]);
  assert.equal(decodeNpy(readFileSync(join(dir, 'text.items.npy')), 'items').header.shape[0], 80);
});

test('xmodal train: bad input gives one line and exit 2', () => {
  for (const args of [
    ['train', '--method', 'ignn-con', '--data', data, '--out', run],
    ['train', '--method', 'bogus', '--data', data, '--out', join(dir, 'x')],
    ['train', '--method', 'ignn-con', '--data', data, '--out', join(dir, 'y'), '--epochs', 'ten'],
    ['train', '--method', 'ignn-con', '--data', data, '--out', join(dir, 'z'), '--option', 'noSuchOption=1'],
    ['eval', join(dir, 'no-run')],
    ['embed', run, '--modality', 'audio', '--out', join(dir, 'a.npy')],
  ]) {
    const r = xmodal(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});

test('numeric flags are checked by the schema of the setting they feed: one message, before anything is written', () => {
  const cases: Array<[string[], RegExp]> = [
    // --lr 0 passed the old CLI check and failed later in the config: now the config's own schema refuses it.
    [['train', '--method', 'ignn-con', '--data', data, '--out', join(dir, 'lr0'), '--lr', '0'], /^xmodal: --lr '0': must be more than 0$/m],
    [['train', '--method', 'ignn-con', '--data', data, '--out', join(dir, 'vf'), '--val-fraction', '1'], /^xmodal: --val-fraction '1': must be less than 1$/m],
    [['train', '--method', 'ignn-con', '--data', data, '--out', join(dir, 'so'), '--select-on', 'train'], /^xmodal: --select-on 'train': Invalid option/],
    [['train', '--method', 'ignn-con', '--data', data, '--out', join(dir, 're'), '--reconstruct', '--reconstruct-lr', 'fast'], /^xmodal: --reconstruct-lr 'fast': not a number$/m],
    [['synth', '--out', join(dir, 'syn'), '--items', '-3'], /^xmodal: --items '-3': must be more than 0$/m],
    [['train', '--method', 'ignn-con', '--data', data, '--out', join(dir, 'ep'), '--epochs', '2.5'], /^xmodal: --epochs '2.5': not a whole number$/m],
    [['synth', '--out', join(dir, 'syn'), '--modalities', 'image=big'], /^xmodal: --modalities 'image=big': 'image=big' is not NAME=NUMBER/],
    [['search', join(dir, 'no-index'), '--from', 'image', '--to', 'text', '-k', '0'], /^xmodal: -k '0': must be more than 0$/m],
    [['serve', join(dir, 'no-index'), '--port', '70000'], /^xmodal: --port '70000': not a port/],
  ];
  for (const [args, pattern] of cases) {
    const r = xmodal(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, pattern);
    const out = args.includes('--out') ? args[args.indexOf('--out') + 1] : undefined;
    if (out) assert.equal(existsSync(out), false, `${args.join(' ')} wrote its output`);
  }
});

test('a malformed XMODAL_THREADS is refused in one line before anything runs', () => {
  const r = spawnSync(process.execPath, [cli, 'doctor'], { encoding: 'utf8', env: { ...process.env, XMODAL_THREADS: 'two' } });
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr.trim(), "xmodal: XMODAL_THREADS must be a positive integer, not 'two'");
});

test('--option values: numbers, booleans, and comma-separated lists of numbers or names', () => {
  assert.deepEqual(parseMethodOptions(['tau=0.2', 'semantic=true', 'regularization=0.1,1,10', 'modalities=image,text', 'labelSimilarity=jaccard']), {
    tau: 0.2, semantic: true, regularization: [0.1, 1, 10], modalities: ['image', 'text'], labelSimilarity: 'jaccard',
  });
  assert.throws(() => parseMethodOptions(['tau']), /--option 'tau': expected KEY=VALUE/);
});
