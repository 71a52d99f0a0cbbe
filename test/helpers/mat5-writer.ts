// A minimal MATLAB level-5 writer for tests: lets the reader be checked on every class, compressed or not.
import { deflateSync } from 'node:zlib';

type MatClass = 'double' | 'single' | 'uint8' | 'int32' | 'logical' | 'int64';
const classIds: Record<MatClass, number> = { double: 6, single: 7, uint8: 9, int32: 12, logical: 9, int64: 14 };
const storage: Record<MatClass, [number, number]> = { double: [9, 8], single: [7, 4], uint8: [2, 1], int32: [5, 4], logical: [2, 1], int64: [12, 8] };

function element(type: number, payload: Buffer): Buffer {
  const tag = Buffer.alloc(8);
  tag.writeUInt32LE(type, 0);
  tag.writeUInt32LE(payload.length, 4);
  const pad = Buffer.alloc((8 - (payload.length % 8)) % 8);
  return Buffer.concat([tag, payload, pad]);
}

export interface MatVar {
  name: string;
  cls: MatClass;
  rows: number;
  cols: number;
  /** Row-major values. */
  values: number[];
}

function matrix(v: MatVar): Buffer {
  const flags = Buffer.alloc(8);
  flags.writeUInt32LE(classIds[v.cls] | (v.cls === 'logical' ? 0x200 : 0), 0);
  const dims = Buffer.alloc(8);
  dims.writeInt32LE(v.rows, 0);
  dims.writeInt32LE(v.cols, 4);
  const [type, size] = storage[v.cls];
  const data = Buffer.alloc(v.rows * v.cols * size);
  let k = 0;
  for (let j = 0; j < v.cols; j++) {
    for (let i = 0; i < v.rows; i++) {
      const x = v.values[i * v.cols + j] as number;
      const o = k++ * size;
      if (type === 9) data.writeDoubleLE(x, o);
      else if (type === 7) data.writeFloatLE(x, o);
      else if (type === 2) data.writeUInt8(x, o);
      else if (type === 5) data.writeInt32LE(x, o);
      else data.writeBigInt64LE(BigInt(x), o);
    }
  }
  const body = Buffer.concat([element(6, flags), element(5, dims), element(1, Buffer.from(v.name, 'latin1')), element(type, data)]);
  return element(14, body);
}

export function writeMat5(vars: MatVar[], compressed: boolean): Buffer {
  const header = Buffer.alloc(128, ' ');
  header.write('MATLAB 5.0 MAT-file, written by xmodal tests', 0, 'latin1');
  header.writeUInt16LE(0x0100, 124);
  header.write('IM', 126, 'latin1');
  const parts = vars.map((v) => {
    const m = matrix(v);
    if (!compressed) return m;
    const z = deflateSync(m);
    const tag = Buffer.alloc(8);
    tag.writeUInt32LE(15, 0);
    tag.writeUInt32LE(z.length, 4);
    return Buffer.concat([tag, z]);
  });
  return Buffer.concat([header, ...parts]);
}
