// DAGNN's structure pinned on methods.md 2.3's fixture: the model is set so that its embeddings are I and T and
// its classifiers are the fixture's W, and its blind discriminators (all weights 0) cost ln 2 per term; then its
// loss terms must be the golden values of the official loss.py and its total their weighted sum as the papers
// compose it. Also: which label vectors learn, where batch norm is, and the stage-2 weight swap.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initEngine, tf } from '../../src/engine/engine.js';
import '../../src/methods/index.js';
import { softContrastiveLoss } from '../../src/methods/losses.js';
import type { Method } from '../../src/methods/method.js';
import { create, resolve } from '../../src/methods/registry.js';

before(async () => {
  await initEngine();
});

// methods.md 2.3
const L = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 1, 1], [1, 0, 0]];
const I = [[0.9, 0.1, 0.3], [0.2, 0.8, 0.5], [0.4, 0.4, 0.1], [0.1, 0.3, 0.9], [0.6, 0.6, 0.2], [0.3, 0.9, 0.1]];
const T = [[0.1, 0.9, 0.2], [0.8, 0.2, 0.4], [0.3, 0.3, 0.8], [0.7, 0.6, 0.1], [0.2, 0.5, 0.5], [0.9, 0.3, 0.3]];
const W = [[1, 0, 0.1], [0, 1, 0.1], [0.1, 0, 1]];
const GOLDEN = { cls: 1.7655552239221075, con: 5.662204571442986, sim: 1.9908980190546546, blindAdv: 4 * Math.LN2 };

const eye = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];

/** 3x3 inverse in float64 (cofactors). */
function inverse3(m: number[][]): number[][] {
  const [[a, b, c], [d, e, f], [g, h, i]] = m as [[number, number, number], [number, number, number], [number, number, number]];
  const A = e * i - f * h, B = -(d * i - f * g), Cc = d * h - e * g;
  const det = a * A + b * B + c * Cc;
  const adj = [[A, -(b * i - c * h), b * f - c * e], [B, a * i - c * g, -(a * f - c * d)], [Cc, -(a * h - b * g), a * e - b * d]];
  return adj.map((row) => row.map((v) => v / det));
}

const matmul = (a: number[][], b: number[][]) => a.map((row) => b[0]!.map((_, j) => row.reduce((s, v, k) => s + v * b[k]![j]!, 0)));

function fixtureModel(name: 'pgnn-con' | 'dagnn' | 'ignn-con', labelEmbeddings = false, options: Record<string, unknown> = {}): Method {
  return create(resolve(name, undefined, { commonDim: 3, layers: 1, labelInputDim: 3, ...options }), {
    dims: { image: 3, text: 3 }, labelNames: ['a', 'b', 'c'], trainLabels: Uint8Array.from(L.flat()), seed: 1,
    ...(labelEmbeddings ? { labelEmbeddings: { data: Float32Array.from([0.9, 0.1, 0.2, 0.3, 0.8, 0.1, 0.2, 0.2, 0.7]), dim: 3, source: 'test' } } : {}),
  });
}

/** Sets the model so that u = I, v = T, Z = W and every discriminator outputs 0 logits. */
function pinToFixture(m: Method): void {
  const s = m.state();
  const set = (name: string, values: number[][] | number[]) => {
    const v = s.get(name);
    assert.ok(v, `no parameter ${name}`);
    v.assign(tf.tensor(values.flat(), v.shape));
  };
  for (const [net, X] of [['img_net', I], ['text_net', T]] as const) {
    set(`${net}.denseL1.weight`, eye);
    set(`${net}.denseL1.bias`, [0, 0, 0]);
    if (s.has(`${net}.bn.weight`)) {
      // Training-mode batch norm with gamma = sqrt(biased var + eps) and beta = the batch mean is the identity here.
      const mean = [0, 1, 2].map((c) => X.reduce((a, r) => a + r[c]!, 0) / X.length);
      const variance = [0, 1, 2].map((c) => X.reduce((a, r) => a + (r[c]! - mean[c]!) ** 2, 0) / X.length);
      set(`${net}.bn.weight`, variance.map((v) => Math.sqrt(v + 1e-5)));
      set(`${net}.bn.bias`, mean);
    }
  }
  // One graph layer over identity inputs: H = LeakyReLU(adj), a non-negative matrix, so hypo = adj^-1 W gives Z = W.
  const adj = s.get('adj')!.arraySync() as number[][];
  set('inp', eye);
  set('lrn_0.weight', eye);
  set('hypo.weight', matmul(inverse3(adj), W));
  set('hypo.bias', [0, 0, 0]);
  for (const [name, v] of s) if (name.includes('_md_net.dense')) v.assign(tf.zerosLike(v));
}

