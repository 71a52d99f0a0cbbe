// Named float32 arrays in one binary file plus a JSON index: model weights, optimiser moments.
import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors.js';

const IndexSchema = z.object({
  format: z.literal('xmodal-tensors'),
  version: z.literal(1),
  tensors: z.array(z.object({ name: z.string(), shape: z.array(z.number().int().nonnegative()), offset: z.number().int().nonnegative(), length: z.number().int().nonnegative() })),
});

export interface NamedArray {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** Writes `<base>.json` and `<base>.bin` into dir (inside an atomic directory write). */
export function writeTensors(dir: string, base: string, arrays: NamedArray[]): void {
  let offset = 0;
  const tensors = arrays.map((a) => {
    const entry = { name: a.name, shape: a.shape, offset, length: a.data.length };
    offset += a.data.length;
    return entry;
  });
  // One write per array, straight from its memory: checkpoints hold tens of millions of values.
  const fd = openSync(join(dir, `${base}.bin`), 'w');
  try {
    for (const a of arrays) writeSync(fd, new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength));
  } finally {
    closeSync(fd);
  }
  writeFileSync(join(dir, `${base}.json`), JSON.stringify({ format: 'xmodal-tensors', version: 1, tensors }, null, 1) + '\n');
}

export function readTensors(dir: string, base: string): Map<string, NamedArray> {
  const indexPath = join(dir, `${base}.json`);
  let index: z.infer<typeof IndexSchema>;
  let bin: Buffer;
  try {
    index = IndexSchema.parse(JSON.parse(readFileSync(indexPath, 'utf8')));
    bin = readFileSync(join(dir, `${base}.bin`));
  } catch (error) {
    throw new UserError(`${indexPath}: unreadable tensor file: ${(error as Error).message.split('\n')[0]}`);
  }
  const out = new Map<string, NamedArray>();
  for (const t of index.tensors) {
    if ((t.offset + t.length) * 4 > bin.length) throw new UserError(`${join(dir, `${base}.bin`)}: truncated (tensor ${t.name})`);
    const data = new Float32Array(t.length);
    Buffer.from(data.buffer).set(bin.subarray(t.offset * 4, (t.offset + t.length) * 4));
    out.set(t.name, { name: t.name, shape: t.shape, data });
  }
  return out;
}
