// xmodal train --seeds: one run per seed, each the run `--seed N` would make; seeds.json's means and standard
// deviations are those of the runs' own result.json; an interrupted job resumes without retraining finished
// seeds; refusals are one line.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { TrainEventSchema } from '../../src/cli/json-output.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { parseSeeds, SeedsFileSchema } from '../../src/runs/seeds.js';
import { tempDir } from '../helpers/tmp.js';
import { tinyDataset } from '../helpers/tiny-dataset.js';

const cli = join(PACKAGE_ROOT, 'dist/src/cli/main.js');
const dir = tempDir();
const data = tinyDataset(dir);
const xmodal = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
const settings = ['--method', 'pgnn-con', '--data', data, '--epochs', '3', '--batch-size', '20', '--lr', '1e-3', '--option', 'commonDim=32', '--option', 'layers=2'];
const out = join(dir, 'seeds');
const result = (runDir: string) => JSON.parse(readFileSync(join(runDir, 'result.json'), 'utf8')) as { directions: Record<string, { mAP: number }>; averageMAP: number; bestScore: number };

test('parseSeeds: ranges and lists; refusals', () => {
  assert.deepEqual(parseSeeds('0-4'), [0, 1, 2, 3, 4]);
  assert.deepEqual(parseSeeds('3,7, 0-1'), [3, 7, 0, 1]);
  assert.throws(() => parseSeeds('4-2'), /runs backwards/);
  assert.throws(() => parseSeeds('1,1'), /a seed is given twice/);
  assert.throws(() => parseSeeds('5'), /at least two seeds/);
  assert.throws(() => parseSeeds('a-b'), /expected seeds such as 0-4/);
});

test('--seeds 0-2: a run per seed, equal to a --seed run; the summary is their mean and standard deviation', () => {
  const r = xmodal('train', ...settings, '--seeds', '0-2', '--out', out, '--json');
  assert.equal(r.status, 0, r.stderr);
  const last = TrainEventSchema.parse(JSON.parse(r.stdout.trim().split('\n').at(-1)!));
  assert.equal(last.event, 'seeds');
  const file = SeedsFileSchema.parse(JSON.parse(readFileSync(join(out, 'seeds.json'), 'utf8')));
  assert.deepEqual(file.seeds, [0, 1, 2]);
  const runs = [0, 1, 2].map((s) => result(join(out, `seed-${s}`)));
  for (const figure of ['image->text', 'text->image'] as const) {
    const values = runs.map((x) => x.directions[figure]!.mAP);
    const mean = values.reduce((a, b) => a + b, 0) / 3;
    const std = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / 2);
    assert.ok(Math.abs(file.summary!.test[figure]!.mean - mean) < 1e-12);
    assert.ok(Math.abs(file.summary!.test[figure]!.std - std) < 1e-12);
  }
  assert.ok(Math.abs(file.summary!.validation.mean - runs.reduce((a, x) => a + x.bestScore, 0) / 3) < 1e-12);
  // The seeds differ (a control: the same figures three times would mean the seed was ignored) ...
  assert.notEqual(runs[0]!.averageMAP, runs[1]!.averageMAP);
  // ... and each is the run --seed makes.
  const single = join(dir, 'single-1');
  assert.equal(xmodal('train', ...settings, '--seed', '1', '--out', single).status, 0);
  assert.deepEqual(result(single).directions, runs[1]!.directions);
});

test('--resume finishes an interrupted --seeds job without retraining finished seeds', () => {
  const before = readFileSync(join(out, 'seeds.json'), 'utf8');
  const seed0 = readFileSync(join(out, 'seed-0', 'result.json'), 'utf8');
  rmSync(join(out, 'seed-2'), { recursive: true }); // never started
  const r = xmodal('train', '--resume', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /seed 0: finished earlier/);
  assert.match(r.stderr, /seed 2 \(3 of 3\)/);
  assert.match(r.stdout, /3 seeds .*\n.*seed\tepoch\tval/);
  assert.equal(readFileSync(join(out, 'seed-0', 'result.json'), 'utf8'), seed0);
  assert.equal(readFileSync(join(out, 'seeds.json'), 'utf8'), before, 'retrained seed 2 gives the same figures');
});

test('refusals are one line, and nothing is trained', () => {
  const cases: Array<[string[], RegExp]> = [
    [['train', ...settings, '--seeds', '0-2', '--seed', '4', '--out', join(dir, 'x')], /--seed and --seeds: give one/],
    [['train', ...settings, '--seeds', '2-0', '--out', join(dir, 'x')], /runs backwards/],
    [['train', ...settings, '--seeds', '0-2', '--out', out], /exists \(use --force to replace it, or --resume to continue a --seeds job\)/],
    [['train', '--resume', '--out', out, '--seeds', '0-4'], /--seeds: not taken with --resume/],
  ];
  for (const [args, message] of cases) {
    const r = xmodal(...args);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});
