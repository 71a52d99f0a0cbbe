// Any matrices the user has: one file (or MAT variable) per modality and one for labels, rows = items.
import { existsSync, readFileSync } from 'node:fs';
import { UserError } from '../../errors.js';
import { permutation, createRng } from '../../engine/random.js';
import { readMatrix, toMultiHot, type Matrix } from '../formats/matrix.js';
import type { DatasetSpec } from '../writer.js';
import { knownLabelNames } from './label-names.js';

export interface ArraysOptions {
  /** "name=path[:variable]" per modality. */
  modalities: string[];
  /** "path[:variable]": multi-hot N x C, or one column of class indices. */
  labels: string;
  /** A file with one name per line, or a comma-separated list. */
  labelNames?: string;
  /** "name=START:END" (half-open item range) or "name=path" (index list); none: a seeded train/test split. */
  splits?: string[];
  testFraction?: number;
  seed?: number;
  name?: string;
  /** Refuse more labels than this (class indices beyond it are taken as a mistake). */
  maxLabels?: number;
  /** Told what the importer decided on the user's behalf (a header line skipped, say). */
  warn?: (message: string) => void;
}

export function parseLabelNames(arg: string): string[] {
  const names = existsSync(arg) ? readFileSync(arg, 'utf8').split(/\r?\n/).map((s) => s.trim()).filter(Boolean) : arg.split(',').map((s) => s.trim());
  if (names.some((n) => !n)) throw new UserError(`--label-names: empty label name in '${arg}'`);
  return names;
}

function parseAssignment(arg: string, what: string): [string, string] {
  const eq = arg.indexOf('=');
  if (eq <= 0) throw new UserError(`${what} '${arg}': expected NAME=VALUE`);
  return [arg.slice(0, eq), arg.slice(eq + 1)];
}

export async function importArrays(options: ArraysOptions): Promise<DatasetSpec> {
  if (!options.modalities.length) throw new UserError('give at least one --modality NAME=FILE');
  const noteHeader = (m: Matrix) => {
    if (m.header !== undefined) options.warn?.(`${m.source}: first line taken as a header and skipped: ${m.header.slice(0, 80)}`);
  };
  const labelMatrix = await readMatrix(options.labels);
  noteHeader(labelMatrix);
  const names = options.labelNames ? parseLabelNames(options.labelNames) : undefined;
  const hot = toMultiHot(labelMatrix, labelMatrix.cols === 1 ? names?.length : undefined, undefined, options.maxLabels);
  if (names && names.length !== hot.classes) throw new UserError(`--label-names: ${names.length} names for ${hot.classes} labels in ${labelMatrix.source}`);
  const N = labelMatrix.rows;
  const modalities = [];
  for (const arg of options.modalities) {
    const [name, ref] = parseAssignment(arg, '--modality');
    const m = await readMatrix(ref);
    noteHeader(m);
    if (m.rows !== N) throw new UserError(`${m.source}: ${m.rows} rows, but the labels (${labelMatrix.source}) have ${N}`);
    modalities.push({ name, dim: m.cols, data: Float32Array.from(m.values), source: m.source });
  }
  const splits: Record<string, Int32Array> = {};
  for (const arg of options.splits ?? []) {
    const [name, value] = parseAssignment(arg, '--split');
    const range = /^(\d+):(\d+)$/.exec(value);
    if (range) {
      const [start, end] = [Number(range[1]), Number(range[2])];
      if (end > N || start >= end) throw new UserError(`--split ${arg}: range must lie within 0:${N}`);
      splits[name] = Int32Array.from({ length: end - start }, (_, i) => start + i);
    } else {
      const m = await readMatrix(value);
      splits[name] = Int32Array.from(m.values, (v) => {
        if (!Number.isInteger(v) || v < 0 || v >= N) throw new UserError(`${m.source}: item index ${v} out of range [0, ${N})`);
        return v;
      });
    }
  }
  if (!Object.keys(splits).length) {
    const fraction = options.testFraction ?? 0.2;
    if (!(fraction > 0 && fraction < 1)) throw new UserError('--test-fraction must lie strictly between 0 and 1');
    const order = permutation(createRng(options.seed ?? 0), N);
    const nTest = Math.round(N * fraction);
    splits.test = Int32Array.from(order.subarray(0, nTest)).sort();
    splits.train = Int32Array.from(order.subarray(nTest)).sort();
  }
  return {
    name: options.name ?? 'imported',
    modalities,
    labels: { names: names ?? knownLabelNames(hot.classes) ?? Array.from({ length: hot.classes }, (_, i) => `label${i}`), data: hot.data, source: labelMatrix.source },
    splits,
    provenance: { source: [...options.modalities, options.labels].join(' '), importer: 'arrays' },
  };
}
