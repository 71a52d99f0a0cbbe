import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { UserError } from '../../src/errors.js';
import { readEpochs } from '../../src/runs/files.js';
import { learningRateAt } from '../../src/train/stage.js';
import { embeddingAdjacency } from '../../src/graph/label-graph.js';
import { createRecordedMethod, loadRun } from '../../src/runs/load.js';
import { evaluateSplit, maps } from '../../src/train/evaluate.js';
import { loadSplit } from '../../src/train/split-data.js';
import { train } from '../../src/train/trainer.js';
import { tempDir } from '../helpers/tmp.js';
import { tinyDataset, tinyOptions } from '../helpers/tiny-dataset.js';

const dir = tempDir();
const data = tinyDataset(dir);

const small: Record<string, Record<string, unknown>> = { dscmr: { hiddenDim: 32, commonDim: 32 }, acmr: { hiddenA: 32, hiddenB: 16, commonDim: 16 } };

for (const method of ['dagnn', 'pgnn-con', 'ignn-con', 'dscmr', 'acmr']) {
  test(`${method} overfits a tiny data set (mAP on its training items)`, async () => {
    const result = await train({
      method, options: small[method] ?? tinyOptions, data, out: join(dir, `overfit-${method}`), epochs: 40, batchSize: 20, lr: 2e-3, beta1: 0.5, selectOn: 'test', seed: 1,
    });
    assert.ok(result.test, 'a test result');
    for (const [direction, r] of Object.entries(result.test.directions)) assert.ok(r.mAP > 0.9, `${method} ${direction} mAP ${r.mAP}`);
    assert.match(result.selection, /papers' protocol/);
    const runDir = join(dir, `overfit-${method}`);
    for (const f of ['config.json', 'artifacts.json', 'metrics.jsonl', 'best/model.json', 'best/model.bin', 'checkpoint/meta.json', 'result.json', 'result.md']) assert.ok(existsSync(join(runDir, f)), f);
    const epochs = readEpochs(runDir);
    assert.equal(epochs.length, 40);
    // best/ is written with the checkpoint and at the end, not at each improvement; it must be the selected epoch.
    assert.equal(JSON.parse(readFileSync(join(runDir, 'best/meta.json'), 'utf8')).epoch, result.bestEpoch);
    assert.ok(epochs[39]!.losses.total! < epochs[0]!.losses.total!, 'the loss went down');
  });
}

for (const method of ['cca', 'scm']) {
  test(`${method} fits in closed form, chooses its components on validation, and beats chance`, async () => {
    const out = join(dir, `fit-${method}`);
    const result = await train({ method, data, out, seed: 2, valFraction: 0.25 });
    const artifacts = JSON.parse(readFileSync(join(out, 'artifacts.json'), 'utf8'));
    assert.ok(artifacts.fit.components >= 1 && Object.keys(artifacts.fit.scores).length > 1 && [1e-3, 1e-2, 0.1, 1, 10, 100].includes(artifacts.fit.regularization));
    assert.equal(readEpochs(out).length, 1);
    for (const r of Object.values(result.test!.directions)) assert.ok(r.mAP > 0.5, `${method} mAP ${r.mAP}`);
  });
}

test('the run records the label graph it used', () => {
  const artifacts = JSON.parse(readFileSync(join(dir, 'overfit-pgnn-con', 'artifacts.json'), 'utf8'));
  assert.equal(artifacts.cooccurrence.length, 25);
  assert.equal(artifacts.adjacency.length, 25);
  assert.equal(artifacts.labelEmbeddings.source, 'random test vectors');
  const ignn = JSON.parse(readFileSync(join(dir, 'overfit-ignn-con', 'artifacts.json'), 'utf8'));
  assert.equal(ignn.A0.length, 25);
});

test('--resume continues an interrupted run to exactly the same model', async () => {
  const common = { method: 'ignn-con', options: tinyOptions, data, epochs: 4, batchSize: 16, lr: 1e-3, seed: 3, valFraction: 0.25 };
  const straight = join(dir, 'straight');
  await train({ ...common, out: straight });
  const interrupted = join(dir, 'interrupted');
  await train({ ...common, out: interrupted }, { stopAfterEpoch: 2 });
  assert.equal(readEpochs(interrupted).length, 2);
  const stopped = JSON.parse(readFileSync(join(interrupted, 'checkpoint/meta.json'), 'utf8'));
  assert.equal(JSON.parse(readFileSync(join(interrupted, 'best/meta.json'), 'utf8')).epoch, stopped.bestEpoch, 'best/ matches the checkpoint it was written with');
  await train({ ...common, out: interrupted }, { resume: true });
  assert.deepEqual(readFileSync(join(interrupted, 'checkpoint/model.bin')), readFileSync(join(straight, 'checkpoint/model.bin')));
  assert.deepEqual(readFileSync(join(interrupted, 'best/model.bin')), readFileSync(join(straight, 'best/model.bin')));
  assert.deepEqual(readEpochs(interrupted).map((e) => e.losses), readEpochs(straight).map((e) => e.losses));
});

test('bad configurations give user errors', async () => {
  await assert.rejects(train({ method: 'nope', data, out: join(dir, 'bad1') }), (e: Error) => e instanceof UserError && /unknown method 'nope' \(methods: dagnn, pgnn-con, ignn-con, dscmr, acmr, cca, scm, agat, vse, aeir\)/.test(e.message));
  await assert.rejects(train({ method: 'pgnn-con', options: { tau: -1 }, data, out: join(dir, 'bad2') }), /method option tau/);
  await assert.rejects(train({ method: 'pgnn-con', preset: 'imagenet', data, out: join(dir, 'bad3') }), /unknown preset 'imagenet'/);
  await assert.rejects(train({ method: 'pgnn-con', data, out: join(dir, 'overfit-dagnn') }), /already exists \(use --resume/);
  await assert.rejects(train({ method: 'pgnn-con', data, out: join(dir, 'nothing-here') }, { resume: true }), /no run to resume/);
});

test('ignn-con without label-name vectors learns them from random initialisation', async () => {
  const bare = tinyDataset(dir, 'tiny-bare', 60, undefined, false);
  const result = await train({ method: 'ignn-con', options: tinyOptions, data: bare, out: join(dir, 'ignn-bare'), epochs: 2, batchSize: 20, lr: 1e-3, seed: 1 });
  const artifacts = JSON.parse(readFileSync(join(result.dir, 'artifacts.json'), 'utf8'));
  assert.match(artifacts.labelEmbeddings.source, /random U\(0,1\), 8-d, learned/);
  // The graph's fixed part A0 comes from the random start, and training moved the vectors away from it.
  const run = await loadRun(result.dir);
  const start = createRecordedMethod(run.config, run.dataset, run.dataset.split('train'));
  const initial = start.state().get('inp')!.dataSync() as Float32Array;
  const learned = run.method.state().get('inp')!.dataSync() as Float32Array;
  const C = run.dataset.labelNames.length;
  Array.from(embeddingAdjacency(initial, C, 0.4)).forEach((v, i) => assert.ok(Math.abs(v - artifacts.A0[i]) < 1e-6, `A0[${i}]`));
  const moved = Math.max(...learned.map((v, i) => Math.abs(v - initial[i]!)));
  assert.ok(moved > 1e-4, `label vectors moved by ${moved} at most`);
  // The reported test scores are those of the saved model, evaluated again from disk.
  const again = await evaluateSplit(run.method, loadSplit(run.dataset, run.dataset.split('test'), ['image', 'text']), run.dataset.labelNames, 'labels');
  assert.deepEqual(maps(result.test!), again.scores);
  start.dispose();
  run.method.dispose();
});

test('--refit trains a fresh model on every training item for the epoch count chosen on validation', async () => {
  // pgnn-con: its label graph comes from the items it is trained on, so the refit must rebuild it from all of them.
  const common = { method: 'pgnn-con', options: tinyOptions, data, batchSize: 16, lr: 1e-3, seed: 4 };
  const refit = await train({ ...common, out: join(dir, 'refit'), epochs: 5, valFraction: 0.25, refit: true });
  assert.match(refit.selection, /then a fresh model trained on train \+ validation for that many epochs/);
  const meta = JSON.parse(readFileSync(join(dir, 'refit', 'best/meta.json'), 'utf8'));
  assert.equal(meta.epoch, refit.bestEpoch);
  assert.ok(meta.refit.trainItems > 0);
  // The same seed trained on the whole train split (what --select-on test trains on) for that many epochs.
  const whole = await train({ ...common, out: join(dir, 'refit-reference'), epochs: refit.bestEpoch, selectOn: 'test' });
  assert.deepEqual(readFileSync(join(dir, 'refit', 'best/model.bin')), readFileSync(join(dir, 'refit-reference', 'checkpoint/model.bin')));
  assert.deepEqual(refit.test, whole.test, 'the same model gives the same test result');
  const graph = (run: string) => JSON.parse(readFileSync(join(dir, run, 'artifacts.json'), 'utf8'));
  assert.deepEqual(graph('refit').nums, graph('refit-reference').nums, 'label counts of every training item');
  assert.deepEqual(graph('refit').adjacency, graph('refit-reference').adjacency);
});

test('--refit refuses what it cannot refit', async () => {
  await assert.rejects(train({ method: 'pgnn-con', options: tinyOptions, data, out: join(dir, 'refit-bad1'), selectOn: 'test', refit: true }), /--refit: with --select-on test/);
  await assert.rejects(train({ method: 'cca', data, out: join(dir, 'refit-bad2'), refit: true }), /--refit: cca is fitted in closed form/);
  await assert.rejects(train({ method: 'pgnn-con', options: tinyOptions, data, out: join(dir, 'refit-bad3'), refit: true, reconstruct: { epochs: 1, lr: 1e-7, optimizer: 'sgd', argOrder: 'paper' } }), /--refit cannot be combined with --reconstruct/);
});

test('a cosine learning-rate schedule runs from the base rate to zero and changes the model', async () => {
  assert.equal(learningRateAt(1e-3, 'cosine', 0), 1e-3);
  assert.ok(Math.abs(learningRateAt(1e-3, 'cosine', 0.5) - 5e-4) < 1e-15);
  assert.ok(Math.abs(learningRateAt(1e-3, 'cosine', 1)) < 1e-15);
  assert.equal(learningRateAt(1e-3, 'constant', 0.7), 1e-3);
  assert.equal(learningRateAt(1e-3, undefined, 0.7), 1e-3);
  const common = { method: 'pgnn-con', options: tinyOptions, data, epochs: 2, batchSize: 16, lr: 1e-3, seed: 5, valFraction: 0.25 };
  await train({ ...common, out: join(dir, 'lr-constant') });
  await train({ ...common, out: join(dir, 'lr-cosine'), lrSchedule: 'cosine' });
  const config = JSON.parse(readFileSync(join(dir, 'lr-cosine', 'config.json'), 'utf8'));
  assert.equal(config.resolved.training.lrSchedule, 'cosine', 'the schedule is recorded with the run');
  // The first step uses the base rate either way; later steps are smaller under the schedule.
  assert.notDeepEqual(readFileSync(join(dir, 'lr-cosine', 'checkpoint/model.bin')), readFileSync(join(dir, 'lr-constant', 'checkpoint/model.bin')));
});
