// Reads one 2-d numeric matrix from a MAT-file variable, a .npy file or a CSV/TSV file, whatever the user has.
import { existsSync, readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { UserError } from '../../errors.js';
import { MAX_LABELS } from '../checks.js';
import { decodeNpy, type NpyData, type NpyHeader } from './npy.js';
import { readNpz } from './npz.js';
import { matMatrix, readMat } from './mat5.js';

export interface Matrix {
  rows: number;
  cols: number;
  /** Row-major. */
  values: Float64Array | Float32Array;
  /** "file" or "file:variable", for messages. */
  source: string;
  /** Delimited files: the first line, when it was taken as a header and skipped. */
  header?: string;
}

/**
 * `ref` is `path` or `path:variable` (a .mat variable or .npz array; optional when the file holds just one).
 * `path:A+B` stacks the rows of several variables (files that store train and test parts apart: I_tr+I_te).
 * For delimited text files (.csv, .tsv, .txt, .list) `path:COLUMN` takes one column, by 1-based number or
 * header name; the other columns may then hold anything (ids, say).
 */
export async function readMatrix(ref: string): Promise<Matrix> {
  const colon = ref.lastIndexOf(':');
  const hasVariable = colon > 0 && !/^[A-Za-z]:[\\/]/.test(ref) && !existsSync(ref);
  const path = hasVariable ? ref.slice(0, colon) : ref;
  const variable = hasVariable ? ref.slice(colon + 1) : undefined;
  if (variable?.includes('+')) return stackRows(await Promise.all(variable.split('+').map((v) => readOne(path, v))), ref);
  return readOne(path, variable);
}

function stackRows(parts: Matrix[], ref: string): Matrix {
  const cols = parts[0]?.cols ?? 0;
  const odd = parts.find((p) => p.cols !== cols);
  if (odd) throw new UserError(`${ref}: ${odd.source} has ${odd.cols} columns, ${parts[0]?.source} has ${cols}; stacked variables must agree`);
  const rows = parts.reduce((s, p) => s + p.rows, 0);
  const values = new Float64Array(rows * cols);
  let offset = 0;
  for (const p of parts) {
    values.set(p.values, offset);
    offset += p.values.length;
  }
  return { rows, cols, values, source: ref };
}

async function readOne(path: string, variable: string | undefined): Promise<Matrix> {
  if (!existsSync(path)) throw new UserError(`${path}: no such file`);
  const ext = extname(path).toLowerCase();
  if (ext === '.mat') {
    const mat = await readMat(path, variable ? [variable] : undefined);
    const name = variable ?? (mat.variables.size === 1 ? [...mat.variables.keys()][0] as string : undefined);
    if (!name) throw new UserError(`${path}: name the variable as ${path}:NAME (variables: ${[...mat.variables.keys()].join(', ')})`);
    const m = matMatrix(mat, name);
    return { ...m, source: `${path}:${name}` };
  }
  if (ext === '.npy') return fromNpy(decodeNpy(readFileSync(path), path), path);
  if (ext === '.npz') {
    const arrays = readNpz(path, variable);
    const name = variable ?? (arrays.size === 1 ? [...arrays.keys()][0] as string : undefined);
    if (!name) throw new UserError(`${path}: name the array as ${path}:NAME (arrays: ${[...arrays.keys()].join(', ')})`);
    return fromNpy(arrays.get(name)!, `${path}:${name}`);
  }
  if (ext === '.csv' || ext === '.tsv' || ext === '.txt' || ext === '.list') return readDelimited(path, ext === '.csv' ? ',' : undefined, variable);
  throw new UserError(`${path}: unknown matrix format '${ext}' (use .mat, .npy, .npz, .csv, .tsv, .txt or .list)`);
}

function fromNpy({ header, data }: { header: NpyHeader; data: NpyData }, source: string): Matrix {
  if (header.shape.length > 2) throw new UserError(`${source}: expected a 1-d or 2-d array, got shape (${header.shape})`);
  const rows = header.shape[0] ?? 1;
  const cols = header.shape[1] ?? 1;
  const values = data instanceof Float32Array || data instanceof Float64Array ? data : Float64Array.from(data as ArrayLike<number | bigint>, Number);
  return { rows, cols, values, source };
}

/**
 * Numeric rows separated by `sep` (default: tabs or runs of spaces); a first line that is not numeric is a header
 * (reported in `header`). With `column` (1-based number or header name) only that column is read.
 */
export function readDelimited(path: string, sep?: string, column?: string): Matrix {
  const lines = readFileSync(path, 'utf8').replace(/^\uFEFF/, '').split(/\r?\n/).filter((l) => l.trim().length > 0);
  const split = (line: string) => (sep ? line.split(sep) : line.trim().split(/\s+|\t/)).map((s) => s.trim());
  const isNumber = (cell: string) => cell !== '' && (!Number.isNaN(Number(cell)) || /^[+-]?(nan|inf(inity)?)$/i.test(cell));
  const first = lines.length ? split(lines[0] as string) : [];
  let pick: number | undefined;
  if (column !== undefined) {
    pick = /^\d+$/.test(column) ? Number(column) - 1 : first.indexOf(column);
    if (pick < 0 || pick >= first.length) throw new UserError(`${path}: no column '${column}' (${first.length} columns${first.some((c) => !isNumber(c)) ? `; first line: ${first.join(', ')}` : ''})`);
  }
  const cellsOf = (line: string) => (pick === undefined ? split(line) : [split(line)[pick] ?? '']);
  const hasHeader = lines.length > 0 && cellsOf(lines[0] as string).some((cell) => !isNumber(cell));
  const start = hasHeader ? 1 : 0;
  const rows = lines.length - start;
  if (rows <= 0) throw new UserError(`${path}: no data rows`);
  const cols = cellsOf(lines[start] as string).length;
  const values = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const cells = cellsOf(lines[start + r] as string);
    if (cells.length !== cols) throw new UserError(`${path}: line ${start + r + 1}: ${cells.length} columns, expected ${cols}`);
    for (let c = 0; c < cols; c++) {
      const cell = cells[c] as string;
      const v = /^[+-]?inf(inity)?$/i.test(cell) ? (cell.startsWith('-') ? -Infinity : Infinity) : Number(cell);
      if (cell === '' || (Number.isNaN(v) && !/^[+-]?nan$/i.test(cell))) {
        throw new UserError(`${path}: line ${start + r + 1}, column ${(pick ?? c) + 1}: '${cell}' is not a number`);
      }
      values[r * cols + c] = v;
    }
  }
  return { rows, cols, values, source: column !== undefined ? `${path}:${column}` : path, ...(hasHeader ? { header: lines[0] as string } : {}) };
}

