// CCA: canonical correlation analysis between two modalities (Hotelling 1936; the classic unsupervised
// reference of cross-modal retrieval, e.g. Rasiwasia et al. 2010 on Wikipedia). Regularised closed form:
//   C_aa = cov(x_a) + r I,  C_bb = cov(x_b) + r I,  M = C_aa^-1/2 C_ab C_bb^-1/2 = U S V^T
//   W_a = C_aa^-1/2 U_k,  W_b = C_bb^-1/2 V_k,  embeddings (x - mean) W, correlations S.
// r is `regularization` times the mean variance of the modality; r and k are chosen together on the selection split
// among `regularization`'s values and `componentChoices` (covariances in float64 JavaScript, eigenproblems through
// LAPACK: fine up to about a thousand dimensions per modality).
// scm adds Rasiwasia et al.'s semantic step: logistic regression from the canonical space to label
// posteriors, which are the embeddings (compared by cosine here, not the paper's normalised correlation).
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { UserError } from '../errors.js';
import { symmetricEigen } from '../engine/linalg.js';
import type { Batch, FitData, LossTerms, MethodContext, MethodFactory } from './method.js';
import { register } from './registry.js';
import { parseOptionsWith, TwoTower } from './two-tower.js';

const OptionsSchema = z.object({
  /** scm: map the CCA space into the label simplex with per-modality logistic regression (Rasiwasia et al. 2010). */
  semantic: z.boolean(),
  /** Logistic-regression iterations and L2 weight (scm only). */
  regressionSteps: z.number().int().positive(),
  regressionL2: z.number().nonnegative(),
  /** A value, or several to choose from on the selection split (times the modality's mean variance). */
  regularization: z.union([z.number().nonnegative(), z.array(z.number().nonnegative()).min(1)]),
  maxComponents: z.number().int().positive(),
  componentChoices: z.array(z.number().int().positive()).min(1),
  modalities: z.array(z.string()).length(2).optional(),
}).strict();
type CcaOptions = z.infer<typeof OptionsSchema>;

/** X^T Y / (n - 1) of centred row-major n x dx and n x dy float64 matrices. */
function crossCovariance(x: Float64Array, dx: number, y: Float64Array, dy: number, n: number): Float64Array {
  const out = new Float64Array(dx * dy);
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < dx; i++) {
      const xi = x[r * dx + i] as number;
      if (xi === 0) continue;
      for (let j = 0; j < dy; j++) out[i * dy + j]! += xi * (y[r * dy + j] as number);
    }
  }
  for (let k = 0; k < out.length; k++) out[k]! /= Math.max(n - 1, 1);
  return out;
}

function matmul(a: Float64Array, b: Float64Array, m: number, k: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let t = 0; t < k; t++) {
    const ait = a[i * k + t] as number;
    if (ait === 0) continue;
    for (let j = 0; j < n; j++) out[i * n + j]! += ait * (b[t * n + j] as number);
  }
  return out;
}

/** C^-1/2 of a symmetric positive definite matrix (eigenvalues floored at 1e-12 of the largest). */
function inverseSqrt(c: Float64Array, d: number): Float64Array {
  const { values, vectors } = symmetricEigen(c, d);
  const floor = Math.max(...values) * 1e-12;
  const out = new Float64Array(d * d);
  for (let e = 0; e < d; e++) {
    const s = 1 / Math.sqrt(Math.max(values[e] as number, floor));
    for (let i = 0; i < d; i++) {
      const vi = (vectors[e * d + i] as number) * s;
      for (let j = 0; j < d; j++) out[i * d + j]! += vi * (vectors[e * d + j] as number);
    }
  }
  return out;
}

class Cca extends TwoTower {
  private readonly mean: [tf.Variable, tf.Variable];
  private readonly weights: [tf.Variable, tf.Variable];
  private readonly mask: tf.Variable;
  private readonly k: number;
  private readonly classes: number;
  private readonly semanticHead: [[tf.Variable, tf.Variable], [tf.Variable, tf.Variable]] | undefined;
  private correlations: number[] = [];

  constructor(name: string, ctx: MethodContext, private readonly o: CcaOptions) {
    const dims = (o.modalities ?? Object.keys(ctx.dims).slice(0, 2)).map((m) => ctx.dims[m] ?? 0);
    const k = Math.max(1, Math.min(o.maxComponents, ...dims));
    const C = ctx.labelNames.length;
    super(name, ctx, o.modalities, o.semantic ? C : k);
    this.k = k;
    this.classes = C;
    const [da, db] = this.modalities.map((m) => ctx.dims[m] as number) as [number, number];
    this.mean = [this.p.constant('mean_a', new Float32Array(da), [1, da]), this.p.constant('mean_b', new Float32Array(db), [1, db])];
    this.weights = [this.p.constant('W_a', new Float32Array(da * k), [da, k]), this.p.constant('W_b', new Float32Array(db * k), [db, k])];
    this.mask = this.p.constant('component_mask', new Float32Array(k).fill(1), [1, k]);
    if (o.semantic) {
      this.semanticHead = [0, 1].map((i) => [this.p.constant(`lr_${i}.weight`, new Float32Array(k * C), [k, C]), this.p.constant(`lr_${i}.bias`, new Float32Array(C), [1, C])]) as [[tf.Variable, tf.Variable], [tf.Variable, tf.Variable]];
    }
  }

