// Label-name vectors for the label graph network: looked up in a word-vector table, multi-word names averaged
// over their words (as ML-GCN builds its COCO vectors).
import { readBytes } from '../util/read-file.js';
import { extname } from 'node:path';
import { UserError } from '../errors.js';

export interface WordVectors {
  dim: number;
  get(word: string): ArrayLike<number> | undefined;
  source: string;
}

/**
 * Reads a word-vector table: GloVe / word2vec text (`word v1 ... vd` per line, an optional `count dim` header),
 * a wink-embeddings JSON (`{dimensions, vectors: {word: [v1..vd, ...]}}`), or xmodal's label-vector JSON
 * (`{dim, labels, vectors}`, as shipped under datasets/resources/label-glove).
 */
export function readWordVectors(path: string): WordVectors {
  const text = readBytes(path).toString('utf8');
  if (extname(path).toLowerCase() === '.json') {
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new UserError(`${path}: not valid JSON`);
    }
    if (Array.isArray(json.labels) && Array.isArray(json.vectors)) {
      const labels = json.labels as string[];
      const vectors = json.vectors as number[][];
      const table = new Map(labels.map((l, i) => [l.toLowerCase(), vectors[i] as number[]]));
      return { dim: Number(json.dim ?? vectors[0]?.length), get: (w) => table.get(w), source: path };
    }
    if (typeof json.dimensions === 'number' && json.vectors && typeof json.vectors === 'object') {
      const dim = json.dimensions;
      const table = json.vectors as Record<string, number[]>;
      return { dim, get: (w) => (Object.hasOwn(table, w) ? (table[w] as number[]).slice(0, dim) : undefined), source: path };
    }
    throw new UserError(`${path}: unknown JSON word-vector layout (expected {dim, labels, vectors} or {dimensions, vectors})`);
  }
  const table = new Map<string, Float32Array>();
  let dim = 0;
  text.split('\n').forEach((line, i) => {
    const parts = line.trim().split(/\s+/);
    if (parts.length < 2) return;
    if (i === 0 && parts.length === 2 && parts.every((p) => /^\d+$/.test(p))) return; // word2vec header
    const values = Float32Array.from(parts.slice(1), Number);
    if (!dim) dim = values.length;
    if (values.length !== dim || values.some(Number.isNaN)) throw new UserError(`${path}: line ${i + 1}: expected a word and ${dim} numbers`);
    table.set(parts[0] as string, values);
  });
  if (!dim) throw new UserError(`${path}: no word vectors found`);
  return { dim, get: (w) => table.get(w), source: path };
}

/** One row per label: the label's own vector, else the mean of its words' vectors (split on space, _ and -). */
export function labelEmbeddings(names: string[], table: WordVectors): Float32Array {
  const out = new Float32Array(names.length * table.dim);
  const missing: string[] = [];
  names.forEach((name, i) => {
    const whole = table.get(name) ?? table.get(name.toLowerCase());
    const words = whole ? [whole] : name.toLowerCase().split(/[\s_-]+/).filter(Boolean).map((w) => table.get(w));
    if (!words.length || words.some((w) => !w)) {
      missing.push(name);
      return;
    }
    for (const w of words) for (let k = 0; k < table.dim; k++) out[i * table.dim + k]! += ((w as ArrayLike<number>)[k] as number) / words.length;
  });
  if (missing.length) throw new UserError(`${table.source}: no vector for label${missing.length > 1 ? 's' : ''} ${missing.map((m) => `'${m}'`).join(', ')}`);
  return out;
}
