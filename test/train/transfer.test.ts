import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Dataset } from '../../src/data/dataset.js';
import { splitDomains } from '../../src/data/domains.js';
import { synthDefaults, synthesize } from '../../src/data/synth.js';
import { writeDataset, type DatasetSpec } from '../../src/data/writer.js';
import { UserError } from '../../src/errors.js';
import { readTensors } from '../../src/runs/tensor-file.js';
import { train } from '../../src/train/trainer.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();
const small = { hiddenDim: 32, commonDim: 16, neighbours: 3, discriminatorDim: 8 };
const common = { epochs: 3, batchSize: 32, lr: 1e-3, seed: 2, checkpointSeconds: 0 };

const labels = new Uint8Array(40 * 4);
for (let r = 0; r < 40; r++) labels[r * 4 + (r % 4)] = 1;
const all = join(dir, 'all');
writeDataset(all, synthesize({ ...synthDefaults, items: 300, modalities: { image: 12, text: 8 }, missing: {}, noise: 0.3, seed: 4, labelSource: { names: ['a', 'b', 'c', 'd'], data: labels, source: 'test' }, name: 'scenario' }));
const { source, target } = splitDomains(Dataset.open(all), { targetShare: 0.5, shift: 0.5, seed: 1 });
const sourceDir = join(dir, 'source');
const targetDir = join(dir, 'target');
writeDataset(sourceDir, source);
writeDataset(targetDir, target);

/** The target with its training texts re-paired (rotated by one among the training items); test pairs untouched. */
function repaired(spec: DatasetSpec): DatasetSpec {
  const text = spec.modalities.find((m) => m.name === 'text')!;
  const train = spec.splits.train!;
  const data = text.data.slice();
  train.forEach((item, k) => {
    const from = train[(k + 1) % train.length] as number;
    data.set(text.data.subarray(from * text.dim, (from + 1) * text.dim), item * text.dim);
  });
  return { ...spec, modalities: spec.modalities.map((m) => (m === text ? { ...m, data } : m)) };
}
const repairedDir = join(dir, 'target-repaired');
writeDataset(repairedDir, repaired(target));

const weights = (run: string) => readTensors(join(run, 'checkpoint'), 'model');

function sameWeights(a: string, b: string, names?: string[]): boolean {
  const wa = weights(a);
  const wb = weights(b);
  for (const name of names ?? [...wa.keys()]) {
    const x = wa.get(name)?.data;
    const y = wb.get(name)?.data;
    assert.ok(x && y, `tensor ${name} in both runs`);
    if (x.length !== y.length || x.some((v, i) => v !== y[i])) return false;
  }
  return true;
}

test('transfer training never reads the target alignment: re-pairing the target\'s training texts changes nothing', async () => {
  const a = await train({ method: 'aeir', options: small, data: sourceDir, target: targetDir, out: join(dir, 'aeir-a'), ...common });
  const b = await train({ method: 'aeir', options: small, data: sourceDir, target: repairedDir, out: join(dir, 'aeir-b'), ...common });
  assert.ok(sameWeights(a.dir, b.dir), 'identical models');
  assert.equal(a.rSum, b.rSum);
  // The check can fail: the oracle, which is allowed to read the pairs, learns something else from the re-paired target.
  const oa = await train({ method: 'aeir', options: { ...small, mode: 'oracle' }, data: sourceDir, target: targetDir, out: join(dir, 'oracle-a'), ...common });
  const ob = await train({ method: 'aeir', options: { ...small, mode: 'oracle' }, data: sourceDir, target: repairedDir, out: join(dir, 'oracle-b'), ...common });
  assert.ok(!sameWeights(oa.dir, ob.dir), 'the oracle sees the re-pairing');
});

test('aeir source-only is exactly the plain triplet model (vse) trained on the source', async () => {
  const plain = await train({ method: 'vse', options: { hiddenDim: 32, commonDim: 16 }, data: sourceDir, out: join(dir, 'vse'), ...common });
  const only = await train({ method: 'aeir', options: { ...small, mode: 'source-only' }, data: sourceDir, target: targetDir, out: join(dir, 'source-only'), ...common });
  const names = [...weights(plain.dir).keys()];
  assert.ok(names.length >= 8);
  assert.ok(sameWeights(plain.dir, only.dir, names), 'same encoder weights');
});

test('a transfer run reports Recall@K, median rank and rSum on the target test pairs', async () => {
  const run = await train({ method: 'aeir', options: small, data: sourceDir, target: targetDir, out: join(dir, 'report'), ...common, trackTest: true });
  const result = JSON.parse(readFileSync(join(run.dir, 'result.json'), 'utf8'));
  const directions = Object.keys(result.directions);
  assert.deepEqual(directions, ['image->text', 'text->image']);
  const testPairs = Dataset.open(targetDir).split('test').length;
  const r = result.directions['image->text'];
  assert.equal(r.queries.evaluated, testPairs);
  const rSum = 100 * directions.reduce((s, d) => s + Object.values(result.directions[d].recallAtK as Record<string, number>).reduce((a, b) => a + b, 0), 0);
  assert.ok(Math.abs(result.rSum - rSum) < 1e-9 && rSum > 0);
  assert.ok(Number.isFinite(r.medianRank));
  const epochs = readFileSync(join(run.dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(epochs[0].selection.metric, 'rSum');
  assert.ok('image->text R@1' in epochs[0].selection.scores && epochs[0].test.metric === 'rSum');
});

test('transfer configurations that cannot work give user errors', async () => {
  await assert.rejects(train({ method: 'aeir', data: sourceDir, out: join(dir, 'bad1') }), (e: Error) => e instanceof UserError && /aeir learns a transfer task: give the target domain with --target/.test(e.message));
  await assert.rejects(train({ method: 'dscmr', data: sourceDir, target: targetDir, out: join(dir, 'bad2') }), /--target: dscmr does not learn transfer tasks/);
  const other = join(dir, 'other');
  writeDataset(other, synthesize({ ...synthDefaults, items: 50, modalities: { image: 5, text: 8 }, missing: {}, labelSource: { names: ['a', 'b', 'c', 'd'], data: labels, source: 'test' }, name: 'other' }));
  await assert.rejects(train({ method: 'aeir', data: sourceDir, target: other, out: join(dir, 'bad3') }), /modality 'image' is 5-d, the source's is 12-d/);
});

test('--resume continues an interrupted transfer run to exactly the same model', async () => {
  const config = { method: 'aeir', options: small, data: sourceDir, target: targetDir, ...common, epochs: 4 };
  const straight = await train({ ...config, out: join(dir, 'straight') });
  const interrupted = join(dir, 'interrupted');
  await train({ ...config, out: interrupted }, { stopAfterEpoch: 2 });
  const resumed = await train({ ...config, out: interrupted }, { resume: true });
  assert.ok(sameWeights(straight.dir, resumed.dir), 'identical models');
  assert.equal(resumed.rSum, straight.rSum);
});
