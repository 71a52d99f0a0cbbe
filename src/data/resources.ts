// Real resources shipped under datasets/resources (see datasets/README.md).
import { existsSync, readFileSync } from 'node:fs';
import { UserError } from '../errors.js';
import { RESOURCES_DIR } from '../paths.js';
import { MIRFLICKR_LABELS } from './importers/label-names.js';
import { readMatrix, toMultiHot } from './formats/matrix.js';

export const MIRFLICKR_LABELS_FILE = `${RESOURCES_DIR}/mirflickr25k/all_labels.txt`;

/** MIRFlickr-25K's 20,015 x 24 multi-hot label matrix (real label frequencies and co-occurrence). */
export async function mirflickrLabels(): Promise<{ names: string[]; data: Uint8Array; source: string }> {
  const m = await readMatrix(MIRFLICKR_LABELS_FILE);
  return { names: MIRFLICKR_LABELS, data: toMultiHot(m).data, source: 'MIRFlickr-25K all_labels.txt' };
}

/** A label matrix from a file (any matrix format), with names from a file or generic ones. */
export async function labelMatrixFrom(ref: string, names?: string[]): Promise<{ names: string[]; data: Uint8Array; source: string }> {
  const m = await readMatrix(ref);
  const hot = toMultiHot(m);
  if (names && names.length !== hot.classes) throw new UserError(`${m.source}: ${hot.classes} labels, but ${names.length} names given`);
  return { names: names ?? Array.from({ length: hot.classes }, (_, i) => `label${i}`), data: hot.data, source: m.source };
}

/** The 300-d GloVe label vectors shipped for COCO, VOC and MIRFlickr label sets. */
export function labelGlove(set: 'coco' | 'voc' | 'mirflickr25k'): { labels: string[]; dim: number; vectors: number[][] } {
  const path = `${RESOURCES_DIR}/label-glove/${set}_glove_word2vec.json`;
  if (!existsSync(path)) throw new UserError(`${path}: missing`);
  return JSON.parse(readFileSync(path, 'utf8')) as { labels: string[]; dim: number; vectors: number[][] };
}
