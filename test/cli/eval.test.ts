import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeNpy } from '../../src/data/formats/npy.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { tempDir } from '../helpers/tmp.js';

const cli = join(PACKAGE_ROOT, 'dist/src/cli/main.js');
const dir = tempDir();
const xmodal = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

// methods.md 2.3
const L = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 1, 1], [1, 0, 0]];
const I = [[0.9, 0.1, 0.3], [0.2, 0.8, 0.5], [0.4, 0.4, 0.1], [0.1, 0.3, 0.9], [0.6, 0.6, 0.2], [0.3, 0.9, 0.1]];
const T = [[0.1, 0.9, 0.2], [0.8, 0.2, 0.4], [0.3, 0.3, 0.8], [0.7, 0.6, 0.1], [0.2, 0.5, 0.5], [0.9, 0.3, 0.3]];
const file = (name: string, data: Float32Array | Uint8Array, shape: number[]) => {
  const path = join(dir, name);
  writeFileSync(path, encodeNpy(data, shape));
  return path;
};
const image = file('image.npy', Float32Array.from(I.flat()), [6, 3]);
const text = file('text.npy', Float32Array.from(T.flat()), [6, 3]);
const labels = file('labels.npy', Uint8Array.from(L.flat()), [6, 3]);

test('xmodal eval --json gives the official golden mAP in both directions', () => {
  const i2t = xmodal('eval', '--query', image, '--retrieval', text, '--query-labels', labels, '--retrieval-labels', labels, '--json');
  assert.equal(i2t.status, 0, i2t.stderr);
  assert.ok(Math.abs(JSON.parse(i2t.stdout).directions['query->retrieval'].mAP - 0.6477314814814814) < 1e-12);
  const t2i = xmodal('eval', '--query', text, '--retrieval', image, '--query-labels', labels, '--retrieval-labels', labels, '--json', '--metric', 'map');
  const result = JSON.parse(t2i.stdout).directions['query->retrieval'];
  assert.ok(Math.abs(result.mAP - 0.6433333333333333) < 1e-12);
  assert.equal(result.precisionAtK, undefined, '--metric map shows only mAP');
  assert.match(result.conventions.mAP, /mAP@all/);
});

test('xmodal eval --report writes the JSON, Markdown, HTML and both plots; --compare reads them back', () => {
  const out = join(dir, 'report');
  const r = xmodal('eval', '--query', image, '--retrieval', text, '--query-labels', labels, '--retrieval-labels', labels, '--label-names', 'a,b,c', '--report', out);
  assert.equal(r.status, 0, r.stderr);
  for (const f of ['result.json', 'result.md', 'report.html', 'pr.svg', 'pr.png', 'per-class.svg', 'per-class.png']) assert.ok(existsSync(join(out, f)), f);
  assert.deepEqual([...readFileSync(join(out, 'pr.png')).subarray(1, 4)], [...Buffer.from('PNG')]);
  assert.match(readFileSync(join(out, 'pr.svg'), 'utf8'), /<svg/);
  assert.match(readFileSync(join(out, 'report.html'), 'utf8'), /<img src="per-class\.svg"/);
  const again = xmodal('eval', '--query', image, '--retrieval', text, '--query-labels', labels, '--retrieval-labels', labels, '--report', out);
  assert.equal(again.status, 2);
  assert.match(again.stderr, /already exists \(use --force/);
  const compare = xmodal('eval', '--compare', out, join(out, 'result.json'));
  assert.equal(compare.status, 0, compare.stderr);
  assert.equal(compare.stdout.match(/\| report \| 0\.6477 \| 0\.6477 \|/g)?.length, 2, 'one row per result given');
});

test('xmodal eval: instance-level Recall@K with group ids', () => {
  const groups = file('groups.npy', Float32Array.from([0, 1, 2, 3, 4, 5]), [6]);
  const r = xmodal('eval', '--query', image, '--retrieval', text, '--query-groups', groups, '--retrieval-groups', groups, '--json');
  assert.equal(r.status, 0, r.stderr);
  const result = JSON.parse(r.stdout).directions['query->retrieval'];
  assert.ok(result.recallAtK['10'] === 1);
  assert.match(result.conventions.relevance, /same instance/);
});

test('xmodal eval: bad input gives one line naming the option or file, exit 2', () => {
  const short = file('short.npy', Uint8Array.from([1, 0, 0]), [1, 3]);
  for (const args of [
    ['--query', image, '--retrieval', text, '--query-labels', short, '--retrieval-labels', labels],
    ['--query', image, '--retrieval', text, '--query-labels', labels, '--retrieval-labels', labels, '--distance', 'manhattan'],
    ['--query', image, '--retrieval', text, '--query-labels', labels, '--retrieval-labels', labels, '--k', '0,5'],
    ['--query', join(dir, 'missing.npy'), '--retrieval', text, '--query-labels', labels, '--retrieval-labels', labels],
  ]) {
    const r = xmodal('eval', ...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});

test('xmodal eval RUN --split val scores the items the run was selected on; --query-expansion is checked and applied', async () => {
  const { tinyDataset, tinyOptions } = await import('../helpers/tiny-dataset.js');
  const { train } = await import('../../src/train/trainer.js');
  const out = join(dir, 'qe-run');
  const result = await train({ method: 'pgnn-con', options: tinyOptions, data: tinyDataset(dir), out, epochs: 3, batchSize: 20, lr: 1e-3, valFraction: 0.25 });
  const evaluate = (...extra: string[]) => {
    const r = xmodal('eval', out, '--split', 'val', '--metric', 'map', '--json', ...extra);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as { title: string; averageMAP: number };
  };
  const plain = evaluate();
  assert.ok(Math.abs(plain.averageMAP - result.bestScore) < 1e-12, `val ${plain.averageMAP}, selected on ${result.bestScore}`);
  assert.match(plain.title, /val split \(carved from train: the items the model was selected on\)/);
  const expanded = evaluate('--query-expansion', '0.2,1');
  assert.match(expanded.title, /query expansion n 0.2 weight 1/);
  assert.notEqual(expanded.averageMAP, plain.averageMAP);
  assert.equal(evaluate('--query-expansion', '0,1').averageMAP, plain.averageMAP);
  const bad = xmodal('eval', out, '--query-expansion', '1.5,1');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^xmodal: --query-expansion '1.5,1': expected N,WEIGHT/);
});
