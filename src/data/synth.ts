// Synthetic labelled K-modal data for tests and demos. Label sets are drawn from a real label matrix (by
// default MIRFlickr-25K's 24 labels, so label frequencies and co-occurrence are real); every modality is a
// different random non-linear map of a shared label-driven latent, plus noise.
import { UserError } from '../errors.js';
import { createRng, normal, permutation } from '../engine/random.js';
import type { DatasetSpec } from './writer.js';

export interface SynthOptions {
  items: number;
  /** Modality name -> dimension. */
  modalities: Record<string, number>;
  /** Source label matrix (N0 x C, rows sampled with replacement) and its label names. */
  labelSource: { names: string[]; data: Uint8Array; source: string };
  /** Standard deviation of the noise added to the latent and to each feature, relative to the signal (about 1). */
  noise: number;
  /** Modality name -> fraction of items that lack it (each item keeps at least one modality). */
  missing: Record<string, number>;
  seed: number;
  latentDim: number;
  fractions: { train: number; val: number; test: number };
  name: string;
}

export const synthDefaults = { items: 1000, noise: 0.5, seed: 0, latentDim: 32, fractions: { train: 0.7, val: 0.1, test: 0.2 } };

export function synthesize(o: SynthOptions): DatasetSpec {
  const names = Object.keys(o.modalities);
  if (!names.length) throw new UserError('--modalities: give at least one NAME=DIM');
  if (!Number.isInteger(o.items) || o.items < 1) throw new UserError('--items must be a positive integer');
  if (!(o.noise >= 0)) throw new UserError('--noise must be >= 0');
  for (const [m, rate] of Object.entries(o.missing)) {
    if (!names.includes(m)) throw new UserError(`--missing: no modality '${m}' (modalities: ${names.join(', ')})`);
    if (!(rate >= 0 && rate < 1)) throw new UserError(`--missing ${m}: rate must lie in [0, 1)`);
  }
  const rng = createRng(o.seed);
  const C = o.labelSource.names.length;
  const sourceRows = o.labelSource.data.length / C;
  // Rows with at least one label only: a synthetic item without labels would be useless for evaluation.
  const labelled: number[] = [];
  for (let r = 0; r < sourceRows; r++) if (o.labelSource.data.subarray(r * C, (r + 1) * C).some((v) => v)) labelled.push(r);
  if (!labelled.length) throw new UserError(`${o.labelSource.source}: no row has a label`);
  const N = o.items;
  const labels = new Uint8Array(N * C);
  for (let i = 0; i < N; i++) {
    const r = labelled[Math.floor(rng() * labelled.length)] as number;
    labels.set(o.labelSource.data.subarray(r * C, (r + 1) * C), i * C);
  }
  const h = o.latentDim;
  const labelEmbedding = Float64Array.from({ length: C * h }, () => normal(rng));
  const latent = new Float64Array(N * h);
  for (let i = 0; i < N; i++) {
    let count = 0;
    for (let c = 0; c < C; c++) count += labels[i * C + c] as number;
    for (let k = 0; k < h; k++) {
      let s = 0;
      for (let c = 0; c < C; c++) if (labels[i * C + c]) s += labelEmbedding[c * h + k] as number;
      latent[i * h + k] = s / Math.sqrt(Math.max(count, 1)) + o.noise * normal(rng);
    }
  }
  const present = names.map(() => new Uint8Array(N).fill(1));
  for (let i = 0; i < N; i++) {
    names.forEach((m, k) => {
      if (rng() < (o.missing[m] ?? 0)) present[k]![i] = 0;
    });
    if (present.every((p) => !p[i])) present[Math.floor(rng() * names.length)]![i] = 1;
  }
  const modalities = names.map((name, k) => {
    const dim = o.modalities[name] as number;
    if (!Number.isInteger(dim) || dim < 1) throw new UserError(`--modalities ${name}: dimension must be a positive integer`);
    const hidden = Math.max(16, Math.min(2 * h, dim));
    const w1 = Float64Array.from({ length: h * hidden }, () => normal(rng) / Math.sqrt(h));
    const w2 = Float64Array.from({ length: hidden * dim }, () => normal(rng) / Math.sqrt(hidden));
    const data = new Float32Array(N * dim);
    const z = new Float64Array(hidden);
    for (let i = 0; i < N; i++) {
      if (!present[k]![i]) continue;
      for (let j = 0; j < hidden; j++) {
        let s = 0;
        for (let t = 0; t < h; t++) s += (latent[i * h + t] as number) * (w1[t * hidden + j] as number);
        z[j] = Math.tanh(s);
      }
      for (let d = 0; d < dim; d++) {
        let s = 0;
        for (let j = 0; j < hidden; j++) s += (z[j] as number) * (w2[j * dim + d] as number);
        data[i * dim + d] = s + o.noise * normal(rng);
      }
    }
    return { name, dim, data, present: present[k]!, source: `synthetic modality '${name}'` };
  });
  const order = permutation(rng, N);
  const nTrain = Math.round(N * o.fractions.train);
  const nVal = Math.round(N * o.fractions.val);
  const splits: Record<string, Int32Array> = {
    train: Int32Array.from(order.subarray(0, nTrain)).sort(),
    val: Int32Array.from(order.subarray(nTrain, nTrain + nVal)).sort(),
    test: Int32Array.from(order.subarray(nTrain + nVal)).sort(),
  };
  return {
    name: o.name,
    description: 'Synthetic data: not a measurement of anything real.',
    modalities,
    labels: { names: o.labelSource.names, data: labels, source: o.labelSource.source },
    splits,
    provenance: { source: `xmodal synth (labels drawn from ${o.labelSource.source})`, importer: 'synth' },
    synthetic: {
      generator: 'xmodal synth v1: latent = mean label embedding + noise; modality = tanh MLP of the latent + noise',
      seed: o.seed,
      items: N,
      modalities: o.modalities,
      noise: o.noise,
      missing: o.missing,
      latentDim: h,
      fractions: o.fractions,
      labelSource: o.labelSource.source,
    },
  };
}
