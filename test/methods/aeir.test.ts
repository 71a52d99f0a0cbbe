import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initEngine, tf } from '../../src/engine/engine.js';
import { adversarialHead } from '../../src/methods/adversarial.js';
import { crossDomainLoss, domainLoss, tripletLoss } from '../../src/methods/aeir.js';
import { Params } from '../../src/methods/layers.js';
import { createRng, uniformArray } from '../../src/engine/random.js';

before(async () => {
  await initEngine();
});

const value = (t: tf.Tensor) => t.dataSync()[0] as number;

test('triplet loss, hand-checked: two pairs, margin 0.2', () => {
  tf.tidy(() => {
    const u = tf.tensor2d([[1, 0], [0, 1]]);
    const v = tf.tensor2d([[0.6, 0.8], [1, 0]]);
    // scores [[0.6, 1], [0.8, 0]]; violations image->text 0.6 and 1.0, text->image 0.4 and 1.2.
    assert.ok(Math.abs(value(tripletLoss(u, v, 0.2, 'hardest')) - 1.6) < 1e-6);
    assert.ok(Math.abs(value(tripletLoss(u, v, 0.2, 'all')) - 1.6) < 1e-6);
  });
});

test('triplet loss: hardest and all negatives against a plain float64 transcription', () => {
  const rng = createRng(3);
  const n = 5;
  const d = 4;
  const unit = (a: Float32Array) => {
    for (let i = 0; i < n; i++) {
      const row = a.subarray(i * d, (i + 1) * d);
      const norm = Math.hypot(...row);
      row.forEach((x, j) => (row[j] = x / norm));
    }
    return a;
  };
  const u = unit(uniformArray(rng, n * d));
  const v = unit(uniformArray(rng, n * d));
  const s = (i: number, j: number) => Array.from({ length: d }, (_, k) => (u[i * d + k] as number) * (v[j * d + k] as number)).reduce((a, b) => a + b, 0);
  let hardest = 0;
  let all = 0;
  for (let i = 0; i < n; i++) {
    let worstText = 0;
    let worstImage = 0;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const toText = Math.max(0, 0.2 + s(i, j) - s(i, i));
      const toImage = Math.max(0, 0.2 + s(j, i) - s(i, i));
      worstText = Math.max(worstText, toText);
      worstImage = Math.max(worstImage, toImage);
      all += toText + toImage;
    }
    hardest += (worstText + worstImage) / n;
  }
  all /= n * (n - 1);
  tf.tidy(() => {
    const U = tf.tensor2d(u, [n, d]);
    const V = tf.tensor2d(v, [n, d]);
    assert.ok(Math.abs(value(tripletLoss(U, V, 0.2, 'hardest')) - hardest) < 1e-5, `hardest ${value(tripletLoss(U, V, 0.2, 'hardest'))} vs ${hardest}`);
    assert.ok(Math.abs(value(tripletLoss(U, V, 0.2, 'all')) - all) < 1e-5);
  });
});

test('cross-domain loss, hand-checked: neighbours through the same modality lend their partners as positives', () => {
  tf.tidy(() => {
    const target = tf.tensor2d([[1, 0]]);
    const sourceSame = tf.tensor2d([[1, 0], [0, 1], [0.6, 0.8]]);
    const sourceOther = tf.tensor2d([[0, 1], [1, 0], [0.8, 0.6]]);
    // k = 1: neighbour 0, its partner scores 0; hardest other partner scores 1: 1 - 0 + 0.2.
    assert.ok(Math.abs(value(crossDomainLoss(target, sourceSame, sourceOther, 1, 0.2)) - 1.2) < 1e-6);
    // k = 2: neighbours 0 and 2, mean partner score 0.4; the remaining partner scores 1: 1 - 0.4 + 0.2.
    assert.ok(Math.abs(value(crossDomainLoss(target, sourceSame, sourceOther, 2, 0.2)) - 0.8) < 1e-6);
  });
});

test('domain-adversarial loss, hand-checked', () => {
  const p = new Params(1);
  const disc = adversarialHead(p, ['d1', 'd2'], [3, 4, 2], 'leaky');
  for (const v of p.trainableVariables()) v.assign(tf.zerosLike(v));
  tf.tidy(() => {
    // A blind discriminator (all logits 0) costs ln 2 on each domain.
    const loss = domainLoss(disc, tf.ones([2, 3]), tf.zeros([3, 3]), 0.5);
    assert.ok(Math.abs(value(loss) - 2 * Math.LN2) < 1e-6);
  });
  p.dispose();
});

