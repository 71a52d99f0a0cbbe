// A data set on disk, opened lazily: the manifest is read and checked at once, matrices are read per batch
// of rows as typed arrays, never whole as tensors.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { UserError } from '../errors.js';
import { NpyRows } from './formats/npy.js';
import { readJsonFileAs } from '../util/read-file.js';
import { ManifestSchema, MediaEntrySchema, type Manifest, type MediaEntry, type ModalityEntry } from './schema.js';

const verified = new Map<string, string>();

export class Dataset {
  private readonly matrices = new Map<string, NpyRows>();
  private metadataCache: Record<string, unknown>[] | undefined;
  private idCache: string[] | undefined;

  private constructor(readonly dir: string, readonly manifest: Manifest) {}

  static open(dir: string): Dataset {
    const path = join(dir, 'dataset.json');
    if (!existsSync(path)) throw new UserError(`${dir}: not an xmodal data set (no dataset.json)`);
    const dataset = new Dataset(dir, readJsonFileAs(path, ManifestSchema));
    for (const file of dataset.referencedFiles()) {
      if (!existsSync(join(dir, file))) throw new UserError(`${path}: file ${file} is missing`);
    }
    return dataset;
  }

  /**
   * Checks every file against the size and sha256 that dataset.json records, so that a modified or truncated file
   * is refused before training or indexing reads it. Hashes every byte (about 1 GB/s); cached per process.
   */
  verify(): this {
    const key = resolve(this.dir);
    const stamp = this.fileStamp();
    if (verified.get(key) === stamp) return this;
    const [first] = this.fileProblems();
    if (first) throw new UserError(`${join(this.dir, first)}; xmodal validate ${this.dir} lists every problem`);
    verified.set(key, stamp);
    return this;
  }

  /** Every file that is missing, unlisted, or differs from its size or sha256 in dataset.json ("FILE: what"). */
  fileProblems(): string[] {
    const problems: string[] = [];
    const listed = this.manifest.files;
    for (const file of this.referencedFiles()) if (!listed[file]) problems.push(`${file}: not listed in dataset.json "files" (no checksum)`);
    for (const [file, entry] of Object.entries(listed)) {
      let bytes: Buffer;
      try {
        bytes = readFileSync(join(this.dir, file));
      } catch {
        problems.push(`${file}: missing`);
        continue;
      }
      if (bytes.length !== entry.bytes) problems.push(`${file}: ${bytes.length} bytes, dataset.json says ${entry.bytes}`);
      else if (createHash('sha256').update(bytes).digest('hex') !== entry.sha256) problems.push(`${file}: sha256 differs from dataset.json (modified or corrupt)`);
    }
    return problems;
  }

  /** Size and modification time of every listed file: a verified data set is hashed again once any changes. */
  private fileStamp(): string {
    return Object.keys(this.manifest.files).map((file) => {
      try {
        const st = statSync(join(this.dir, file));
        return `${file}:${st.size}:${st.mtimeMs}`;
      } catch {
        return `${file}:missing`;
      }
    }).join('|');
  }

  get size(): number {
    return this.manifest.items;
  }

  get name(): string {
    return this.manifest.name;
  }

  get modalityNames(): string[] {
    return this.manifest.modalities.map((m) => m.name);
  }

  get labelNames(): string[] {
    return this.manifest.labels.names;
  }

  get splitNames(): string[] {
    return Object.keys(this.manifest.splits);
  }

  /** Every file the manifest names, data and index files alike. */
  referencedFiles(): string[] {
    const m = this.manifest;
    const files = [m.labels.file, ...Object.values(m.splits).map((s) => s.file)];
    for (const modality of m.modalities) {
      files.push(modality.file);
      if (modality.present) files.push(modality.present);
      if (modality.featurizer) files.push(modality.featurizer.type === 'state' ? modality.featurizer.file : modality.featurizer.vocabulary);
    }
    if (m.metadata) files.push(m.metadata.file);
    if (m.media) files.push(m.media.file);
    if (m.labelEmbeddings) files.push(m.labelEmbeddings.file);
    return files;
  }

  modality(name: string): ModalityEntry {
    const entry = this.manifest.modalities.find((m) => m.name === name);
    if (!entry) throw new UserError(`${this.dir}: no modality '${name}' (modalities: ${this.modalityNames.join(', ')})`);
    return entry;
  }

  private matrix(file: string): NpyRows {
    let rows = this.matrices.get(file);
    if (!rows) {
      rows = new NpyRows(join(this.dir, file));
      if (rows.rows !== this.size) throw new UserError(`${join(this.dir, file)}: ${rows.rows} rows, the data set has ${this.size} items`);
      this.matrices.set(file, rows);
    }
    return rows;
  }

