// Ensembles (src/runs/ensemble.ts): the similarity of two ensemble embeddings is the mean of the members' cosine
// similarities (so rankings follow their sum), the index ranks by it, and members that do not fit are refused.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildIndex } from '../../src/index/build.js';
import { writeEnsemble } from '../../src/runs/ensemble.js';
import { loadEnsembleOf, loadRun } from '../../src/runs/load.js';
import { train } from '../../src/train/trainer.js';
import { tempDir } from '../helpers/tmp.js';
import { tinyDataset, tinyOptions } from '../helpers/tiny-dataset.js';

const dir = tempDir();
const data = tinyDataset(dir);
const runs = [join(dir, 'a'), join(dir, 'b')];
for (const [seed, out] of runs.entries()) await train({ method: 'pgnn-con', options: tinyOptions, data, out, epochs: 2, batchSize: 20, lr: 1e-3, seed });

const cosine = (u: Float32Array, v: Float32Array) => {
  let uv = 0;
  let uu = 0;
  let vv = 0;
  for (let i = 0; i < u.length; i++) [uv, uu, vv] = [uv + u[i]! * v[i]!, uu + u[i]! ** 2, vv + v[i]! ** 2];
  return uv / Math.sqrt(uu * vv);
};

test('ensemble similarity = mean of the members\' cosines; the index ranks by their sum', async () => {
  const out = join(dir, 'ens');
  writeEnsemble(out, runs, false);
  const ens = await loadRun(out);
  const members = await Promise.all(runs.map((r) => loadRun(r)));
  assert.equal(ens.encoder.embeddingDim, members[0]!.encoder.embeddingDim * 2);
  const ds = ens.dataset;
  const items = [0, 1, 2, 3, 4, 5];
  const image = ds.features('image', items);
  const text = ds.features('text', items);
  const e = (run: typeof ens, m: string, x: Float32Array) => run.encoder.embed(m, x, ds.modality(m).dim);
  const [ei, et] = [e(ens, 'image', image), e(ens, 'text', text)];
  const per = members.map((r) => [e(r, 'image', image), e(r, 'text', text)] as const);
  for (const i of items) for (const j of items) {
    const mean = (cosine(per[0]![0][i]!, per[0]![1][j]!) + cosine(per[1]![0][i]!, per[1]![1][j]!)) / 2;
    assert.ok(Math.abs(cosine(ei[i]!, et[j]!) - mean) < 1e-5, `${i},${j}`);
  }
  // Control: plain concatenation without normalising each member is not the mean of the cosines.
  const raw = (i: number, j: number) => cosine(Float32Array.from([...per[0]![0][i]!, ...per[1]![0][i]!].map((v) => v * 3)), Float32Array.from([...per[0]![1][j]!.map((v) => v * 0.1), ...per[1]![1][j]!]));
  assert.ok(items.some((i) => Math.abs(raw(i, (i + 1) % 6) - cosine(ei[i]!, et[(i + 1) % 6]!)) > 1e-3));
  // The index built from the ensemble ranks text items for an image query by the summed member similarities.
  const index = buildIndex(ens, { engine: 'exact' });
  const hits = index.search('text', ei[0]!, { k: 80 })[0]!;
  const all = ds.all();
  const texts = members.map((r) => e(r, 'text', ds.features('text', all)));
  const summed = Array.from(all, (j) => cosine(per[0]![0][0]!, texts[0]![j]!) + cosine(per[1]![0][0]!, texts[1]![j]!));
  const order = Array.from(all).sort((a, b) => summed[b]! - summed[a]!).map((j) => ds.ids()[j]);
  assert.deepEqual(hits.slice(0, 10).map((h) => h.id), order.slice(0, 10));
  for (const r of [ens, ...members]) r.method.dispose();
});

test('refusals: one member, a missing member, an existing ensemble without --force', async () => {
  await assert.rejects(loadEnsembleOf(join(dir, 'x'), [runs[0]!]), /at least two runs/);
  await assert.rejects(loadEnsembleOf(join(dir, 'x'), [runs[0]!, join(dir, 'nowhere')]), /member .*nowhere is missing/);
  assert.throws(() => writeEnsemble(join(dir, 'ens'), runs, false), /already holds an ensemble \(use --force/);
  assert.throws(() => writeEnsemble(join(dir, 'y'), [runs[0]!, runs[0]!], false), /a run is named twice/);
});
