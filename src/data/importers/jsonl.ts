// JSON Lines: one item per line, e.g.
//   {"id": "a1", "image": [0.1, ...], "text": [0.3, ...], "labels": ["art"], "split": "train", "meta": {"title": "..."}}
// Every key holding an array of numbers is a modality (a key absent on a line means that item lacks it);
// "labels" holds label names or a multi-hot array; "split" names the item's split. The file must be UTF-8
// (a byte-order mark is accepted); keys are data, never object machinery (`__proto__` is just a name).
import { readBytes } from '../../util/read-file.js';
import { UserError } from '../../errors.js';
import { checkModalityName, checkSafeName } from '../../util/names.js';
import { carveValidation } from '../splits.js';
import type { DatasetSpec } from '../writer.js';

const reserved = new Set(['id', 'labels', 'split', 'meta']);

export interface JsonlOptions {
  labelNames?: string[];
  name?: string;
  /** When no line names a split: this share of the items becomes "test" (stratified, seeded); 0 keeps all in train. */
  testFraction?: number;
  seed?: number;
  /** Told what the importer decided on the user's behalf (no split field, say). */
  warn?: (message: string) => void;
}

/** The file's lines as strings, decoded strictly: bytes that are not UTF-8 are an error naming the line. */
export function readLines(path: string): string[] {
  const bytes = readBytes(path);
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  const lines: string[] = [];
  let start = 0;
  while (start <= bytes.length) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    try {
      // The decoder strips a leading byte-order mark (ignoreBOM: false); only line 1 can have one.
      lines.push(decoder.decode(bytes.subarray(start, end)).replace(/\r$/, ''));
    } catch {
      throw new UserError(`${path}: line ${lines.length + 1}: not valid UTF-8 (convert the file to UTF-8)`);
    }
    start = end + 1;
  }
  return lines;
}

/** Every non-empty line as a JSON object, its own keys read into a Map, with its line number. */
export function readJsonObjects(path: string): Array<{ no: number; item: Map<string, unknown> }> {
  return readLines(path).map((l, i) => [l, i + 1] as const).filter(([l]) => l.trim().length > 0).map(([line, no]) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new UserError(`${path}: line ${no}: not valid JSON`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UserError(`${path}: line ${no}: expected a JSON object`);
    // Own keys only, read into a Map: a key such as "__proto__" or "constructor" is a field like any other.
    return { no, item: new Map(Object.entries(value as Record<string, unknown>)) };
  });
}

export function importJsonl(path: string, options: JsonlOptions = {}): DatasetSpec {
  const rows = readJsonObjects(path);
  if (!rows.length) throw new UserError(`${path}: no items`);
  const dims = new Map<string, number>();
  const labelSet = new Set<string>();
  let hotWidth: number | undefined;
  for (const { no, item } of rows) {
    for (const [key, value] of item) {
      if (reserved.has(key)) continue;
      if (!dims.has(key)) checkModalityName(key, `${path}: line ${no}: field '${key}'`);
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'number' && v !== null)) throw new UserError(`${path}: line ${no}: field '${key}' is not an array of numbers`);
      const dim = dims.get(key);
      if (dim !== undefined && dim !== value.length) throw new UserError(`${path}: line ${no}: field '${key}' has ${value.length} values, earlier lines have ${dim}`);
      dims.set(key, value.length);
    }
    const labels = item.get('labels');
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
      const value = item.get(m.name) as Array<number | null> | undefined;
      if (!value) continue;
      value.forEach((v, j) => (m.data[i * m.dim + j] = v === null ? Number.NaN : v));
      m.present[i] = 1;
    }
    (item.get('labels') as unknown[]).forEach((l, j) => {
      if (typeof l === 'string') {
        const c = names.indexOf(l);
        if (c < 0) throw new UserError(`${path}: line ${no}: label '${l}' is not among --label-names`);
        labels[i * C + c] = 1;
      } else if (l === 1) {
        if (j >= C) throw new UserError(`${path}: line ${no}: 'labels' has more entries than the ${C} label names`);
        labels[i * C + j] = 1;
      }
    });
    const split = item.get('split') ?? 'train';
    if (typeof split !== 'string') throw new UserError(`${path}: line ${no}: 'split' must be a name like train or test`);
    checkSafeName(split, 'split', `${path}: line ${no}`);
    if (!splitLists.has(split)) splitLists.set(split, []);
    splitLists.get(split)!.push(i);
    const meta = item.get('meta');
    if (meta !== undefined && (typeof meta !== 'object' || meta === null || Array.isArray(meta))) throw new UserError(`${path}: line ${no}: 'meta' must be an object`);
    const id = item.get('id');
    // Object.fromEntries defines own properties, so a "__proto__" key in meta stays a plain field.
    metadata.push(Object.fromEntries([...(id !== undefined ? [['id', String(id)]] : []), ...Object.entries((meta ?? {}) as Record<string, unknown>)]));
  });
  let splits: Record<string, Int32Array> = Object.fromEntries([...splitLists].map(([k, v]) => [k, Int32Array.from(v)]));
  if (!rows.some(({ item }) => item.has('split'))) splits = defaultSplits(path, N, labels, C, options);
  return {
    name: options.name ?? 'imported',
    modalities,
    labels: { names, data: labels, source: `${path}: field 'labels'` },
    splits,
    metadata,
    provenance: { source: path, importer: 'jsonl' },
  };
}

/** No line names a split: a stratified, seeded test share (--test-fraction), or everything in train, said aloud. */
export function defaultSplits(path: string, N: number, labels: Uint8Array, C: number, options: JsonlOptions): Record<string, Int32Array> {
  const all = Int32Array.from({ length: N }, (_, i) => i);
  const fraction = options.testFraction ?? 0;
  if (!(fraction >= 0 && fraction < 1)) throw new UserError('--test-fraction must be at least 0 and below 1');
  if (fraction === 0) {
    options.warn?.(`${path}: no line has a "split" field: all ${N} items go to train and there will be no test split (give --test-fraction 0.2 for a held-out test split)`);
    return { train: all };
  }
  const carved = carveValidation(all, labels, C, fraction, options.seed ?? 0);
  options.warn?.(`${path}: no line has a "split" field: ${carved.val.length} of ${N} items (--test-fraction ${fraction}, stratified, seed ${options.seed ?? 0}) form the test split`);
  return { train: carved.train, test: carved.val };
}
