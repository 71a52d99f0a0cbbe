// dataset.json: the manifest of an xmodal data set directory. Version 1.
import { z } from 'zod';
import { modalityName, safeName } from '../util/names.js';

export const DATASET_FORMAT = 'xmodal-dataset';
export const DATASET_VERSION = 1;

const fileName = z.string().regex(/^[A-Za-z0-9._-]+$/, 'a plain file name inside the data set directory');

export const ModalitySchema = z.object({
  name: modalityName,
  dim: z.number().int().positive(),
  /** N x dim float32 features; rows of absent items are zero. */
  file: fileName,
  /** N uint8 presence flags (1 = present); null when every item has this modality. */
  present: fileName.nullable(),
  /** How raw input of this modality becomes a feature vector, where xmodal knows it (e.g. a tag vocabulary). */
  featurizer: z.discriminatedUnion('type', [
    z.object({ type: z.literal('bag-of-words'), vocabulary: fileName }),
    /** A featuriser's full state (src/features/state.ts), so that a raw query is featurised as the data was. */
    z.object({ type: z.literal('state'), file: fileName }),
  ]).nullable().default(null),
});

/** One item's raw media (a line of media.jsonl.gz): its text and its image's source, hash and thumbnail. */
export const MediaEntrySchema = z.object({
  text: z.string().nullable(),
  image: z.object({
    /** The path as the import file gave it (for the record; never read again). */
    source: z.string(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    /** sha256 of the JPEG thumbnail, which is stored as thumbnails/<sha256>.jpg. */
    thumbnail: z.string().regex(/^[0-9a-f]{64}$/),
    width: z.number().int().nonnegative(),
    height: z.number().int().nonnegative(),
  }).nullable(),
});
export type MediaEntry = z.infer<typeof MediaEntrySchema>;

export const SplitSchema = z.object({ file: fileName, count: z.number().int().nonnegative() });

export const ManifestSchema = z.object({
  format: z.literal(DATASET_FORMAT),
  version: z.literal(DATASET_VERSION),
  name: z.string().min(1),
  description: z.string().default(''),
  items: z.number().int().nonnegative(),
  modalities: z.array(ModalitySchema).min(1).refine((m) => new Set(m.map((x) => x.name)).size === m.length, 'modality names must be unique'),
  /** N x C uint8 multi-hot labels; single-label data has one 1 per row. */
  labels: z.object({ names: z.array(z.string().min(1)).min(1).refine((n) => new Set(n).size === n.length, 'label names must be unique'), file: fileName }),
  /** Named index lists (int32 .npy): train, val, test, or query / retrieval. */
  splits: z.record(safeName, SplitSchema),
  /** C x d float32 label-name vectors (for label graph networks), with where they came from. */
  labelEmbeddings: z.object({ file: fileName, dim: z.number().int().positive(), source: z.string() }).nullable().default(null),
  /** One JSON object per item and line, with an optional "id". */
  metadata: z.object({ file: fileName }).nullable(),
  /** Raw media of imported photos and texts: media.jsonl.gz (one MediaEntry a line, gzipped) and content-addressed thumbnails. */
  media: z.object({ file: fileName, thumbnails: fileName }).nullable().default(null),
  files: z.record(fileName, z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.number().int().nonnegative() })),
  provenance: z.object({
    source: z.string(),
    importer: z.string(),
    created: z.string(),
    xmodalVersion: z.string(),
    notes: z.string().default(''),
  }),
  /** Present only for generated data: how it was made. */
  synthetic: z.record(z.string(), z.unknown()).nullable().default(null),
});

export type Manifest = z.infer<typeof ManifestSchema>;
export type ModalityEntry = z.infer<typeof ModalitySchema>;
