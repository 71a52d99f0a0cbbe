// MATLAB level-5 MAT-files (v5, v6, v7): a 128-byte header, then tagged data elements, possibly zlib-
// compressed (miCOMPRESSED). Numeric and logical matrices are decoded into typed arrays in row-major order.
// Written for xmodal because the only npm parser is GPL-3.0 and returns nested JS arrays.
import { readBytes } from '../../util/read-file.js';
import { inflateSync } from 'node:zlib';
import { UserError } from '../../errors.js';

/** MATLAB array classes (mxClassID). */
const classNames: Record<number, string> = {
  1: 'cell', 2: 'struct', 3: 'object', 4: 'char', 5: 'sparse', 6: 'double', 7: 'single', 8: 'int8', 9: 'uint8',
  10: 'int16', 11: 'uint16', 12: 'int32', 13: 'uint32', 14: 'int64', 15: 'uint64',
};
const numericClasses = new Set(['double', 'single', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64']);

// Data element types (miXXX).
const MI = { INT8: 1, UINT8: 2, INT16: 3, UINT16: 4, INT32: 5, UINT32: 6, SINGLE: 7, DOUBLE: 9, INT64: 12, UINT64: 13, MATRIX: 14, COMPRESSED: 15, UTF8: 16 } as const;
const elementBytes: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 9: 8, 12: 8, 13: 8, 16: 1 };

export interface MatVariable {
  name: string;
  /** MATLAB class: double, single, uint8, logical, char, cell, ... */
  matlabClass: string;
  dims: number[];
  /** Row-major values for numeric, logical and char 2-d arrays; undefined for unsupported classes. */
  values?: Float64Array;
  unsupported?: string;
}

export interface MatFile {
  path: string;
  header: string;
  variables: Map<string, MatVariable>;
}

interface Element {
  type: number;
  data: Uint8Array;
}

class Reader {
  constructor(private readonly bytes: Uint8Array, private readonly file: string, private readonly base: number, private readonly little: boolean) {}
  private pos = 0;

  done(): boolean {
    return this.pos >= this.bytes.length;
  }

  next(padded = true): Element {
    const at = this.base + this.pos;
    if (this.pos + 8 > this.bytes.length) throw new UserError(`${this.file}: truncated at byte ${at}: an element tag needs 8 bytes`);
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.pos, 8);
    const first = view.getUint32(0, this.little);
    if (first >>> 16 !== 0) {
      // Small data element: type and length share the first word, the data fills the second.
      const length = first >>> 16;
      const type = first & 0xffff;
      if (length > 4) throw new UserError(`${this.file}: corrupt element at byte ${at}: small element of ${length} bytes`);
      const data = this.bytes.subarray(this.pos + 4, this.pos + 4 + length);
      this.pos += 8;
      return { type, data };
    }
    const type = first;
    const length = view.getUint32(4, this.little);
    const start = this.pos + 8;
    if (start + length > this.bytes.length) {
      throw new UserError(`${this.file}: truncated at byte ${at}: element of ${length} bytes, only ${this.bytes.length - start} left`);
    }
    const data = this.bytes.subarray(start, start + length);
    // Elements are padded to 8 bytes, except compressed ones, which are followed directly by the next tag.
    this.pos = start + (padded && type !== MI.COMPRESSED ? Math.ceil(length / 8) * 8 : length);
    return { type, data };
  }
}

function numbersOf(element: Element, little: boolean, file: string, what: string): Float64Array {
  const size = elementBytes[element.type];
  if (!size) throw new UserError(`${file}: ${what}: unsupported element type ${element.type}`);
  const n = Math.floor(element.data.length / size);
  const view = new DataView(element.data.buffer, element.data.byteOffset, element.data.byteLength);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * size;
    switch (element.type) {
      case MI.INT8: out[i] = view.getInt8(o); break;
      case MI.UINT8: case MI.UTF8: out[i] = view.getUint8(o); break;
      case MI.INT16: out[i] = view.getInt16(o, little); break;
      case MI.UINT16: out[i] = view.getUint16(o, little); break;
      case MI.INT32: out[i] = view.getInt32(o, little); break;
      case MI.UINT32: out[i] = view.getUint32(o, little); break;
      case MI.SINGLE: out[i] = view.getFloat32(o, little); break;
      case MI.DOUBLE: out[i] = view.getFloat64(o, little); break;
      case MI.INT64: out[i] = Number(view.getBigInt64(o, little)); break;
      case MI.UINT64: out[i] = Number(view.getBigUint64(o, little)); break;
    }
  }
  return out;
}