function fixtureBatch() {
  const rows = Int32Array.from([0, 1, 2, 3, 4, 5]);
  return { x: { image: tf.tensor2d(I), text: tf.tensor2d(T) }, rows: { image: rows, text: rows }, labels: tf.tensor2d(L), size: 6 };
}

function termsOf(m: Method): Record<string, number> {
  const b = fixtureBatch();
  const out = tf.tidy(() => {
    const { total, terms } = m.losses(b, { progress: 0 });
    return Object.fromEntries([['total', total], ...Object.entries(terms)].map(([k, t]) => [k, (t as tf.Tensor).dataSync()[0]!]));
  });
  tf.dispose([b.x.image, b.x.text, b.labels]);
  return out;
}

const close = (got: number, want: number, what: string) => assert.ok(Math.abs(got - want) < 1e-5, `${what}: ${got}, golden ${want}`);

const COMPOSITIONS = [
  {
    title: 'pgnn-con on the 6x3 fixture: official cla_loss and soft_con_loss; total = alpha cls + con + beta adv (0.5, 2)',
    method: 'pgnn-con', terms: { cls: GOLDEN.cls, con: GOLDEN.con, adv: GOLDEN.blindAdv }, absent: 'sim',
    total: 0.5 * GOLDEN.cls + GOLDEN.con + 2 * GOLDEN.blindAdv,
  },
  {
    title: 'AAAI dagnn on the 6x3 fixture: official cla_loss and DSCMR similarity term; total = cls + 0.2 sim + 0.2 adv',
    method: 'dagnn', terms: { cls: GOLDEN.cls, sim: GOLDEN.sim, adv: GOLDEN.blindAdv }, absent: 'con',
    total: GOLDEN.cls + 0.2 * GOLDEN.sim + 0.2 * GOLDEN.blindAdv,
  },
] as const;

for (const c of COMPOSITIONS) {
  test(c.title, () => {
    const m = fixtureModel(c.method);
    pinToFixture(m);
    const t = termsOf(m);
    for (const [term, golden] of Object.entries(c.terms)) close(t[term]!, golden, term);
    close(t.total!, c.total, 'total');
    assert.equal(t[c.absent], undefined, `${c.method} has no ${c.absent} term`);
    m.dispose();
  });
}

test('control: the fixture pinning matters (an unpinned model is off the golden values)', () => {
  const m = fixtureModel('pgnn-con');
  const t = termsOf(m);
  assert.ok(Math.abs(t.cls! - GOLDEN.cls) > 1e-3 && Math.abs(t.con! - GOLDEN.con) > 1e-3, JSON.stringify(t));
  m.dispose();
});

test('batch norm: TPAMI variants have it on encoders, generators and discriminators; the AAAI variant has none', () => {
  const tpami = fixtureModel('pgnn-con');
  const aaai = fixtureModel('dagnn');
  const bn = (m: Method) => [...m.state().keys()].filter((k) => k.includes('.bn.')).map((k) => k.split('.bn.')[0]);
  assert.deepEqual([...new Set(bn(tpami))], ['img_net', 'text_net', 'img2text_net', 'text2img_net', 'img_md_net', 'text_md_net']);
  assert.deepEqual(bn(aaai), []);
  tpami.dispose();
  aaai.dispose();
});

