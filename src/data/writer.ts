// Writes a data set directory, atomically (src/util/atomic-dir.ts): a failed import leaves nothing behind.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { UserError } from '../errors.js';
import { VERSION } from '../version.js';
import { writeDirectoryAtomicallySync } from '../util/atomic-dir.js';
import { checkModalityName, checkSafeName } from '../util/names.js';
import { duplicateIdProblem, duplicateLabelProblem, MAX_LABELS, splitProblem } from './checks.js';

export { MAX_LABELS };
import { encodeNpy } from './formats/npy.js';
import { DATASET_FORMAT, DATASET_VERSION, ManifestSchema, type Manifest, type MediaEntry } from './schema.js';

export interface ModalitySpec {
  name: string;
  dim: number;
  /** N x dim, row-major. */
  data: Float32Array;
  /** 1 = present; omitted when every item has the modality. */
  present?: Uint8Array;
  /** Where the values came from, for error messages (a file and variable, say). */
  source?: string;
  /** Tag vocabulary of a bag-of-words text modality, in column order. */
  vocabulary?: string[];
  /** A featuriser's full state (src/features/state.ts), saved as <name>.featurizer.json. */
  featurizer?: unknown;
}

export interface DatasetSpec {
  name: string;
  description?: string;
  modalities: ModalitySpec[];
  labels: { names: string[]; data: Uint8Array; source?: string };
  splits: Record<string, Int32Array>;
  metadata?: Record<string, unknown>[];
  /** C x dim label-name vectors. */
  labelEmbeddings?: { data: Float32Array; dim: number; source: string };
  provenance: { source: string; importer: string; notes?: string };
  synthetic?: Record<string, unknown>;
  /** Raw media per item and the thumbnails they name (sha256 -> JPEG bytes). */
  media?: { entries: MediaEntry[]; thumbnails: Map<string, Uint8Array> };
}

export interface WriteOptions {
  /** Replace an existing directory at the destination. */
  force?: boolean;
  /** Keep NaN and Inf values instead of refusing them. */
  allowNonfinite?: boolean;
  /** Refuse more labels than this (default MAX_LABELS): a stray class index of 1,000,000 is a mistake, not 1,000,001 labels. */
  maxLabels?: number;
  /** Accept train, val and test sharing items (over-fitting sanity checks); `xmodal validate` still reports it. */
  allowOverlappingSplits?: boolean;
}

/** Checks a spec before anything is written; throws a UserError naming the source and the problem. */
export function checkSpec(spec: DatasetSpec, options: WriteOptions = {}): number {
  const C = spec.labels.names.length;
  const labelSource = spec.labels.source ?? 'labels';
  if (C === 0) throw new UserError(`${labelSource}: no label names`);
  const maxLabels = options.maxLabels ?? MAX_LABELS;
  if (C > maxLabels) throw new UserError(`${labelSource}: ${C} labels, over the limit of ${maxLabels} (a stray class index? raise it with --max-labels ${C} if they are real)`);
  const labelIssue = duplicateLabelProblem(spec.labels.names);
  if (labelIssue) throw new UserError(`${labelSource}: ${labelIssue}`);
  if (spec.labels.data.length % C !== 0) throw new UserError(`${labelSource}: ${spec.labels.data.length} values is not a multiple of ${C} labels`);
  const N = spec.labels.data.length / C;
  if (N === 0) throw new UserError(`${labelSource}: no items (a data set needs at least one row)`);
  for (let i = 0; i < spec.labels.data.length; i++) {
    const v = spec.labels.data[i] as number;
    if (v !== 0 && v !== 1) throw new UserError(`${labelSource}: row ${Math.floor(i / C) + 1}, column ${(i % C) + 1}: label value ${v} is not 0 or 1`);
  }
  // Names become file names (`${name}.npy`, `split-${name}.npy`): every one is checked before anything is written.
  for (const m of spec.modalities) checkModalityName(m.name, m.source);
  for (const split of Object.keys(spec.splits)) checkSafeName(split, 'split');
  const names = new Set<string>();
  for (const m of spec.modalities) {
    const where = m.source ?? `modality '${m.name}'`;
    if (names.has(m.name)) throw new UserError(`${where}: modality '${m.name}' given twice`);
    names.add(m.name);
    if (!Number.isInteger(m.dim) || m.dim <= 0) throw new UserError(`${where}: dimension must be a positive integer`);
    if (m.data.length !== N * m.dim) {
      throw new UserError(`${where}: ${m.data.length / m.dim} rows, but the labels have ${N} (row counts must agree)`);
    }
    if (m.present && m.present.length !== N) throw new UserError(`${where}: presence mask has ${m.present.length} entries, expected ${N}`);
    if (!options.allowNonfinite) {
      for (let i = 0; i < m.data.length; i++) {
        if (!Number.isFinite(m.data[i])) {
          throw new UserError(`${where}: non-finite value ${m.data[i]} at row ${Math.floor(i / m.dim) + 1}, column ${(i % m.dim) + 1} (use --allow-nonfinite to keep it)`);
        }
      }
    }
    if (m.vocabulary && m.vocabulary.length !== m.dim) throw new UserError(`${where}: vocabulary has ${m.vocabulary.length} words for ${m.dim} columns`);
  }
  const splitIssue = splitProblem(spec.splits, N, options.allowOverlappingSplits ?? false);
  if (splitIssue) throw new UserError(splitIssue);
  if (spec.media) {
    if (spec.media.entries.length !== N) throw new UserError(`media: ${spec.media.entries.length} entries, expected ${N}`);
    for (const [i, e] of spec.media.entries.entries()) {
      if (e.image && !spec.media.thumbnails.has(e.image.thumbnail)) throw new UserError(`media: item ${i + 1}: thumbnail ${e.image.thumbnail.slice(0, 12)} missing`);
    }
  }
  if (spec.metadata && spec.metadata.length !== N) throw new UserError(`metadata: ${spec.metadata.length} entries, expected ${N}`);
  const idIssue = spec.metadata && duplicateIdProblem(spec.metadata);
  if (idIssue) throw new UserError(idIssue);
  const e = spec.labelEmbeddings;
  if (e && e.data.length !== C * e.dim) throw new UserError(`${e.source}: ${e.data.length / e.dim} label vectors for ${C} labels`);
  return N;
}