function parseMatrix(element: Element, file: string, little: boolean, at: number): MatVariable {
  const sub = new Reader(element.data, file, at + 8, little);
  const flagsElement = sub.next();
  const flags = numbersOf(flagsElement, little, file, 'array flags');
  const flagWord = flags[0] ?? 0;
  const classId = flagWord & 0xff;
  const isComplex = (flagWord & 0x800) !== 0;
  const isLogical = (flagWord & 0x200) !== 0;
  const dims = Array.from(numbersOf(sub.next(), little, file, 'dimensions'));
  const nameElement = sub.next();
  const name = Buffer.from(nameElement.data).toString('latin1');
  const baseClass = classNames[classId] ?? `class ${classId}`;
  const matlabClass = isLogical ? 'logical' : baseClass;
  if (!numericClasses.has(baseClass) && baseClass !== 'char') {
    return { name, matlabClass, dims, unsupported: `${baseClass} arrays are not supported (only numeric, logical and char matrices)` };
  }
  if (dims.length !== 2) return { name, matlabClass, dims, unsupported: `${dims.length}-d arrays are not supported (only 2-d matrices)` };
  if (isComplex) return { name, matlabClass, dims, unsupported: 'complex arrays are not supported' };
  const [rows, cols] = dims as [number, number];
  const real = sub.done() ? new Float64Array(0) : numbersOf(sub.next(), little, file, `variable '${name}'`);
  if (real.length !== rows * cols) {
    throw new UserError(`${file}: variable '${name}': ${real.length} values for a ${rows}x${cols} matrix (truncated or corrupt)`);
  }
  // MATLAB stores column-major; xmodal works row-major.
  const values = new Float64Array(rows * cols);
  for (let j = 0; j < cols; j++) for (let i = 0; i < rows; i++) values[i * cols + j] = real[j * rows + i] as number;
  return { name, matlabClass, dims, values };
}

const HDF5_SIGNATURE = '\x89HDF\r\n\x1a\n';

/** MATLAB v7.3 files are HDF5: the signature sits at byte 512 (after MATLAB's user block) or 0. */
export function isMat73(bytes: Uint8Array): boolean {
  const at = (offset: number) => bytes.length >= offset + 8 && Buffer.from(bytes.subarray(offset, offset + 8)).toString('latin1') === HDF5_SIGNATURE;
  return at(0) || at(512) || /MATLAB 7\.3 MAT-file/.test(Buffer.from(bytes.subarray(0, 116)).toString('latin1'));
}

export function parseMat5(bytes: Uint8Array, file: string): MatFile {
  if (bytes.length < 128) throw new UserError(`${file}: not a MAT-file (only ${bytes.length} bytes; the header alone is 128)`);
  const header = Buffer.from(bytes.subarray(0, 116)).toString('latin1').replace(/[\s\0]+$/, '');
  const endian = Buffer.from(bytes.subarray(126, 128)).toString('latin1');
  if (endian !== 'IM' && endian !== 'MI') throw new UserError(`${file}: not a MATLAB level-5 MAT-file (no endian indicator in its header)`);
  const little = endian === 'IM';
  const variables = new Map<string, MatVariable>();
  const top = new Reader(bytes.subarray(128), file, 128, little);
  while (!top.done()) {
    let element = top.next();
    if (element.type === MI.COMPRESSED) {
      let inflated: Buffer;
      try {
        inflated = inflateSync(element.data);
      } catch (error) {
        throw new UserError(`${file}: corrupt compressed element: ${(error as Error).message}`);
      }
      const inner = new Reader(inflated, file, 0, little);
      element = inner.next(false);
    }
    if (element.type !== MI.MATRIX) continue; // other top-level elements carry no variables
    const variable = parseMatrix(element, file, little, 0);
    variables.set(variable.name, variable);
  }
  return { path: file, header, variables };
}

/** Level-5 files only; `readMat` handles v7.3 as well. */
export function readMat5(path: string): MatFile {
  const bytes = readBytes(path);
  if (isMat73(bytes)) throw new UserError(`${path}: MATLAB v7.3 (HDF5) file: use readMat`);
  return parseMat5(bytes, path);
}

/** Any MAT-file: level 5 (v5/v6/v7) or v7.3 (HDF5). For v7.3 only the `wanted` variables are loaded. */
export async function readMat(path: string, wanted?: string[]): Promise<MatFile> {
  const bytes = readBytes(path);
  if (isMat73(bytes)) return (await import('./mat73.js')).readMat73(path, wanted);
  return parseMat5(bytes, path);
}

/** A named numeric matrix, or a one-line error that lists the variables the file does have. */
export function matMatrix(mat: MatFile, name: string): { rows: number; cols: number; values: Float64Array } {
  const variable = mat.variables.get(name);
  if (!variable) {
    const names = [...mat.variables.keys()];
    throw new UserError(`${mat.path}: no variable '${name}' (variables: ${names.length ? names.join(', ') : 'none'})`);
  }
  if (!variable.values) throw new UserError(`${mat.path}: variable '${name}': ${variable.unsupported}`);
  return { rows: variable.dims[0] as number, cols: variable.dims[1] as number, values: variable.values };
}
