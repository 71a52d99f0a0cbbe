// Raw queries: a typed text or an uploaded photo becomes the raw feature vector of one of the index's modalities,
// through the featuriser state the data set was imported with (carried in the index manifest), so a query is
// featurised exactly as the indexed items were.
import { UserError } from '../errors.js';
import { openImageFeaturizer, type ImageFeaturizer } from '../features/image.js';
import { inputKind, type FeaturizerState } from '../features/state.js';
import { openTextFeaturizer, type TextFeaturizer } from '../features/text.js';
import type { IndexInfo } from './collection.js';
import type { IndexManifest } from './search-index.js';

const images = new WeakMap<IndexManifest, Map<string, Promise<ImageFeaturizer>>>();
const texts = new WeakMap<IndexManifest, Map<string, TextFeaturizer>>();

function stateOf(index: IndexInfo, modality: string): FeaturizerState | null {
  const m = index.manifest.modalities.find((x) => x.name === modality);
  if (!m) throw new UserError(`from: no modality '${modality}' in this index (modalities: ${index.modalities.join(', ')})`);
  return m.featurizer ?? null;
}

/** The modality that takes raw input of this kind (the one with an image or text featuriser), if any. */
export function modalityFor(index: IndexInfo, kind: 'image' | 'text'): string | undefined {
  return index.manifest.modalities.find((m) => (m.featurizer ? inputKind(m.featurizer) === kind : kind === 'text' && m.vocabulary))?.name;
}

/** Whether `modality` featurises raw text (a fitted text featuriser; a tag vocabulary is handled by query.ts). */
export function hasTextFeaturizer(index: IndexInfo, modality: string): boolean {
  const s = stateOf(index, modality);
  return s !== null && inputKind(s) === 'text';
}

export function hasImageFeaturizer(index: IndexInfo, modality: string): boolean {
  const s = stateOf(index, modality);
  return s !== null && inputKind(s) === 'image';
}

/** Raw text -> the modality's raw features. */
export function textFeatures(index: IndexInfo, modality: string, text: string): Float32Array {
  const state = stateOf(index, modality);
  if (!state || state.name === 'image') throw new UserError(`text: the ${modality} modality has no text featuriser`);
  let cache = texts.get(index.manifest);
  if (!cache) texts.set(index.manifest, (cache = new Map()));
  let f = cache.get(modality);
  if (!f) cache.set(modality, (f = openTextFeaturizer(state)));
  return f.featurize([text]);
}

/** Opens (once per index and modality) the image featuriser; the CNN takes a second or two to load. */
export function imageFeaturizer(index: IndexInfo, modality: string): Promise<ImageFeaturizer> {
  const state = stateOf(index, modality);
  if (!state || state.name !== 'image') return Promise.reject(new UserError(`image: the ${modality} modality has no image featuriser (this index takes images for: ${modalityFor(index, 'image') ?? 'none'})`));
  let cache = images.get(index.manifest);
  if (!cache) images.set(index.manifest, (cache = new Map()));
  let f = cache.get(modality);
  if (!f) {
    f = openImageFeaturizer(state);
    f.catch(() => cache.delete(modality));
    cache.set(modality, f);
  }
  return f;
}

/** Image file bytes -> the modality's raw features; a file that is not an image is a UserError naming `where`. */
export async function imageFeatures(index: IndexInfo, modality: string, bytes: Uint8Array, where = 'image'): Promise<Float32Array> {
  return (await imageFeaturizer(index, modality)).featurize([bytes], [where]);
}
