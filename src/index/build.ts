// Builds a search index from a trained run: every item of the data set (or of one split), every modality it
// has, embedded with the run's selected model.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tf } from '../engine/engine.js';
import type { Method } from '../methods/method.js';
import type { LoadedRun } from '../train/load-run.js';
import { hnswDefaults, modelHash, SearchIndex, type EngineKind, type HnswSettings, type NewItem } from './search-index.js';

export function embedRows(method: Method, modality: string, features: Float32Array, dim: number): Float32Array[] {
  const n = features.length / dim;
  const out: Float32Array[] = [];
  for (let start = 0; start < n; start += 1024) {
    const count = Math.min(1024, n - start);
    const e = tf.tidy(() => method.embed(modality, tf.tensor2d(features.subarray(start * dim, (start + count) * dim), [count, dim])));
    const data = e.dataSync() as Float32Array;
    e.dispose();
    for (let i = 0; i < count; i++) out.push(data.slice(i * method.embeddingDim, (i + 1) * method.embeddingDim));
  }
  return out;
}

export function buildIndex(run: LoadedRun, options: { split?: string; engine: EngineKind; hnsw?: HnswSettings }): SearchIndex {
  const { dataset: ds, method } = run;
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
  for (const m of method.modalities) {
    const present = ds.present(m, items);
    const positions = Array.from(items.keys()).filter((k) => present[k]);
    const dim = ds.modality(m).dim;
    const embedded = embedRows(method, m, ds.features(m, positions.map((k) => items[k] as number)), dim);
    positions.forEach((k, i) => ((entries[k] as NewItem).embeddings[m] = embedded[i] as Float32Array));
  }
  const vocabulary = (m: string): string[] | null => {
    const f = ds.modality(m).featurizer;
    return f ? (JSON.parse(readFileSync(join(ds.dir, f.vocabulary), 'utf8')) as string[]) : null;
  };
  return SearchIndex.build({
    format: 'xmodal-index', version: 1, engine: options.engine, hnsw: options.hnsw ?? hnswDefaults, dim: method.embeddingDim,
    modalities: method.modalities.map((m) => ({ name: m, inputDim: ds.modality(m).dim, builtSlots: 0, vocabulary: vocabulary(m) })),
    labelNames: ds.labelNames,
    run: { dir: resolve(run.dir), method: run.config.method, modelSha256: modelHash(run.dir) },
    dataset: { name: ds.name, path: resolve(ds.dir) },
  }, entries.filter((e) => Object.keys(e.embeddings).length > 0));
}
