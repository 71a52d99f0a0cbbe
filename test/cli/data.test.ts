import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { needsShared, SHARED_DATA, tempDir } from '../helpers/tmp.js';

const cli = join(PACKAGE_ROOT, 'dist/src/cli/main.js');
const dir = tempDir();

function xmodal(...args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
}

test('xmodal import wikipedia, info and validate on the real files', { skip: needsShared('wikipedia') }, () => {
  const out = join(dir, 'wiki');
  const imp = xmodal('import', 'wikipedia', join(SHARED_DATA, 'wikipedia'), '--out', out);
  assert.equal(imp.status, 0, imp.stderr);
  assert.match(imp.stdout, /2866 items \(train 2173, test 693\)/);
  const info = xmodal('info', out, '--json');
  assert.equal(info.status, 0, info.stderr);
  assert.equal(JSON.parse(info.stdout).splits.test.items, 693);
  const valid = xmodal('validate', out);
  assert.equal(valid.status, 0);
  assert.match(valid.stdout, /valid/);
});

test('user errors: one line on stderr naming the file, exit code 2, nothing written', { skip: needsShared('wikipedia', 'pascal-sentence') }, () => {
  const out = join(dir, 'nothing');
  const cases = [
    ['import', 'layout', join(SHARED_DATA, 'pascal-sentence'), '--out', out],
    ['import', 'arrays', '--modality', `image=${join(SHARED_DATA, 'wikipedia/raw_features.mat')}:I_tr`, '--labels', `${join(SHARED_DATA, 'wikipedia/raw_features.mat')}:labels`, '--out', out],
    ['info', join(dir, 'no-such-dir')],
    ['synth', '--out', out, '--items', 'many'],
  ];
  for (const args of cases) {
    const r = xmodal(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^xmodal: /);
    assert.doesNotMatch(r.stderr, /\bat .*\.js:\d+/);
  }
  assert.equal(existsSync(out), false);
  assert.deepEqual(readdirSync(dir).filter((e) => e.includes('tmp')), []);
});

test('xmodal synth writes a valid synthetic data set', () => {
  const out = join(dir, 'syn');
  const r = xmodal('synth', '--out', out, '--items', '120', '--modalities', 'image=8,text=4,audio=3', '--missing', 'audio=0.5', '--seed', '3');
  assert.equal(r.status, 0, r.stderr);
  const info = JSON.parse(xmodal('info', out, '--json').stdout);
  assert.equal(info.synthetic, true);
  assert.equal(info.modalities.length, 3);
  assert.ok(info.modalities[2].missingRate > 0.3);
});

test('xmodal import arrays stacks train and test variables: UCI Multiple Features, three real views', { skip: needsShared('uci-mfeat') }, () => {
  const out = join(dir, 'mfeat');
  const mat = join(SHARED_DATA, 'uci-mfeat/uci_all.mat');
  const r = xmodal('import', 'arrays', '--modality', `fourier=${mat}:I_tr+I_te`, '--modality', `karhunen=${mat}:T_tr+T_te`, '--modality', `pixels=${mat}:P_tr+P_te`,
    '--labels', `${mat}:L_tr+L_te`, '--split', 'train=0:1500', '--split', 'test=1500:2000', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /2000 items \(train 1500, test 500\); fourier 76-d, karhunen 64-d, pixels 240-d; 10 labels/);
  const bad = xmodal('import', 'arrays', '--modality', `mixed=${mat}:I_tr+T_te`, '--labels', `${mat}:L_tr+L_te`, '--out', join(dir, 'mixed'));
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /I_tr\+T_te: .*:T_te has 64 columns, .*:I_tr has 76; stacked variables must agree/);
  assert.ok(!existsSync(join(dir, 'mixed')));
});

test('xmodal split-domains: Wikipedia by category into source and target, both with their splits', () => {
  const wiki = join(PACKAGE_ROOT, 'datasets/wikipedia');
  const src = join(dir, 'wk-source');
  const tgt = join(dir, 'wk-target');
  const r = xmodal('split-domains', wiki, '--target-labels', 'media,music,royalty,sport,warfare', '--source-out', src, '--target-out', tgt);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /wk-source: 1472 items \(train 1104, test 368\)/);
  assert.match(r.stdout, /wk-target: 1394 items \(train 1069, test 325\)/);
  const again = xmodal('split-domains', wiki, '--target-labels', 'media,opera', '--source-out', join(dir, 's2'), '--target-out', join(dir, 't2'));
  assert.equal(again.status, 2);
  assert.match(again.stderr, /--target-labels: no label 'opera'/);
  const exists = xmodal('split-domains', wiki, '--target-share', '0.5', '--source-out', join(dir, 's3'), '--target-out', tgt);
  assert.equal(exists.status, 2);
  assert.match(exists.stderr, /wk-target: already exists/);
  assert.ok(!existsSync(join(dir, 's3')), 'nothing written when either output is refused');
});
