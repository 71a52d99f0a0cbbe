// Raw photos and texts in: one item per JSONL line or CSV row, with an image path (relative to the file), one or
// several text fields, labels, and optionally a split and an id. Images are featurised by a CNN (src/features/
// image.ts) and texts by a featuriser fitted on the training split only (src/features/text.ts); both states go
// into the data set, with each item's text, its image's sha256 and a thumbnail, so the service can show it.
// Image features are cached per file sha256 (and featuriser state), so an interrupted import resumes.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { UserError } from '../../errors.js';
import { createImageFeaturizer, decodeImage, thumbnail, type DecodedImage, type ImageFeaturizerOptions } from '../../features/image.js';
import { fitTextFeaturizer } from '../../features/text.js';
import type { TextFeaturizerName, TfidfOptions } from '../../features/state.js';
import { writeFileAtomically } from '../../util/atomic-dir.js';
import { checkSafeName } from '../../util/names.js';
import { readBytes } from '../../util/read-file.js';
import type { MediaEntry } from '../schema.js';
import { carveValidation } from '../splits.js';
import type { DatasetSpec, ModalitySpec } from '../writer.js';
import { defaultSplits, readJsonObjects } from './jsonl.js';

export interface MediaImportOptions {
  imageField: string | undefined;
  textFields: string[];
  labelField: string;
  splitField: string | undefined;
  idField: string | undefined;
  /** Metadata fields copied as they are (scalars), besides id and title. */
  metaFields: string[];
  image: ImageFeaturizerOptions | null;
  text: { name: TextFeaturizerName; tfidf: TfidfOptions } | null;
  /** Leave out items whose image is missing or unreadable (counted), instead of refusing the import. */
  skipBad: boolean;
  /** Where image features are cached between runs (keyed by file sha256 and featuriser). */
  cacheDir: string;
  /** Carve this share of train into val before fitting, so the text featuriser never sees validation texts. */
  valFraction: number | undefined;
  testFraction: number;
  seed: number;
  name: string;
  warn: (message: string) => void;
  progress: (done: number, total: number, imagesPerSecond: number) => void;
}

type Row = { where: string; fields: Map<string, unknown> };

/** JSONL or CSV rows as field maps (own keys only: "__proto__" is just a field name). */
function readRows(path: string): Row[] {
  const ext = extname(path).toLowerCase();
  if (ext === '.csv' || ext === '.tsv') {
    let records: Record<string, string>[];
    try {
      records = parseCsv(readBytes(path), { columns: true, bom: true, delimiter: ext === '.tsv' ? '\t' : ',', skip_empty_lines: true, relax_column_count: false }) as Record<string, string>[];
    } catch (error) {
      throw new UserError(`${path}: not valid ${ext.slice(1).toUpperCase()} (${(error as Error).message})`);
    }
    return records.map((r, i) => ({ where: `${path}: row ${i + 2}`, fields: new Map(Object.entries(r)) }));
  }
  return readJsonObjects(path).map(({ no, item }) => ({ where: `${path}: line ${no}`, fields: item }));
}

/** Labels of a row: one name, a list of names, or (CSV) names separated by '|'. */
function labelsOf(row: Row, field: string): string[] {
  const v = row.fields.get(field);
  if (typeof v === 'string' && v.trim()) return v.split('|').map((s) => s.trim()).filter(Boolean);
  if (typeof v === 'number') return [String(v)];
  if (Array.isArray(v) && v.length && v.every((x) => typeof x === 'string' || typeof x === 'number')) return v.map(String);
  throw new UserError(`${row.where}: field '${field}' must hold a label name or a list of names`);
}