  private canonical(i: 0 | 1, x: tf.Tensor): tf.Tensor {
    return tf.mul(tf.matMul(tf.sub(x, this.mean[i]), this.weights[i]), this.mask);
  }

  protected encode(i: 0 | 1, x: tf.Tensor): tf.Tensor {
    const z = this.canonical(i, x);
    if (!this.semanticHead) return z;
    const [w, b] = this.semanticHead[i];
    return tf.softmax(tf.add(tf.matMul(z, w), b));
  }

  /** SCM's second step: per-modality multinomial logistic regression from the canonical space to the labels. */
  private async fitHeads(data: FitData): Promise<void> {
    const C = this.classes;
    for (const i of [0, 1] as const) {
      const m = this.modalities[i] as string;
      const d = data.dims[m] as number;
      const rows = Array.from(data.present[m] as Uint8Array, (p, r) => (p ? r : -1)).filter((r) => r >= 0);
      const x = tf.tensor2d(Float32Array.from({ length: rows.length * d }, (_, t) => data.features[m]![(rows[Math.floor(t / d)] as number) * d + (t % d)] as number), [rows.length, d]);
      const y = tf.tensor2d(Float32Array.from({ length: rows.length * C }, (_, t) => data.labels[(rows[Math.floor(t / C)] as number) * C + (t % C)] as number), [rows.length, C]);
      const z = tf.tidy(() => this.canonical(i, x));
      const target = tf.tidy(() => tf.div(y, tf.maximum(tf.sum(y, 1, true), 1)));
      const w = tf.variable(tf.zeros([this.k, C]));
      const b = tf.variable(tf.zeros([1, C]));
      const optimizer = tf.train.adam(0.05);
      for (let step = 0; step < this.o.regressionSteps; step++) {
        optimizer.minimize(() => tf.add(
          tf.neg(tf.mean(tf.sum(tf.mul(target, tf.logSoftmax(tf.add(tf.matMul(z, w), b))), 1))),
          tf.mul(tf.sum(tf.square(w)), this.o.regressionL2),
        ) as tf.Scalar, false, [w, b]);
      }
      this.semanticHead![i][0].assign(w);
      this.semanticHead![i][1].assign(b);
      optimizer.dispose();
      tf.dispose([x, y, z, target, w, b]);
    }
  }

  losses(_batch: Batch): LossTerms {
    throw new UserError('cca is fitted in closed form, not trained by gradient');
  }

  override artifacts(): Record<string, unknown> {
    return { canonicalCorrelations: this.correlations };
  }

  async fit(data: FitData, score: () => Promise<number>): Promise<Record<string, unknown>> {
    const [a, b] = this.modalities as [string, string];
    const da = data.dims[a] as number;
    const db = data.dims[b] as number;
    const paired: number[] = [];
    for (let i = 0; i < (data.present[a] as Uint8Array).length; i++) if (data.present[a]![i] && data.present[b]![i]) paired.push(i);
    const n = paired.length;
    if (n < 2) throw new UserError('cca needs at least two training items with both modalities');
    const centred = (m: string, d: number) => {
      const x = new Float64Array(n * d);
      const mean = new Float64Array(d);
      paired.forEach((p, r) => { for (let j = 0; j < d; j++) { const v = data.features[m]![p * d + j] as number; x[r * d + j] = v; mean[j]! += v / n; } });
      for (let r = 0; r < n; r++) for (let j = 0; j < d; j++) x[r * d + j]! -= mean[j] as number;
      return { x, mean };
    };
    const A = centred(a, da);
    const B = centred(b, db);
    const covA = crossCovariance(A.x, da, A.x, da, n);
    const covB = crossCovariance(B.x, db, B.x, db, n);
    const covAB = crossCovariance(A.x, da, B.x, db, n);
    const k = this.k;
    const scores: Record<string, number> = {};
    let best: { r: number; k: number; score: number; solution: ReturnType<typeof solveCca> } | undefined;
    for (const r of [this.o.regularization].flat()) {
      const solution = solveCca(covA, covB, covAB, da, db, k, r);
      this.setSolution(solution, A.mean, B.mean);
      for (const choice of [...new Set([...this.o.componentChoices.filter((c) => c < k), k])].sort((x, y) => x - y)) {
        this.setComponents(choice);
        if (this.semanticHead) await this.fitHeads(data);
        const sc = await score();
        scores[`r=${r},k=${choice}`] = sc;
        if (!best || sc > best.score) best = { r, k: choice, score: sc, solution };
      }
    }
    this.setSolution(best!.solution, A.mean, B.mean);
    this.setComponents(best!.k);
    if (this.semanticHead) await this.fitHeads(data);
    return { regularization: best!.r, components: best!.k, scores, canonicalCorrelations: this.correlations.slice(0, best!.k) };
  }

