// `xmodal info` and `xmodal validate`: what a data set holds and what is wrong with it.
import { duplicateIdProblem, splitProblem } from './checks.js';
import type { Dataset } from './dataset.js';

export interface SplitInfo {
  items: number;
  labelCounts: Record<string, number>;
  unlabelled: number;
  missing: Record<string, number>;
}

export interface DatasetInfo {
  name: string;
  items: number;
  modalities: Array<{ name: string; dim: number; missingRate: number }>;
  labels: { count: number; names: string[]; perItemMean: number; frequency: Record<string, number> };
  cooccurrence: { pairsSeen: number; topPairs: Array<{ a: string; b: string; items: number }> };
  splits: Record<string, SplitInfo>;
  synthetic: boolean;
  provenance: string;
}

export function datasetInfo(ds: Dataset): DatasetInfo {
  const all = ds.all();
  const labels = ds.labels(all);
  const C = ds.labelNames.length;
  const freq = new Float64Array(C);
  const co = new Float64Array(C * C);
  let total = 0;
  for (let i = 0; i < ds.size; i++) {
    const on: number[] = [];
    for (let c = 0; c < C; c++) if (labels[i * C + c]) on.push(c);
    total += on.length;
    for (const a of on) {
      freq[a]!++;
      for (const b of on) if (b > a) co[a * C + b]!++;
    }
  }
  const pairs: Array<{ a: string; b: string; items: number }> = [];
  for (let a = 0; a < C; a++) for (let b = a + 1; b < C; b++) if (co[a * C + b]) pairs.push({ a: ds.labelNames[a]!, b: ds.labelNames[b]!, items: co[a * C + b]! });
  pairs.sort((x, y) => y.items - x.items);
  const presence = new Map(ds.modalityNames.map((m) => [m, ds.present(m, all)]));
  const splits: Record<string, SplitInfo> = {};
  for (const name of ds.splitNames) {
    const indices = ds.split(name);
    const labelCounts: Record<string, number> = Object.fromEntries(ds.labelNames.map((n) => [n, 0]));
    let unlabelled = 0;
    for (const i of indices) {
      let any = false;
      for (let c = 0; c < C; c++) if (labels[i * C + c]) { labelCounts[ds.labelNames[c]!]!++; any = true; }
      if (!any) unlabelled++;
    }
    const missing = Object.fromEntries(ds.modalityNames.map((m) => [m, indices.reduce((s, i) => s + (presence.get(m)![i] ? 0 : 1), 0)]));
    splits[name] = { items: indices.length, labelCounts, unlabelled, missing };
  }
  return {
    name: ds.name,
    items: ds.size,
    modalities: ds.manifest.modalities.map((m) => ({ name: m.name, dim: m.dim, missingRate: ds.size ? presence.get(m.name)!.reduce((s, p) => s + (p ? 0 : 1), 0) / ds.size : 0 })),
    labels: { count: C, names: ds.labelNames, perItemMean: ds.size ? total / ds.size : 0, frequency: Object.fromEntries(ds.labelNames.map((n, c) => [n, freq[c]!])) },
    cooccurrence: { pairsSeen: pairs.length, topPairs: pairs.slice(0, 10) },
    splits,
    synthetic: ds.manifest.synthetic !== null,
    provenance: ds.manifest.provenance.source,
  };
}

export function formatInfo(info: DatasetInfo): string {
  const lines = [`${info.name}: ${info.items} items${info.synthetic ? ' (synthetic)' : ''}`, `source: ${info.provenance}`];
  for (const m of info.modalities) lines.push(`modality ${m.name}: ${m.dim}-d, ${(100 * m.missingRate).toFixed(1)}% missing`);
  lines.push(`labels: ${info.labels.count}, ${info.labels.perItemMean.toFixed(2)} per item`);
  lines.push(`label frequency: ${Object.entries(info.labels.frequency).map(([n, f]) => `${n} ${f}`).join(', ')}`);
  if (info.cooccurrence.pairsSeen) {
    lines.push(`co-occurring label pairs: ${info.cooccurrence.pairsSeen}; most frequent: ${info.cooccurrence.topPairs.slice(0, 5).map((p) => `${p.a}+${p.b} ${p.items}`).join(', ')}`);
  } else lines.push('co-occurring label pairs: none (single-label data)');
  for (const [name, s] of Object.entries(info.splits)) {
    const missing = Object.entries(s.missing).filter(([, n]) => n > 0).map(([m, n]) => `${m} missing ${n}`);
    lines.push(`split ${name}: ${s.items} items${s.unlabelled ? `, ${s.unlabelled} without labels` : ''}${missing.length ? `, ${missing.join(', ')}` : ''}`);
    lines.push(`  per label: ${Object.values(s.labelCounts).join('/')}`);
  }
  return lines.join('\n');
}

export interface ValidationReport {
  problems: string[];
  warnings: string[];
}

export function validateDataset(ds: Dataset): ValidationReport {
  const problems = ds.fileProblems();
  const warnings: string[] = [];
  if (problems.length) return { problems, warnings };
  const all = ds.all();
  try {
    for (const m of ds.manifest.modalities) {
      const x = ds.features(m.name, all);
      if (x.length !== ds.size * m.dim) { problems.push(`${m.file}: shape differs from ${ds.size} x ${m.dim}`); continue; }
      const present = ds.present(m.name, all);
      let nonfinite = 0;
      let first = '';
      let filledAbsent = 0;
      for (let i = 0; i < ds.size; i++) {
        for (let j = 0; j < m.dim; j++) {
          const v = x[i * m.dim + j] as number;
          if (!Number.isFinite(v)) { if (!nonfinite++) first = `row ${i + 1}, column ${j + 1}`; }
          if (!present[i] && v !== 0) { filledAbsent++; break; }
        }
      }
      if (nonfinite) problems.push(`${m.file}: ${nonfinite} non-finite values (first at ${first})`);
      if (filledAbsent) problems.push(`${m.file}: ${filledAbsent} items marked absent have non-zero features`);
      const missing = present.reduce((s, p) => s + (p ? 0 : 1), 0);
      if (missing) warnings.push(`modality ${m.name}: ${missing} of ${ds.size} items lack it`);
    }
    const labels = ds.labels(all);
    const C = ds.labelNames.length;
    if (labels.length !== ds.size * C) problems.push(`${ds.manifest.labels.file}: shape differs from ${ds.size} x ${C}`);
    else {
      if (labels.some((v) => v !== 0 && v !== 1)) problems.push(`${ds.manifest.labels.file}: values other than 0 and 1`);
      let empty = 0;
      for (let i = 0; i < ds.size; i++) if (labels.subarray(i * C, (i + 1) * C).every((v) => v === 0)) empty++;
      if (empty) warnings.push(`labels: ${empty} items have no label; they are kept, and left out of query sets (their precision is undefined)`);
    }
    if (ds.size === 0) problems.push('dataset.json: 0 items');
    const splitIssue = splitProblem(Object.fromEntries(ds.splitNames.map((name) => [name, ds.split(name)])), ds.size);
    if (splitIssue) problems.push(splitIssue);
    const idIssue = duplicateIdProblem(ds.metadata());
    if (idIssue) problems.push(idIssue);
  } catch (error) {
    problems.push((error as Error).message);
  }
  return { problems, warnings };
}