test('aeir with a source batch of one item: the structure term is 0 (it was 0/0) and a step stays finite', async () => {
  const { create, resolve } = await import('../../src/methods/registry.js');
  await import('../../src/methods/index.js');
  const rng = createRng(7);
  const dims = { image: 6, text: 4 };
  const m = create(resolve('aeir', undefined, { hiddenDim: 8, commonDim: 4, discriminatorDim: 4 }), { dims, labelNames: ['a'], trainLabels: new Uint8Array(1), seed: 1 });
  const rows = (n: number, d: number) => tf.tensor2d(uniformArray(rng, n * d), [n, d]);
  const batch = {
    x: { image: rows(1, 6), text: rows(1, 4) }, rows: { image: Int32Array.of(0), text: Int32Array.of(0) }, labels: tf.zeros([1, 1]), size: 1,
    target: { x: { image: rows(3, 6), text: rows(3, 4) }, aligned: false },
  };
  const terms = tf.tidy(() => {
    const r = m.losses(batch, { progress: 0.5 });
    return Object.fromEntries(Object.entries({ total: r.total, ...r.terms }).map(([k, v]) => [k, v.dataSync()[0] as number]));
  });
  assert.equal(terms.crossDomain, 0);
  assert.ok(Number.isFinite(terms.total) && Number.isFinite(terms.adv), JSON.stringify(terms));
  // And the direct control: two source items give a positive structure term on the same target rows.
  tf.tidy(() => assert.ok(value(crossDomainLoss(rows(2, 3), rows(2, 3), rows(2, 3), 5, 10)) > 0));
  tf.dispose([...Object.values(batch.x), ...Object.values(batch.target.x), batch.labels]);
  m.dispose();
});

test('normStatistics: all-batches folds source then target into the running mean; target folds the target batch only', async () => {
  const { create, resolve } = await import('../../src/methods/registry.js');
  await import('../../src/methods/index.js');
  const dims = { image: 3, text: 2 };
  const source = { image: [[1, 2, 3], [3, 4, 5]], text: [[0, 1], [2, 3]] };
  const target = { image: [[10, 10, 10], [20, 30, 40], [0, 5, 10]], text: [[5, 5], [7, 9], [0, 1]] };
  const colMean = (x: number[][]) => x[0]!.map((_, j) => x.reduce((s, r) => s + r[j]!, 0) / x.length);
  const runningMean = (normStatistics: string) => {
    const m = create(resolve('aeir', undefined, { hiddenDim: 8, commonDim: 4, discriminatorDim: 4, normStatistics }), { dims, labelNames: ['a'], trainLabels: new Uint8Array(1), seed: 1 });
    const batch = {
      x: { image: tf.tensor2d(source.image), text: tf.tensor2d(source.text) }, rows: { image: Int32Array.of(0, 1), text: Int32Array.of(0, 1) }, labels: tf.zeros([2, 1]), size: 2,
      target: { x: { image: tf.tensor2d(target.image), text: tf.tensor2d(target.text) }, aligned: false },
    };
    tf.tidy(() => void m.losses(batch, { progress: 0 }));
    m.afterStep();
    const got = Array.from(m.state().get('img_bn.running_mean')!.dataSync());
    tf.dispose([...Object.values(batch.x), ...Object.values(batch.target.x), batch.labels]);
    m.dispose();
    return got;
  };
  // PyTorch's rule with momentum 0.1 from a zero running mean.
  const s = colMean(source.image);
  const t = colMean(target.image);
  const chained = s.map((v, j) => 0.9 * (0.1 * v) + 0.1 * t[j]!);
  const targetOnly = t.map((v) => 0.1 * v);
  runningMean('all-batches').forEach((v, j) => assert.ok(Math.abs(v - chained[j]!) < 1e-5, `all-batches [${j}]: ${v} vs ${chained[j]}`));
  runningMean('target').forEach((v, j) => assert.ok(Math.abs(v - targetOnly[j]!) < 1e-5, `target [${j}]: ${v} vs ${targetOnly[j]}`));
});