export function writeDataset(out: string, spec: DatasetSpec, options: WriteOptions = {}): Manifest {
  const N = checkSpec(spec, options);
  return writeDirectoryAtomicallySync(out, options.force ?? false, (tmp) => {
    const files: Manifest['files'] = {};
    const put = (name: string, bytes: Buffer | string) => {
      writeFileSync(join(tmp, name), bytes);
      const buffer = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
      files[name] = { sha256: createHash('sha256').update(buffer).digest('hex'), bytes: buffer.length };
    };
    const modalities = spec.modalities.map((m) => {
      const data = m.present ? zeroAbsentRows(m.data, m.dim, m.present) : m.data;
      put(`${m.name}.npy`, encodeNpy(data, [N, m.dim]));
      const allPresent = !m.present || m.present.every((p) => p === 1);
      if (!allPresent) put(`${m.name}.present.npy`, encodeNpy(Uint8Array.from(m.present as Uint8Array, (p) => (p ? 1 : 0)), [N]));
      if (m.vocabulary) put(`${m.name}.vocabulary.json`, JSON.stringify(m.vocabulary) + '\n');
      if (m.featurizer) put(`${m.name}.featurizer.json`, JSON.stringify(m.featurizer) + '\n');
      return {
        name: m.name,
        dim: m.dim,
        file: `${m.name}.npy`,
        present: allPresent ? null : `${m.name}.present.npy`,
        featurizer: m.featurizer ? { type: 'state' as const, file: `${m.name}.featurizer.json` }
          : m.vocabulary ? { type: 'bag-of-words' as const, vocabulary: `${m.name}.vocabulary.json` } : null,
      };
    });
    put('labels.npy', encodeNpy(spec.labels.data, [N, spec.labels.names.length]));
    const splits: Manifest['splits'] = {};
    for (const [name, indices] of Object.entries(spec.splits)) {
      put(`split-${name}.npy`, encodeNpy(Int32Array.from(indices), [indices.length]));
      splits[name] = { file: `split-${name}.npy`, count: indices.length };
    }
    if (spec.labelEmbeddings) put('label-embeddings.npy', encodeNpy(spec.labelEmbeddings.data, [spec.labels.names.length, spec.labelEmbeddings.dim]));
    if (spec.media) {
      // Gzipped (deterministic: no timestamp): article texts make it large (Wikipedia's is 9.9 MB plain, 3.9 gzipped).
      put('media.jsonl.gz', gzipSync(spec.media.entries.map((e) => JSON.stringify(e)).join('\n') + '\n', { level: 9 }));
      // Content-addressed (named by their own sha256), so they need no entry in "files" to be checked.
      if (spec.media.thumbnails.size) mkdirSync(join(tmp, 'thumbnails'));
      for (const [sha, bytes] of spec.media.thumbnails) writeFileSync(join(tmp, 'thumbnails', `${sha}.jpg`), bytes);
    }
    if (spec.metadata) put('metadata.jsonl', spec.metadata.map((m) => JSON.stringify(m)).join('\n') + '\n');
    const manifest = ManifestSchema.parse({
      format: DATASET_FORMAT,
      version: DATASET_VERSION,
      name: spec.name,
      description: spec.description ?? '',
      items: N,
      modalities,
      labels: { names: spec.labels.names, file: 'labels.npy' },
      splits,
      labelEmbeddings: spec.labelEmbeddings ? { file: 'label-embeddings.npy', dim: spec.labelEmbeddings.dim, source: spec.labelEmbeddings.source } : null,
      metadata: spec.metadata ? { file: 'metadata.jsonl' } : null,
      media: spec.media ? { file: 'media.jsonl.gz', thumbnails: 'thumbnails' } : null,
      files,
      provenance: { ...spec.provenance, notes: spec.provenance.notes ?? '', created: new Date().toISOString(), xmodalVersion: VERSION },
      synthetic: spec.synthetic ?? null,
    });
    writeFileSync(join(tmp, 'dataset.json'), JSON.stringify(manifest, null, 2) + '\n');
    return manifest;
  });
}

function zeroAbsentRows(data: Float32Array, dim: number, present: Uint8Array): Float32Array {
  const out = data.slice();
  present.forEach((p, i) => {
    if (!p) out.fill(0, i * dim, (i + 1) * dim);
  });
  return out;
}
