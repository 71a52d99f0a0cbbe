// Turns what a user gives (raw features, an indexed item, raw text) into common-space query vectors.
import { UserError } from '../errors.js';
import type { EncodingRun } from '../runs/load.js';
import { describeState } from '../features/state.js';
import { hasTextFeaturizer, textFeatures } from './featurize.js';
import { asCollection, type Collection, type IndexInfo } from './collection.js';
import { modelHash, type SearchIndex } from './search-index.js';

/** `from` of a multi-modal query: an item's (or given features') modalities aggregated by the model. */
export const AGGREGATE = 'aggregate';

export interface QuerySpec {
  /** A modality, or `aggregate` (methods that aggregate modalities, such as agat). */
  from: string;
  /** Raw features of the `from` modality. */
  vector?: number[] | Float32Array;
  /** An indexed item: its stored `from` embedding. */
  item?: string;
  /** Raw text, for a text modality with a text featuriser or a bag-of-words vocabulary. */
  text?: string;
  /** With from = aggregate: raw features of several modalities of one query. */
  features?: Record<string, number[] | Float32Array>;
}

/** Checks that the index was built by this run's model (same weights), or refuses with a clear message. */
export function checkIndexMatchesRun(index: IndexInfo, run: EncodingRun): void {
  if (index.manifest.dim !== run.encoder.embeddingDim) throw new UserError(`the index holds ${index.manifest.dim}-d embeddings, the run's model makes ${run.encoder.embeddingDim}-d (rebuild it with xmodal index)`);
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

export function acceptedInputs(index: IndexInfo, modality: string): string {
  const m = index.manifest.modalities.find((x) => x.name === modality);
  if (!m) return 'none';
  const raw = m.featurizer?.name === 'image' ? [`image (a photo, ${describeState(m.featurizer)})`]
    : m.featurizer ? [`text (${describeState(m.featurizer)})`]
      : m.vocabulary ? ['text (bag of words over its vocabulary)'] : [];
  return [`vector (${m.inputDim}-d ${modality} features)`, 'item (an indexed id)', ...raw].join(', ');
}

/** A multi-modal query: the item's stored embeddings, or the given features embedded, aggregated by the model. */
async function aggregateQuery(index: Collection, run: EncodingRun | undefined, q: QuerySpec): Promise<Float32Array> {
  const encoder = run?.encoder;
  if (!encoder?.aggregate) throw new UserError(`from: '${AGGREGATE}' needs the run that built the index, made by a method that aggregates modalities (agat)`);
  if ((q.item !== undefined) === (q.features !== undefined)) throw new UserError(`from '${AGGREGATE}': give exactly one of item or features`);
  if (q.vector !== undefined || q.text !== undefined) throw new UserError(`from '${AGGREGATE}': vector and text are for one modality; give features (modality -> raw features)`);
  const embeddings: Record<string, Float32Array> = {};
  if (q.item !== undefined) {
    for (const m of (await index.item(q.item))?.modalities ?? []) embeddings[m] = await index.embeddingOf(q.item, m);
    if (!Object.keys(embeddings).length) throw new UserError(`no item '${q.item}' in this index`);
  } else {
    for (const [m, values] of Object.entries(q.features ?? {})) {
      const spec = index.manifest.modalities.find((x) => x.name === m);
      if (!spec) throw new UserError(`features.${m}: no modality '${m}' in this index (modalities: ${index.modalities.join(', ')})`);
      const raw = Float32Array.from(values);
      if (raw.length !== spec.inputDim || raw.some((v) => !Number.isFinite(v))) throw new UserError(`features.${m}: expected ${spec.inputDim} finite numbers, got ${raw.length} values`);
      embeddings[m] = encoder.embed(m, raw, spec.inputDim)[0] as Float32Array;
    }
    if (!Object.keys(embeddings).length) throw new UserError('features: give at least one modality');
  }
  return encoder.aggregate(embeddings);
}

export async function queryVectors(source: SearchIndex | Collection, run: EncodingRun | undefined, specs: QuerySpec[]): Promise<Float32Array[]> {
  const index = asCollection(source);
  const out: Float32Array[] = [];
  for (const q of specs) out.push(await queryVector(index, run, q));
  return out;
}

async function queryVector(index: Collection, run: EncodingRun | undefined, q: QuerySpec): Promise<Float32Array> {
  if (q.from === AGGREGATE && !index.modalities.includes(AGGREGATE)) return aggregateQuery(index, run, q);
  if (q.features !== undefined) throw new UserError(`features: only for from '${AGGREGATE}' (multi-modal queries)`);
  const m = index.manifest.modalities.find((x) => x.name === q.from);
  if (!m) throw new UserError(`from: no modality '${q.from}' in this index (modalities: ${index.modalities.join(', ')})`);
  const given = [q.vector !== undefined, q.item !== undefined, q.text !== undefined].filter(Boolean).length;
  if (given !== 1) throw new UserError(`give exactly one of vector, item or text (this index accepts for ${q.from}: ${acceptedInputs(index, q.from)})`);
  if (q.item !== undefined) return index.embeddingOf(q.item, q.from);
  let raw: Float32Array;
  if (q.text !== undefined && hasTextFeaturizer(index, q.from)) raw = textFeatures(index, q.from, q.text);
  else if (q.text !== undefined) {
    if (!m.vocabulary) throw new UserError(`text: the ${q.from} modality has no featuriser for raw text (this index accepts for ${q.from}: ${acceptedInputs(index, q.from)})`);
    raw = bagOfWords(q.text, m.vocabulary);
  } else {
    raw = Float32Array.from(q.vector as ArrayLike<number>);
    if (raw.length !== m.inputDim) throw new UserError(`vector: ${raw.length} values, the ${q.from} encoder takes ${m.inputDim}-d features`);
    if (raw.some((v) => !Number.isFinite(v))) throw new UserError('vector: values must be finite numbers');
  }
  if (!run) throw new UserError('encoding a raw query needs the run that built the index');
  return run.encoder.embed(q.from, raw, m.inputDim)[0] as Float32Array;
}