  split(name: string): Int32Array {
    const entry = this.manifest.splits[name];
    if (!entry) throw new UserError(`${this.dir}: no split '${name}' (splits: ${this.splitNames.join(', ') || 'none'})`);
    const npy = new NpyRows(join(this.dir, entry.file));
    const indices = Int32Array.from(npy.readAll() as ArrayLike<number>);
    for (const i of indices) {
      if (i < 0 || i >= this.size) throw new UserError(`${join(this.dir, entry.file)}: item ${i} out of range [0, ${this.size})`);
    }
    return indices;
  }

  /** Features of `indices` as one row-major float32 array (rows x dim). */
  features(modality: string, indices: ArrayLike<number>): Float32Array {
    const entry = this.modality(modality);
    const data = this.matrix(entry.file).read(indices);
    if (!(data instanceof Float32Array)) throw new UserError(`${join(this.dir, entry.file)}: features must be float32`);
    return data;
  }

  /** Presence flags (1 = the item has this modality). */
  present(modality: string, indices: ArrayLike<number>): Uint8Array {
    const entry = this.modality(modality);
    if (!entry.present) return new Uint8Array(indices.length).fill(1);
    return Uint8Array.from(this.matrix(entry.present).read(indices) as ArrayLike<number>);
  }

  /** Multi-hot labels of `indices` (rows x C). */
  labels(indices: ArrayLike<number>): Uint8Array {
    return Uint8Array.from(this.matrix(this.manifest.labels.file).read(indices) as ArrayLike<number>);
  }

  /** C x dim label-name vectors, when the data set has them. */
  labelEmbeddings(): { data: Float32Array; dim: number; source: string } | undefined {
    const entry = this.manifest.labelEmbeddings;
    if (!entry) return undefined;
    const npy = new NpyRows(join(this.dir, entry.file));
    const data = npy.readAll();
    if (!(data instanceof Float32Array) || npy.rows !== this.labelNames.length || npy.cols !== entry.dim) {
      throw new UserError(`${join(this.dir, entry.file)}: expected ${this.labelNames.length} x ${entry.dim} float32`);
    }
    return { data, dim: entry.dim, source: entry.source };
  }

  all(): Int32Array {
    return Int32Array.from({ length: this.size }, (_, i) => i);
  }

  metadata(): Record<string, unknown>[] {
    if (this.metadataCache) return this.metadataCache;
    if (!this.manifest.metadata) return (this.metadataCache = Array.from({ length: this.size }, () => ({})));
    const path = join(this.dir, this.manifest.metadata.file);
    const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0);
    if (lines.length !== this.size) throw new UserError(`${path}: ${lines.length} lines, the data set has ${this.size} items`);
    this.metadataCache = lines.map((line, i) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new UserError(`${path}: line ${i + 1} is not valid JSON`);
      }
    });
    return this.metadataCache;
  }

  /** Each item's raw media (text, image source and thumbnail), when the data set was imported from media. */
  media(): MediaEntry[] | undefined {
    if (!this.manifest.media) return undefined;
    const path = join(this.dir, this.manifest.media.file);
    let text: string;
    try {
      const bytes = readFileSync(path);
      text = (path.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
    } catch (error) {
      throw new UserError(`${path}: cannot read (${(error as Error).message})`);
    }
    const lines = text.split('\n').filter((l) => l.length > 0);
    if (lines.length !== this.size) throw new UserError(`${path}: ${lines.length} lines, the data set has ${this.size} items`);
    return lines.map((line, i) => {
      const r = MediaEntrySchema.safeParse(JSON.parse(line));
      if (!r.success) throw new UserError(`${path}: line ${i + 1}: ${r.error.issues[0]?.path.join('.')}: ${r.error.issues[0]?.message}`);
      return r.data;
    });
  }

  /** Where a thumbnail named by its sha256 lives; the name is checked, so no other path can come out. */
  thumbnailPath(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256) || !this.manifest.media) throw new UserError(`no thumbnail '${sha256.slice(0, 64)}'`);
    return join(this.dir, this.manifest.media.thumbnails, `${sha256}.jpg`);
  }

  /** A modality's featuriser state (raw JSON, checked by src/features), when it has one. */
  featurizerState(modality: string): unknown {
    const f = this.modality(modality).featurizer;
    if (f?.type !== 'state') return undefined;
    return JSON.parse(readFileSync(join(this.dir, f.file), 'utf8'));
  }

  /** Item ids: the metadata's "id" where given, else the item's index. */
  ids(): string[] {
    this.idCache ??= this.metadata().map((m, i) => (typeof m.id === 'string' || typeof m.id === 'number' ? String(m.id) : String(i)));
    return this.idCache;
  }
}