test('label vectors: given ones are frozen in P-GNN and learned in I-GNN; random starts are learned in both', () => {
  const trainable = (m: Method) => new Set(m.trainableVariables());
  for (const [name, embeddings, learns] of [['pgnn-con', true, false], ['ignn-con', true, true], ['pgnn-con', false, true], ['ignn-con', false, true]] as const) {
    const m = fixtureModel(name, embeddings);
    const inp = m.state().get('inp')!;
    assert.equal(trainable(m).has(inp), learns, `${name}, ${embeddings ? 'given' : 'random'} label vectors`);
    assert.equal(trainable(m).has(m.state().get(name === 'pgnn-con' ? 'adj' : 'A0')!), false, 'the fixed graph part is a buffer');
    m.dispose();
  }
});

test('reconstruction stage, official-code order: class weight tau, contrastive (alpha, beta) as (tau, gamma), adversarial gamma', () => {
  const base = fixtureModel('pgnn-con');
  pinToFixture(base);
  base.beginReconstruction!('paper', 'update');
  const paper = termsOf(base);
  close(paper.total!, 0.5 * GOLDEN.cls + GOLDEN.con + 2 * GOLDEN.blindAdv, 'paper order keeps the weights');
  base.beginReconstruction!('official-code', 'update');
  const swapped = termsOf(base);
  // main.py passes (temp, gamma, alpha, beta) to (alpha, beta, temp, gamma): alpha=0.22, beta=0.14, tau=0.5, gamma=2.
  const con = tf.tidy(() => softContrastiveLoss(tf.tensor2d(I), tf.tensor2d(T), tf.tensor2d(L), { tau: 0.5, gamma: 2, lseFactor: 1.06, labelSimilarity: 'binary' }).dataSync()[0]!);
  close(swapped.con!, con, 'con with tau 0.5, gamma 2');
  assert.ok(Math.abs(con - GOLDEN.con) > 0.1, 'the swap changes the contrastive term');
  close(swapped.total!, 0.22 * GOLDEN.cls + con + 0.14 * GOLDEN.blindAdv, 'total');
  base.dispose();
});

test('reconstruction stage: normStatistics frozen keeps every batch norm\'s running statistics; update re-estimates them', () => {
  const stats = (m: Method) => [...m.state()].filter(([k]) => k.includes('.running_')).map(([k, v]) => [k, Array.from(v.dataSync())] as const);
  for (const mode of ['frozen', 'update'] as const) {
    const m = fixtureModel('pgnn-con');
    const before = stats(m);
    assert.equal(before.length, 12, 'six batch norms, mean and variance each');
    m.beginReconstruction!('paper', mode);
    const b = fixtureBatch();
    tf.tidy(() => void m.losses(b, { progress: 0 }));
    m.afterStep();
    tf.dispose([b.x.image, b.x.text, b.labels]);
    const after = stats(m);
    if (mode === 'frozen') assert.deepEqual(after, before);
    else after.forEach(([k, v], i) => assert.notDeepEqual(v, before[i]![1], `${k} re-estimated`));
    m.dispose();
  }
});

test('labelSmoothing e: the classification term regresses the cosines on (1 - e) y + e / C (float64 transcription)', () => {
  const cosine = (a: number[], b: number[]) => a.reduce((s, v, k) => s + v * b[k]!, 0) / Math.sqrt(a.reduce((s, v) => s + v * v, 0) * b.reduce((s, v) => s + v * v, 0));
  const expected = (e: number) => [I, T].reduce((sum, X) => sum + X.reduce((s, x, i) => s + Math.sqrt(W.reduce((r, w, c) => r + (cosine(x, w) - ((1 - e) * L[i]![c]! + e / 3)) ** 2, 0)), 0) / X.length, 0);
  close(expected(0), GOLDEN.cls, 'the transcription at e = 0');
  for (const e of [0.1, 0.5]) {
    const m = fixtureModel('pgnn-con', false, { labelSmoothing: e });
    pinToFixture(m);
    const terms = termsOf(m);
    close(terms.cls!, expected(e), `cls at e = ${e}`);
    assert.ok(Math.abs(terms.cls! - GOLDEN.cls) > 1e-3, 'smoothing changes the term');
    close(terms.con!, GOLDEN.con, 'the contrastive term keeps the hard labels');
    m.dispose();
  }
});
