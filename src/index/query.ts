// Turns what a user gives (raw features, an indexed item, raw text) into common-space query vectors.
import { UserError } from '../errors.js';
import type { LoadedRun } from '../train/load-run.js';
import { embedRows } from './build.js';
import { modelHash, type SearchIndex } from './search-index.js';

export interface QuerySpec {
  from: string;
  /** Raw features of the `from` modality. */
  vector?: number[] | Float32Array;
  /** An indexed item: its stored `from` embedding. */
  item?: string;
  /** Raw text, for a text modality with a bag-of-words vocabulary. */
  text?: string;
}

/** Checks that the index was built by this run's model (same weights), or refuses with a clear message. */
export function checkIndexMatchesRun(index: SearchIndex, run: LoadedRun): void {
  if (index.manifest.dim !== run.method.embeddingDim) throw new UserError(`the index holds ${index.manifest.dim}-d embeddings, the run's model makes ${run.method.embeddingDim}-d (rebuild it with xmodal index)`);
  const hash = modelHash(run.dir);
  if (hash !== index.manifest.run.modelSha256) throw new UserError(`the index was built with another model (${index.manifest.run.modelSha256.slice(0, 12)}, this run's is ${hash.slice(0, 12)}): rebuild it with xmodal index`);
}

/** Bag of words over a vocabulary: counts of the vocabulary's words (lower-cased, split on non-letters). */
export function bagOfWords(text: string, vocabulary: string[]): Float32Array {
  const position = new Map(vocabulary.map((w, i) => [w.toLowerCase(), i]));
  const out = new Float32Array(vocabulary.length);
  for (const word of text.toLowerCase().split(/[^\p{L}\p{N}_]+/u)) {
    const i = position.get(word);
    if (i !== undefined) out[i]! += 1;
  }
  return out;
}

export function acceptedInputs(index: SearchIndex, modality: string): string {
  const m = index.manifest.modalities.find((x) => x.name === modality);
  if (!m) return 'none';
  return [`vector (${m.inputDim}-d ${modality} features)`, 'item (an indexed id)', ...(m.vocabulary ? ['text (bag of words over its vocabulary)'] : [])].join(', ');
}

export function queryVectors(index: SearchIndex, run: LoadedRun | undefined, specs: QuerySpec[]): Float32Array[] {
  return specs.map((q) => {
    const m = index.manifest.modalities.find((x) => x.name === q.from);
    if (!m) throw new UserError(`from: no modality '${q.from}' in this index (modalities: ${index.modalities.join(', ')})`);
    const given = [q.vector !== undefined, q.item !== undefined, q.text !== undefined].filter(Boolean).length;
    if (given !== 1) throw new UserError(`give exactly one of vector, item or text (this index accepts for ${q.from}: ${acceptedInputs(index, q.from)})`);
    if (q.item !== undefined) return index.embeddingOf(q.item, q.from);
    let raw: Float32Array;
    if (q.text !== undefined) {
      if (!m.vocabulary) throw new UserError(`text: the ${q.from} modality has no featuriser for raw text (this index accepts for ${q.from}: ${acceptedInputs(index, q.from)})`);
      raw = bagOfWords(q.text, m.vocabulary);
    } else {
      raw = Float32Array.from(q.vector as ArrayLike<number>);
      if (raw.length !== m.inputDim) throw new UserError(`vector: ${raw.length} values, the ${q.from} encoder takes ${m.inputDim}-d features`);
      if (raw.some((v) => !Number.isFinite(v))) throw new UserError('vector: values must be finite numbers');
    }
    if (!run) throw new UserError('encoding a raw query needs the run that built the index');
    return embedRows(run.method, q.from, raw, m.inputDim)[0] as Float32Array;
  });
}
