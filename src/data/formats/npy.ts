// NumPy .npy files (format versions 1-3): the on-disk matrix format of xmodal data sets, so NumPy users can
// read them directly. Reading accepts any C- or Fortran-ordered numeric array; writing produces C order.
import { closeSync, openSync, readSync } from 'node:fs';
import { UserError } from '../../errors.js';

export type NpyData = Float32Array | Float64Array | Uint8Array | Int8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

export interface NpyHeader {
  dtype: string;
  fortranOrder: boolean;
  shape: number[];
  /** Byte offset of the first element. */
  dataOffset: number;
}

const MAGIC = '\x93NUMPY';

interface DtypeInfo {
  bytes: number;
  make: (buffer: ArrayBuffer, offset: number, length: number) => NpyData;
}

const dtypes: Record<string, DtypeInfo> = {
  '<f4': { bytes: 4, make: (b, o, n) => new Float32Array(b, o, n) },
  '<f8': { bytes: 8, make: (b, o, n) => new Float64Array(b, o, n) },
  '|u1': { bytes: 1, make: (b, o, n) => new Uint8Array(b, o, n) },
  '|b1': { bytes: 1, make: (b, o, n) => new Uint8Array(b, o, n) },
  '|i1': { bytes: 1, make: (b, o, n) => new Int8Array(b, o, n) },
  '<i2': { bytes: 2, make: (b, o, n) => new Int16Array(b, o, n) },
  '<u2': { bytes: 2, make: (b, o, n) => new Uint16Array(b, o, n) },
  '<i4': { bytes: 4, make: (b, o, n) => new Int32Array(b, o, n) },
  '<u4': { bytes: 4, make: (b, o, n) => new Uint32Array(b, o, n) },
  '<i8': { bytes: 8, make: (b, o, n) => new BigInt64Array(b, o, n) },
  '<u8': { bytes: 8, make: (b, o, n) => new BigUint64Array(b, o, n) },
};

export function dtypeBytes(dtype: string): number {
  const info = dtypes[dtype];
  if (!info) throw new UserError(`unsupported .npy dtype ${dtype}`);
  return info.bytes;
}