/** Class indices (one column) or a multi-hot matrix, as N x C 0/1 labels. */
export function toMultiHot(m: Matrix, classes?: number, base?: number, maxClasses = MAX_LABELS): { data: Uint8Array; classes: number; base: number } {
  if (m.cols > 1) {
    const data = new Uint8Array(m.values.length);
    for (let i = 0; i < m.values.length; i++) {
      const v = m.values[i] as number;
      if (v !== 0 && v !== 1) throw new UserError(`${m.source}: row ${Math.floor(i / m.cols) + 1}, column ${(i % m.cols) + 1}: label value ${v} is not 0 or 1`);
      data[i] = v;
    }
    return { data, classes: m.cols, base: 0 };
  }
  let min = Infinity;
  let max = -Infinity;
  for (const v of m.values) {
    if (!Number.isInteger(v)) throw new UserError(`${m.source}: class index ${v} is not an integer`);
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const b = base ?? (min === 0 ? 0 : 1); // MATLAB-made files count from 1, NumPy-made ones from 0
  const C = classes ?? max - b + 1;
  // Checked before the N x C matrix is allocated: one stray index of 1,000,000 would otherwise make it.
  if (C > maxClasses) throw new UserError(`${m.source}: class index ${max} means ${C} labels, over the limit of ${maxClasses} (a stray index? raise it with --max-labels ${C} if they are real)`);
  const data = new Uint8Array(m.rows * C);
  m.values.forEach((v, i) => {
    const c = v - b;
    if (c < 0 || c >= C) throw new UserError(`${m.source}: row ${i + 1}: class index ${v} outside ${b}..${b + C - 1}`);
    data[i * C + c] = 1;
  });
  return { data, classes: C, base: b };
}
