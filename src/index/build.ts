// Builds a search index from a trained run: every item of the data set (or of one split), every modality it
// has, embedded with the run's selected model.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { FeaturizerStateSchema, type FeaturizerState } from '../features/state.js';
import type { EncodingRun } from '../runs/load.js';
import { hnswDefaults, modelHash, SearchIndex, type EngineKind, type HnswSettings, type NewItem } from './search-index.js';

export function buildIndex(run: EncodingRun, options: { split?: string; engine: EngineKind; hnsw?: HnswSettings }): SearchIndex {
  const { dataset: ds, encoder } = run;
  const items = options.split ? ds.split(options.split) : ds.all();
  const labels = ds.labels(items);
  const C = ds.labelNames.length;
  const metadata = ds.metadata();
  const ids = ds.ids();
  const entries: NewItem[] = Array.from(items, (item, k) => ({
    id: ids[item] as string,
    labels: ds.labelNames.filter((_, c) => labels[k * C + c]),
    metadata: metadata[item] as Record<string, unknown>,
    embeddings: {},
  }));
  for (const m of encoder.modalities) {
    const present = ds.present(m, items);
    const positions = Array.from(items.keys()).filter((k) => present[k]);
    const dim = ds.modality(m).dim;
    const embedded = encoder.embed(m, ds.features(m, positions.map((k) => items[k] as number)), dim);
    positions.forEach((k, i) => ((entries[k] as NewItem).embeddings[m] = embedded[i] as Float32Array));
  }
  const vocabulary = (m: string): string[] | null => {
    const f = ds.modality(m).featurizer;
    return f?.type === 'bag-of-words' ? (JSON.parse(readFileSync(join(ds.dir, f.vocabulary), 'utf8')) as string[]) : null;
  };
  // The featuriser's state travels into the index, so that a raw query is featurised exactly as the data was.
  const featurizer = (m: string): FeaturizerState | null => {
    const raw = ds.featurizerState(m);
    if (raw === undefined) return null;
    const parsed = FeaturizerStateSchema.safeParse(raw);
    if (!parsed.success) throw new UserError(`${join(ds.dir, `${m}.featurizer.json`)}: not a featuriser state this version reads (${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message})`);
    return parsed.data;
  };
  return SearchIndex.build({
    format: 'xmodal-index', version: 1, engine: options.engine, hnsw: options.hnsw ?? hnswDefaults, dim: encoder.embeddingDim,
    modalities: encoder.modalities.map((m) => ({ name: m, inputDim: ds.modality(m).dim, builtSlots: 0, vocabulary: vocabulary(m), featurizer: featurizer(m) })),
    labelNames: ds.labelNames,
    run: { dir: resolve(run.dir), method: run.config.method, modelSha256: modelHash(run.dir) },
    dataset: { name: ds.name, path: resolve(ds.dir) },
  }, entries.filter((e) => Object.keys(e.embeddings).length > 0));
}