export function parseNpyHeader(bytes: Uint8Array, file: string): NpyHeader {
  const text = (start: number, end: number) => Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('latin1');
  if (bytes.length < 10 || text(0, 6) !== MAGIC) throw new UserError(`${file}: not a .npy file (bad magic string)`);
  const major = bytes[6] as number;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLength: number;
  let start: number;
  if (major === 1) {
    headerLength = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new UserError(`${file}: truncated .npy header`);
    headerLength = view.getUint32(8, true);
    start = 12;
  } else {
    throw new UserError(`${file}: unsupported .npy format version ${major}`);
  }
  if (bytes.length < start + headerLength) throw new UserError(`${file}: truncated .npy header`);
  const header = text(start, start + headerLength);
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw new UserError(`${file}: malformed .npy header: ${header.trim()}`);
  const dtype = descr === '<b1' ? '|b1' : descr.replace(/^=/, '<');
  if (!dtypes[dtype]) throw new UserError(`${file}: unsupported .npy dtype ${descr} (use float32, float64 or an integer type, little-endian)`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new UserError(`${file}: malformed .npy shape (${shapeText})`);
  return { dtype, fortranOrder: fortran === 'True', shape, dataOffset: start + headerLength };
}

/** Reads a whole .npy from memory; Fortran-ordered arrays are returned in C order. */
export function decodeNpy(bytes: Uint8Array, file: string): { header: NpyHeader; data: NpyData } {
  const header = parseNpyHeader(bytes, file);
  const info = dtypes[header.dtype] as DtypeInfo;
  const count = header.shape.reduce((a, b) => a * b, 1);
  const needed = header.dataOffset + count * info.bytes;
  if (bytes.length < needed) throw new UserError(`${file}: truncated: ${bytes.length} bytes, the header's shape needs ${needed}`);
  // Copy into an aligned buffer: typed arrays need offsets that are multiples of their element size.
  const aligned = new Uint8Array(bytes.subarray(header.dataOffset, needed)).buffer;
  let data = info.make(aligned, 0, count);
  if (header.fortranOrder && header.shape.length === 2) data = transposeTyped(data, header.shape[1] as number, header.shape[0] as number);
  else if (header.fortranOrder && header.shape.length > 2) throw new UserError(`${file}: Fortran-ordered arrays of rank > 2 are not supported`);
  return { header: { ...header, fortranOrder: false }, data };
}

/** Transposes a row-major rows x cols array into cols x rows. */
export function transposeTyped<T extends NpyData>(data: T, rows: number, cols: number): T {
  const out = new (data.constructor as new (n: number) => T)(data.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = data[i * cols + j] as never;
  return out;
}

function descrOf(data: NpyData): string {
  if (data instanceof Float32Array) return '<f4';
  if (data instanceof Float64Array) return '<f8';
  if (data instanceof Uint8Array) return '|u1';
  if (data instanceof Int8Array) return '|i1';
  if (data instanceof Int16Array) return '<i2';
  if (data instanceof Uint16Array) return '<u2';
  if (data instanceof Int32Array) return '<i4';
  if (data instanceof Uint32Array) return '<u4';
  if (data instanceof BigInt64Array) return '<i8';
  return '<u8';
}

/** Encodes a C-ordered array as .npy version 1.0 bytes. */
export function encodeNpy(data: NpyData, shape: number[]): Buffer {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`encodeNpy: shape ${shape} has ${count} elements, data has ${data.length}`);
  const shapeText = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '${descrOf(data)}', 'fortran_order': False, 'shape': (${shapeText}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const prefix = Buffer.alloc(10);
  prefix.write(MAGIC, 0, 'latin1');
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  return Buffer.concat([prefix, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

/** Random access to the rows of a C-ordered 1-d or 2-d .npy file without reading all of it. */
export class NpyRows {
  readonly header: NpyHeader;
  readonly rows: number;
  readonly cols: number;
  private readonly rowBytes: number;

  constructor(readonly path: string) {
    const fd = openSync(path, 'r');
    try {
      const head = Buffer.alloc(4096);
      const got = readSync(fd, head, 0, head.length, 0);
      this.header = parseNpyHeader(head.subarray(0, got), path);
    } finally {
      closeSync(fd);
    }
    if (this.header.fortranOrder) throw new UserError(`${path}: Fortran-ordered arrays cannot be read by rows`);
    if (this.header.shape.length < 1 || this.header.shape.length > 2) throw new UserError(`${path}: expected a 1-d or 2-d array, got shape (${this.header.shape})`);
    this.rows = this.header.shape[0] as number;
    this.cols = (this.header.shape[1] ?? 1) as number;
    this.rowBytes = this.cols * dtypeBytes(this.header.dtype);
  }

  /** Rows at `indices`, in that order, as one row-major typed array of the file's dtype. */
  read(indices: ArrayLike<number>): NpyData {
    const info = dtypes[this.header.dtype] as DtypeInfo;
    const out = Buffer.alloc(indices.length * this.rowBytes);
    const fd = openSync(this.path, 'r');
    try {
      // Runs of consecutive indices are read with one call.
      let i = 0;
      while (i < indices.length) {
        const first = indices[i] as number;
        if (!Number.isInteger(first) || first < 0 || first >= this.rows) throw new RangeError(`${this.path}: row ${first} out of [0, ${this.rows})`);
        let run = 1;
        while (i + run < indices.length && indices[i + run] === first + run && first + run < this.rows) run++;
        const length = run * this.rowBytes;
        const got = readSync(fd, out, i * this.rowBytes, length, this.header.dataOffset + first * this.rowBytes);
        if (got !== length) throw new UserError(`${this.path}: truncated: rows ${first}..${first + run - 1} are past the end of the file`);
        i += run;
      }
    } finally {
      closeSync(fd);
    }
    return info.make(out.buffer, out.byteOffset, indices.length * this.cols);
  }

  readAll(): NpyData {
    return this.read(Int32Array.from({ length: this.rows }, (_, i) => i));
  }
}
