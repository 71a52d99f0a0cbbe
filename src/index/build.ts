// Builds a search index from a trained run: every item of the data set (or of one split), every modality it
// has, embedded with the run's selected model.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { FeaturizerStateSchema, type FeaturizerState } from '../features/state.js';
import { augmentDatabase, type QueryExpansion } from '../eval/rerank.js';
import type { EncodingRun } from '../runs/load.js';
import { hnswDefaults, modelHash, SearchIndex, type EngineKind, type HnswSettings, type NewItem } from './search-index.js';

type BuildOptions = { split?: string; engine: EngineKind; hnsw?: HnswSettings };

export function buildIndex(run: EncodingRun, options: BuildOptions): SearchIndex {
  const { manifest, entries } = indexEntries(run, options);
  return SearchIndex.build(manifest, entries);
}

/**
 * An index whose items are augmented with their nearest same-modality neighbours (eval/rerank.ts
 * augmentDatabase), computed over the items indexed now; items added later are stored as they are.
 */
export async function buildAugmentedIndex(run: EncodingRun, options: BuildOptions, augmentation: QueryExpansion): Promise<SearchIndex> {
  const { manifest, entries } = indexEntries(run, options);
  const dim = run.encoder.embeddingDim;
  for (const m of run.encoder.modalities) {
    const having = entries.filter((e) => e.embeddings[m]);
    const rows = new Float32Array(having.length * dim);
    having.forEach((e, i) => rows.set(e.embeddings[m]!, i * dim));
    const out = await augmentDatabase({ rows: having.length, cols: dim, data: rows }, augmentation);
    having.forEach((e, i) => (e.embeddings[m] = out.data.slice(i * dim, (i + 1) * dim)));
  }
  return SearchIndex.build({ ...manifest, databaseAugmentation: augmentation }, entries);
}

function indexEntries(run: EncodingRun, options: BuildOptions) {
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
  const manifest = {
    format: 'xmodal-index' as const, version: 1 as const, engine: options.engine, hnsw: options.hnsw ?? hnswDefaults, dim: encoder.embeddingDim,
    modalities: encoder.modalities.map((m) => ({ name: m, inputDim: ds.modality(m).dim, builtSlots: 0, vocabulary: vocabulary(m), featurizer: featurizer(m) })),
    labelNames: ds.labelNames,
    run: { dir: resolve(run.dir), method: run.config.method, modelSha256: modelHash(run.dir) },
    dataset: { name: ds.name, path: resolve(ds.dir) },
  };
  return { manifest, entries: entries.filter((e) => Object.keys(e.embeddings).length > 0) };
}