  private setSolution(solution: { weights: [Float64Array, Float64Array]; correlations: number[] }, meanA: Float64Array, meanB: Float64Array): void {
    const [da, db] = [meanA.length, meanB.length];
    this.correlations = solution.correlations;
    this.mean[0].assign(tf.tensor(Float32Array.from(meanA), [1, da]));
    this.mean[1].assign(tf.tensor(Float32Array.from(meanB), [1, db]));
    this.weights[0].assign(tf.tensor(Float32Array.from(solution.weights[0]), [da, this.k]));
    this.weights[1].assign(tf.tensor(Float32Array.from(solution.weights[1]), [db, this.k]));
  }

  private setComponents(count: number): void {
    this.mask.assign(tf.tensor(Float32Array.from({ length: this.k }, (_, i) => (i < count ? 1 : 0)), [1, this.k]));
  }
}

/** C + r mean(diag C) I, on a copy. */
function regularised(c: Float64Array, d: number, regularization: number): Float64Array {
  const out = c.slice();
  let trace = 0;
  for (let i = 0; i < d; i++) trace += out[i * d + i] as number;
  const r = regularization * (trace / d) + 1e-12;
  for (let i = 0; i < d; i++) out[i * d + i]! += r;
  return out;
}

/** The k leading canonical directions (W_a = C_aa^-1/2 U_k, W_b = C_bb^-1/2 V_k) and correlations for one r. */
function solveCca(covA: Float64Array, covB: Float64Array, covAB: Float64Array, da: number, db: number, k: number, r: number) {
  const Ka = inverseSqrt(regularised(covA, da, r), da);
  const Kb = inverseSqrt(regularised(covB, db, r), db);
  const M = matmul(matmul(Ka, covAB, da, da, db), Kb, da, db, db);
  // Singular vectors from the smaller side's eigenproblem.
  const Ua = new Float64Array(da * k);
  const Ub = new Float64Array(db * k);
  const s = new Float64Array(k);
  const transpose = (m: Float64Array, rows: number, cols: number) => { const t = new Float64Array(rows * cols); for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = m[i * cols + j] as number; return t; };
  const small = da <= db;
  const [rows, cols, left] = small ? [da, db, M] : [db, da, transpose(M, da, db)];
  const eig = symmetricEigen(matmul(left, transpose(left, rows, cols), rows, cols, rows), rows);
  for (let c = 0; c < k; c++) {
    const e = rows - 1 - c; // descending
    const sigma = Math.sqrt(Math.max(eig.values[e] as number, 0));
    s[c] = sigma;
    const u = eig.vectors.subarray(e * rows, (e + 1) * rows);
    const other = new Float64Array(cols);
    for (let j = 0; j < cols; j++) { let acc = 0; for (let i = 0; i < rows; i++) acc += (left[i * cols + j] as number) * (u[i] as number); other[j] = sigma > 1e-12 ? acc / sigma : 0; }
    const [ua, ub] = small ? [u, other] : [other, u];
    for (let i = 0; i < da; i++) Ua[i * k + c] = ua[i] as number;
    for (let i = 0; i < db; i++) Ub[i * k + c] = ub[i] as number;
  }
  return { weights: [matmul(Ka, Ua, da, da, k), matmul(Kb, Ub, db, db, k)] as [Float64Array, Float64Array], correlations: Array.from(s) };
}

const baseDefaults: CcaOptions = {
  semantic: false, regressionSteps: 300, regressionL2: 1e-4, regularization: [1e-3, 1e-2, 0.1, 1, 10, 100], maxComponents: 256, componentChoices: [1, 2, 3, 5, 10, 20, 50, 100, 200],
};
const closedForm = { epochs: 1, batchSize: 100, lr: 1e-3, beta1: 0.9, beta2: 0.999, weightDecay: 0 };

register({
  name: 'cca',
  description: 'CCA: regularised canonical correlation analysis between two modalities, closed form; components chosen on validation',
  defaults: baseDefaults,
  training: closedForm,
  presets: { wikipedia: { options: {}, note: 'defaults (regularisation and components chosen on validation)' } },
  parseOptions: (raw) => parseOptionsWith(OptionsSchema, raw),
  create: (ctx, options) => new Cca('cca', ctx, options),
} satisfies MethodFactory<CcaOptions>);

register({
  name: 'scm',
  description: 'SCM (Rasiwasia et al. 2010): CCA, then per-modality logistic regression into the label simplex',
  defaults: { ...baseDefaults, semantic: true },
  training: closedForm,
  presets: { wikipedia: { options: {}, note: 'defaults' } },
  parseOptions: (raw) => parseOptionsWith(OptionsSchema, raw),
  create: (ctx, options) => new Cca('scm', ctx, options),
} satisfies MethodFactory<CcaOptions>);
