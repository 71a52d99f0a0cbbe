// JSON Lines: one item per line, e.g.
//   {"id": "a1", "image": [0.1, ...], "text": [0.3, ...], "labels": ["art"], "split": "train", "meta": {"title": "..."}}
// Every key holding an array of numbers is a modality (a key absent on a line means that item lacks it);
// "labels" holds label names or a multi-hot array; "split" names the item's split (default "train").
import { readFileSync } from 'node:fs';
import { UserError } from '../../errors.js';
import type { DatasetSpec } from '../writer.js';

const reserved = new Set(['id', 'labels', 'split', 'meta']);

export function importJsonl(path: string, options: { labelNames?: string[]; name?: string } = {}): DatasetSpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UserError(`${path}: cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const lines = text.split(/\r?\n/).map((l, i) => [l, i + 1] as const).filter(([l]) => l.trim().length > 0);
  const rows = lines.map(([line, no]) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new UserError(`${path}: line ${no}: not valid JSON`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UserError(`${path}: line ${no}: expected a JSON object`);
    return { no, item: value as Record<string, unknown> };
  });
  if (!rows.length) throw new UserError(`${path}: no items`);
  const dims = new Map<string, number>();
  const labelSet = new Set<string>();
  let hotWidth: number | undefined;
  for (const { no, item } of rows) {
    for (const [key, value] of Object.entries(item)) {
      if (reserved.has(key)) continue;
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'number' && v !== null)) throw new UserError(`${path}: line ${no}: field '${key}' is not an array of numbers`);
      const dim = dims.get(key);
      if (dim !== undefined && dim !== value.length) throw new UserError(`${path}: line ${no}: field '${key}' has ${value.length} values, earlier lines have ${dim}`);
      dims.set(key, value.length);
    }
    const labels = item.labels;
    if (!Array.isArray(labels)) throw new UserError(`${path}: line ${no}: field 'labels' must be an array (label names or multi-hot)`);
    if (labels.every((l) => typeof l === 'string')) labels.forEach((l) => labelSet.add(l as string));
    else if (labels.every((l) => l === 0 || l === 1)) {
      if (hotWidth !== undefined && hotWidth !== labels.length) throw new UserError(`${path}: line ${no}: 'labels' has ${labels.length} entries, earlier lines have ${hotWidth}`);
      hotWidth = labels.length;
    } else throw new UserError(`${path}: line ${no}: 'labels' must hold label names or 0/1 values`);
  }
  if (!dims.size) throw new UserError(`${path}: no modality: no field holds an array of numbers`);
  if (hotWidth !== undefined && labelSet.size) throw new UserError(`${path}: 'labels' mixes label names and multi-hot arrays across lines`);
  const names = options.labelNames ?? (labelSet.size ? [...labelSet].sort() : Array.from({ length: hotWidth ?? 0 }, (_, i) => `label${i}`));
  const C = names.length;
  const N = rows.length;
  const labels = new Uint8Array(N * C);
  const modalities = [...dims].map(([name, dim]) => ({ name, dim, data: new Float32Array(N * dim), present: new Uint8Array(N), source: `${path}: field '${name}'` }));
  const splitLists = new Map<string, number[]>();
  const metadata: Record<string, unknown>[] = [];
  rows.forEach(({ no, item }, i) => {
    for (const m of modalities) {
      const value = item[m.name] as Array<number | null> | undefined;
      if (!value) continue;
      value.forEach((v, j) => (m.data[i * m.dim + j] = v === null ? Number.NaN : v));
      m.present[i] = 1;
    }
    (item.labels as unknown[]).forEach((l, j) => {
      if (typeof l === 'string') {
        const c = names.indexOf(l);
        if (c < 0) throw new UserError(`${path}: line ${no}: label '${l}' is not among --label-names`);
        labels[i * C + c] = 1;
      } else if (l === 1) {
        if (j >= C) throw new UserError(`${path}: line ${no}: 'labels' has more entries than the ${C} label names`);
        labels[i * C + j] = 1;
      }
    });
    const split = item.split ?? 'train';
    if (typeof split !== 'string' || !/^[A-Za-z][A-Za-z0-9_-]*$/.test(split)) throw new UserError(`${path}: line ${no}: 'split' must be a name like train or test`);
    if (!splitLists.has(split)) splitLists.set(split, []);
    splitLists.get(split)!.push(i);
    const meta = item.meta;
    if (meta !== undefined && (typeof meta !== 'object' || meta === null || Array.isArray(meta))) throw new UserError(`${path}: line ${no}: 'meta' must be an object`);
    metadata.push({ ...(item.id !== undefined ? { id: String(item.id) } : {}), ...(meta as Record<string, unknown> | undefined) });
  });
  const splits = Object.fromEntries([...splitLists].map(([k, v]) => [k, Int32Array.from(v)]));
  return {
    name: options.name ?? 'imported',
    modalities,
    labels: { names, data: labels, source: `${path}: field 'labels'` },
    splits,
    metadata,
    provenance: { source: path, importer: 'jsonl' },
  };
}
