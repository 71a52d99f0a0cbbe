// What index and serve need of a trained model: per-modality encoders into the common space (and, for methods
// that aggregate modalities, the aggregation), on plain arrays. Serving never sees training's types.
import { tf } from '../engine/engine.js';
import type { Method } from '../methods/method.js';

export interface Encoder {
  /** The modalities it embeds, in order. */
  readonly modalities: string[];
  readonly embeddingDim: number;
  /** Rows of `dim`-wide features of one modality -> one embedding per row. */
  embed(modality: string, features: Float32Array, dim: number): Float32Array[];
  /** Methods that aggregate an item's modalities (agat): one embedding from one embedding per modality. */
  aggregate?(embeddings: Record<string, Float32Array>): Float32Array;
  dispose(): void;
}

/** Rows embedded 1,024 at a time (evaluation mode). */
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

export function encoderOf(method: Method): Encoder {
  const dim = method.embeddingDim;
  const aggregate = method.aggregate?.bind(method);
  return {
    modalities: method.modalities,
    embeddingDim: dim,
    embed: (modality, features, inputDim) => embedRows(method, modality, features, inputDim),
    ...(aggregate ? {
      aggregate: (embeddings: Record<string, Float32Array>) => Float32Array.from(tf.tidy(() =>
        aggregate(Object.fromEntries(Object.entries(embeddings).map(([m, v]) => [m, tf.tensor2d(v, [1, dim])])), {}).dataSync() as Float32Array)),
    } : {}),
    dispose: () => method.dispose(),
  };
}