function textOf(row: Row, fields: string[]): string | null {
  const parts = fields.map((f) => row.fields.get(f)).filter((v) => v !== undefined && v !== null && v !== '');
  for (const p of parts) if (typeof p !== 'string' && typeof p !== 'number') throw new UserError(`${row.where}: text fields must hold strings`);
  const text = parts.map(String).join('\n').trim();
  return text.length ? text : null;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

interface ImageInfo { source: string; sha256: string; thumbnail: string; width: number; height: number; features: Float32Array | undefined }

/** Cached features of one file, if the cache holds a complete row of them. */
function readCached(file: string, dim: number): Float32Array | undefined {
  if (!existsSync(file)) return undefined;
  const bytes = readFileSync(file);
  if (bytes.length !== dim * 4) return undefined;
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
}

export async function importMedia(path: string, o: MediaImportOptions): Promise<DatasetSpec> {
  if (!o.image && !o.text) throw new UserError('give at least one of --image-field and --text-field');
  if (o.image && !o.imageField) throw new UserError('--image-features needs --image-field');
  const base = dirname(resolve(path));
  const rows = readRows(path);
  if (!rows.length) throw new UserError(`${path}: no items`);
  for (const f of [o.labelField, ...(o.imageField ? [o.imageField] : []), ...o.textFields]) {
    if (!rows.some((r) => r.fields.has(f))) throw new UserError(`${path}: no item has the field '${f}' (fields: ${[...rows[0]!.fields.keys()].join(', ')})`);
  }

  // 1. Images, a batch at a time (memory stays bounded): read, hash, decode (which checks that the file is an
  // image), thumbnail, and featurise unless the cache has this file's features. A missing or unreadable file is
  // refused, or with --skip-bad the item is left out and counted.
  const featurizer = o.image ? await createImageFeaturizer(o.image) : null;
  const cache = featurizer ? join(o.cacheDir, `image-${sha256(new TextEncoder().encode(JSON.stringify({ ...featurizer.state, decoder: null }))).slice(0, 16)}`) : '';
  const finalRows: Row[] = [];
  const finalImages: (ImageInfo | null)[] = [];
  const thumbs = new Map<string, Uint8Array>();
  let skipped = 0;
  let reused = 0;
  let computed = 0;
  const started = Date.now();
  const withImage = featurizer ? rows.filter((r) => { const v = r.fields.get(o.imageField!); return v !== undefined && v !== null && v !== ''; }).length : 0;
  let seen = 0;
  const BATCH = 16;
  for (let start = 0; start < rows.length; start += BATCH) {
    const pending: { info: ImageInfo; image: DecodedImage }[] = [];
    for (const row of rows.slice(start, start + BATCH)) {
      const v = o.imageField ? row.fields.get(o.imageField) : undefined;
      if (!featurizer || v === undefined || v === null || v === '') {
        finalRows.push(row);
        finalImages.push(null);
        continue;
      }
      seen++;
      if (typeof v !== 'string') throw new UserError(`${row.where}: field '${o.imageField}' must be a path`);
      const where = `${row.where}: image ${v}`;
      let info: ImageInfo;
      let image: DecodedImage | undefined;
      try {
        const bytes = readBytes(isAbsolute(v) ? v : join(base, v));
        const sha = sha256(bytes);
        const decodedImage = await decodeImage(bytes, featurizer.state.size, where);
        const thumb = await thumbnail(bytes, where);
        const tsha = sha256(thumb);
        thumbs.set(tsha, thumb);
        info = { source: v, sha256: sha, thumbnail: tsha, width: decodedImage.width, height: decodedImage.height, features: readCached(join(cache, `${sha}.f32`), featurizer.dim) };
        if (!info.features) image = decodedImage;
      } catch (error) {
        if (!o.skipBad || !(error instanceof UserError)) throw error instanceof UserError ? new UserError(`${error.message.startsWith(row.where) ? '' : `${where}: `}${error.message} (--skip-bad leaves such items out)`) : error;
        skipped++;
        continue;
      }
      if (image) pending.push({ info, image });
      else reused++;
      finalRows.push(row);
      finalImages.push(info);
    }
    if (featurizer && pending.length) {
      const out = featurizer.featurizeDecoded(pending.map((p) => p.image));
      pending.forEach((p, k) => {
        p.info.features = out.slice(k * featurizer.dim, (k + 1) * featurizer.dim);
        writeFileAtomically(join(cache, `${p.info.sha256}.f32`), new Uint8Array(p.info.features.buffer));
      });
      computed += pending.length;
      o.progress(seen, withImage, computed / Math.max(1e-3, (Date.now() - started) / 1000));
    }
  }
  if (reused) o.warn(`${path}: ${reused} image features reused from ${cache}`);
  if (skipped) o.warn(`${path}: left out ${skipped} item${skipped === 1 ? '' : 's'} whose image is missing or unreadable (--skip-bad)`);
  const N = finalRows.length;
  if (!N) throw new UserError(`${path}: no items left`);

  // 3. Labels, ids, splits.
  const itemLabels = finalRows.map((r) => labelsOf(r, o.labelField));
  const names = [...new Set(itemLabels.flat())].sort();
  const C = names.length;
  const labels = new Uint8Array(N * C);
  itemLabels.forEach((ls, i) => ls.forEach((l) => (labels[i * C + names.indexOf(l)] = 1)));
  const ids = finalRows.map((r, i) => {
    const v = o.idField ? r.fields.get(o.idField) : undefined;
    if (o.idField && (v === undefined || v === null || v === '')) throw new UserError(`${r.where}: no '${o.idField}' (--id-field)`);
    return v === undefined ? String(i) : String(v);
  });
  let splits: Record<string, Int32Array>;
  if (o.splitField) {
    const lists = new Map<string, number[]>();
    finalRows.forEach((r, i) => {
      const s = r.fields.get(o.splitField!);
      if (typeof s !== 'string') throw new UserError(`${r.where}: field '${o.splitField}' must name a split (train, test, ...)`);
      checkSafeName(s, 'split', r.where);
      if (!lists.has(s)) lists.set(s, []);
      lists.get(s)!.push(i);
    });
    splits = Object.fromEntries([...lists].map(([k, v]) => [k, Int32Array.from(v)]));
  } else splits = defaultSplits(path, N, labels, C, { testFraction: o.testFraction, seed: o.seed, warn: o.warn });
  if (o.valFraction !== undefined) {
    if (!splits.train) throw new UserError('--val-fraction: the data set has no train split to carve validation from');
    if (splits.val) throw new UserError('--val-fraction: the data set already has a val split');
    const carved = carveValidation(splits.train, labels, C, o.valFraction, o.seed);
    splits = { ...splits, train: carved.train, val: carved.val };
  }
  const train = splits.train;
  if (!train?.length) throw new UserError(`${path}: no training items: featurisers are fitted on the train split (name it "train")`);

  // 4. Features.
  const modalities: ModalitySpec[] = [];
  if (featurizer) {
    const dim = featurizer.dim;
    const data = new Float32Array(N * dim);
    const present = new Uint8Array(N);
    finalImages.forEach((info, i) => {
      if (!info) return;
      data.set(info.features!, i * dim);
      present[i] = 1;
    });
    modalities.push({ name: 'image', dim, data, present, source: `${path}: field '${o.imageField}'`, featurizer: featurizer.state });
  }
  const texts = finalRows.map((r) => textOf(r, o.textFields));
  if (o.text) {
    const trainTexts = Array.from(train).map((i) => texts[i]).filter((t): t is string => t !== null);
    if (!trainTexts.length) throw new UserError(`${path}: no training item has text in ${o.textFields.join(', ')}`);
    const f = fitTextFeaturizer(o.text.name, trainTexts, o.text.tfidf);
    const all = f.featurize(texts.map((t) => t ?? ''));
    const present = Uint8Array.from(texts, (t) => (t === null ? 0 : 1));
    modalities.push({ name: 'text', dim: f.dim, data: all, present, source: `${path}: fields ${o.textFields.join(', ')}`, featurizer: f.state });
  }

  // 5. Metadata (short: it travels with every search hit) and media (full text, image source and thumbnail).
  const metadata = finalRows.map((r, i) => {
    const title = o.textFields.length ? r.fields.get(o.textFields[0]!) : undefined;
    const meta: Record<string, unknown> = { id: ids[i] };
    if (typeof title === 'string' && title.trim()) meta.title = title.trim().slice(0, 200);
    for (const f of o.metaFields) {
      const v = r.fields.get(f);
      if (v === undefined) continue;
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean' && v !== null) throw new UserError(`${r.where}: --meta-field '${f}' must be a string, number or boolean`);
      meta[f] = v;
    }
    return Object.fromEntries(Object.entries(meta));
  });
  const entries: MediaEntry[] = finalRows.map((_, i) => {
    const info = finalImages[i];
    return {
      text: texts[i] ?? null,
      image: info ? { source: info.source, sha256: info.sha256, thumbnail: info.thumbnail, width: info.width, height: info.height } : null,
    };
  });
  return {
    name: o.name,
    modalities,
    labels: { names, data: labels, source: `${path}: field '${o.labelField}'` },
    splits,
    metadata,
    media: { entries, thumbnails: thumbs },
    provenance: { source: path, importer: 'media', notes: modalities.map((m) => `${m.name}: ${JSON.stringify((m.featurizer as { name: string }).name)}`).join('; ') },
  };
}
