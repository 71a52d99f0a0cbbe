// Transfer scenarios from one data set: a source domain and a target domain, each a data set of its own with the
// original splits. Items go to the target by label (every label of the item among the target labels: a real
// semantic shift, e.g. Wikipedia's art..literature -> media..warfare) or by a seeded random share (same label
// distribution); either way the target's features can be shifted by a seeded random affine map (a controlled
// distribution shift: x' = x + s (x G / sqrt(d) + sd * b), G and b standard normal, sd the feature's spread).
import { createRng, normal, permutation } from '../engine/random.js';
import { UserError } from '../errors.js';
import type { Dataset } from './dataset.js';
import type { DatasetSpec } from './writer.js';

export interface DomainSplitOptions {
  /** Items whose labels all lie in these go to the target. */
  targetLabels?: string[];
  /** Or: this share of the items (seeded) goes to the target. */
  targetShare?: number;
  /** Strength of the affine shift applied to the target's features (0: none). */
  shift: number;
  seed: number;
}

function subset(ds: Dataset, items: Int32Array, domain: string, note: string): DatasetSpec {
  const position = new Map(Array.from(items, (item, k) => [item, k]));
  const splits: Record<string, Int32Array> = {};
  for (const name of ds.splitNames) {
    const kept = Array.from(ds.split(name)).map((i) => position.get(i)).filter((k): k is number => k !== undefined);
    if (kept.length) splits[name] = Int32Array.from(kept);
  }
  const metadata = ds.metadata();
  const embeddings = ds.labelEmbeddings();
  return {
    name: `${ds.name}-${domain}`,
    description: `${domain} domain of ${ds.name}: ${note}`,
    modalities: ds.modalityNames.map((m) => ({ name: m, dim: ds.modality(m).dim, data: ds.features(m, items), present: ds.present(m, items), source: `${ds.dir} (${m})` })),
    labels: { names: ds.labelNames, data: ds.labels(items), source: ds.dir },
    splits,
    ...(metadata.length ? { metadata: Array.from(items, (i) => metadata[i] ?? {}) } : {}),
    ...(embeddings ? { labelEmbeddings: embeddings } : {}),
    provenance: { source: ds.dir, importer: 'split-domains', notes: note },
  };
}

function shiftFeatures(spec: DatasetSpec, strength: number, seed: number): void {
  const rng = createRng(seed ^ 0x5a17);
  for (const m of spec.modalities) {
    const d = m.dim;
    const n = m.data.length / d;
    const g = Float64Array.from({ length: d * d }, () => normal(rng) / Math.sqrt(d));
    const b = Float64Array.from({ length: d }, () => normal(rng));
    let sum = 0;
    let sq = 0;
    for (const v of m.data) {
      sum += v;
      sq += v * v;
    }
    const sd = Math.sqrt(Math.max(sq / m.data.length - (sum / m.data.length) ** 2, 0));
    const out = new Float32Array(m.data.length);
    for (let i = 0; i < n; i++) {
      if (m.present && !m.present[i]) continue;
      const row = m.data.subarray(i * d, (i + 1) * d);
      for (let j = 0; j < d; j++) {
        let s = 0;
        for (let t = 0; t < d; t++) s += (row[t] as number) * (g[t * d + j] as number);
        out[i * d + j] = (row[j] as number) + strength * (s + sd * (b[j] as number));
      }
    }
    m.data = out;
  }
}

/** The source and target data sets of a transfer scenario built from `ds`. */
export function splitDomains(ds: Dataset, o: DomainSplitOptions): { source: DatasetSpec; target: DatasetSpec } {
  if ((o.targetLabels === undefined) === (o.targetShare === undefined)) throw new UserError('give either --target-labels or --target-share');
  if (!(o.shift >= 0)) throw new UserError('--shift must be >= 0');
  const all = ds.all();
  const labels = ds.labels(all);
  const C = ds.labelNames.length;
  const toTarget = new Uint8Array(all.length);
  let how: string;
  if (o.targetLabels) {
    const unknown = o.targetLabels.find((l) => !ds.labelNames.includes(l));
    if (unknown !== undefined) throw new UserError(`--target-labels: no label '${unknown}' in ${ds.dir} (labels: ${ds.labelNames.join(', ')})`);
    const inTarget = ds.labelNames.map((l) => o.targetLabels!.includes(l));
    for (let i = 0; i < all.length; i++) {
      const row = labels.subarray(i * C, (i + 1) * C);
      toTarget[i] = row.some((v) => v) && row.every((v, c) => !v || inTarget[c]) ? 1 : 0;
    }
    how = `items labelled only with ${o.targetLabels.join(', ')} form the target`;
  } else {
    const share = o.targetShare as number;
    if (!(share > 0 && share < 1)) throw new UserError('--target-share must lie strictly between 0 and 1');
    const order = permutation(createRng(o.seed), all.length);
    for (let k = 0; k < Math.round(share * all.length); k++) toTarget[order[k] as number] = 1;
    how = `a random ${share} of the items (seed ${o.seed}) form the target`;
  }
  const target = all.filter((_, i) => toTarget[i]);
  const source = all.filter((_, i) => !toTarget[i]);
  if (!target.length || !source.length) throw new UserError(`${ds.dir}: the ${target.length ? 'source' : 'target'} domain would be empty`);
  const shifted = o.shift > 0 ? `; target features shifted by a random affine map of strength ${o.shift} (seed ${o.seed})` : '';
  const targetSpec = subset(ds, target, 'target', how + shifted);
  if (o.shift > 0) shiftFeatures(targetSpec, o.shift, o.seed);
  return { source: subset(ds, source, 'source', `the items not in the target (${how})`), target: targetSpec };
}
