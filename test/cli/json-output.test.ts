// Every --json output parses with its published schema (strict: an undocumented field fails), the schemas in
// docs/schemas/ are the ones the code makes, and `eval RUN --json` has result.json's shape.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { z } from 'zod';
import { DoctorOutputSchema, InfoOutputSchema, jsonSchemas, RunResultSchema, SearchOutputSchema, TrainEventSchema, ValidateOutputSchema } from '../../src/cli/json-output.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { tempDir } from '../helpers/tmp.js';
import { tinyDataset } from '../helpers/tiny-dataset.js';

const cli = join(PACKAGE_ROOT, 'dist/src/cli/main.js');
const xmodal = (...args: string[]) => {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const check = <T>(schema: z.ZodType<T>, value: unknown, what: string) => {
  const r = schema.safeParse(value);
  assert.ok(r.success, `${what}: ${r.success ? '' : JSON.stringify(r.error.issues.slice(0, 3))}`);
};

test('docs/schemas holds exactly the schemas the code defines (npm run schemas regenerates them)', () => {
  for (const [file, text] of Object.entries(jsonSchemas())) {
    assert.equal(readFileSync(join(PACKAGE_ROOT, 'docs/schemas', file), 'utf8'), text, `docs/schemas/${file} is stale: run npm run schemas`);
  }
});

test('a strict schema refuses a field it does not document (the check can fail)', () => {
  const info = JSON.parse(xmodal('info', join(PACKAGE_ROOT, 'datasets/wikipedia'), '--json'));
  check(InfoOutputSchema, info, 'info');
  assert.equal(InfoOutputSchema.safeParse({ ...info, extra: 1 }).success, false);
});

test('doctor, info, validate, train, eval RUN and search --json outputs match their schemas', () => {
  const dir = tempDir();
  const data = tinyDataset(dir);
  check(DoctorOutputSchema, JSON.parse(xmodal('doctor', '--seconds', '0.1', '--json')), 'doctor');
  check(InfoOutputSchema, JSON.parse(xmodal('info', data, '--json')), 'info');
  xmodal('synth', '--items', '60', '--out', join(dir, 'synth'));
  check(ValidateOutputSchema, JSON.parse(xmodal('validate', join(dir, 'synth'), '--json')), 'validate');
  const run = join(dir, 'run');
  const events = xmodal('train', '--method', 'pgnn-con', '--data', data, '--out', run, '--epochs', '2', '--batch-size', '20', '--option', 'commonDim=32', '--option', 'layers=2', '--json')
    .trim().split('\n').map((l) => JSON.parse(l) as unknown);
  events.forEach((e, i) => check(TrainEventSchema, e, `train event ${i + 1}`));
  const evaluated = JSON.parse(xmodal('eval', run, '--json'));
  check(RunResultSchema, evaluated, 'eval RUN');
  const saved = JSON.parse(readFileSync(join(run, 'result.json'), 'utf8'));
  check(RunResultSchema, saved, 'result.json');
  assert.deepEqual(Object.keys(evaluated).sort(), Object.keys(saved).sort());
  assert.equal(evaluated.averageMAP, saved.averageMAP);
  xmodal('index', run, '--out', join(dir, 'index'));
  check(SearchOutputSchema, JSON.parse(xmodal('search', join(dir, 'index'), '--from', 'text', '--to', 'image', '--item', '3', '--json')), 'search');
});
