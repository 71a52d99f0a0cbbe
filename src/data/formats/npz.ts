// NumPy .npz archives: a zip of .npy members, stored or deflated (np.savez / np.savez_compressed).
import { readBytes } from '../../util/read-file.js';
import { crc32, inflateRawSync } from 'node:zlib';
import { UserError } from '../../errors.js';
import { decodeNpy, type NpyData, type NpyHeader } from './npy.js';

interface Member {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  localOffset: number;
}

function members(bytes: Buffer, path: string): Member[] {
  // The end-of-central-directory record is in the last 22 + 65535 bytes.
  const floor = Math.max(0, bytes.length - 22 - 0xffff);
  let eocd = -1;
  for (let i = bytes.length - 22; i >= floor; i--) {
    if (bytes.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  }
  if (eocd < 0) throw new UserError(`${path}: not a .npz (zip) archive, or truncated`);
  const count = bytes.readUInt16LE(eocd + 10);
  let at = bytes.readUInt32LE(eocd + 16);
  if (at === 0xffffffff) throw new UserError(`${path}: zip64 archives are not supported`);
  const out: Member[] = [];
  for (let k = 0; k < count; k++) {
    if (at + 46 > bytes.length || bytes.readUInt32LE(at) !== 0x02014b50) throw new UserError(`${path}: corrupt zip central directory`);
    const nameLength = bytes.readUInt16LE(at + 28);
    const extra = bytes.readUInt16LE(at + 30);
    const comment = bytes.readUInt16LE(at + 32);
    out.push({
      name: bytes.toString('utf8', at + 46, at + 46 + nameLength),
      method: bytes.readUInt16LE(at + 10),
      crc: bytes.readUInt32LE(at + 16),
      compressedSize: bytes.readUInt32LE(at + 20),
      localOffset: bytes.readUInt32LE(at + 42),
    });
    at += 46 + nameLength + extra + comment;
  }
  return out;
}

/** The arrays of an archive by name (without the .npy suffix); `wanted` limits which are decoded. */
export function readNpz(path: string, wanted?: string): Map<string, { header: NpyHeader; data: NpyData }> {
  const bytes = readBytes(path);
  const all = members(bytes, path);
  const names = all.map((m) => m.name.replace(/\.npy$/, ''));
  if (wanted !== undefined && !names.includes(wanted)) throw new UserError(`${path}: no array '${wanted}' (arrays: ${names.join(', ')})`);
  const out = new Map<string, { header: NpyHeader; data: NpyData }>();
  all.forEach((m, k) => {
    const name = names[k] as string;
    if (wanted !== undefined && name !== wanted) return;
    const local = m.localOffset;
    if (local + 30 > bytes.length || bytes.readUInt32LE(local) !== 0x04034b50) throw new UserError(`${path}: member ${m.name}: corrupt local header`);
    const start = local + 30 + bytes.readUInt16LE(local + 26) + bytes.readUInt16LE(local + 28);
    if (start + m.compressedSize > bytes.length) throw new UserError(`${path}: member ${m.name}: truncated`);
    const raw = bytes.subarray(start, start + m.compressedSize);
    let content: Buffer;
    if (m.method === 0) content = raw;
    else if (m.method === 8) {
      try {
        content = inflateRawSync(raw);
      } catch (error) {
        throw new UserError(`${path}: member ${m.name}: corrupt compressed data: ${(error as Error).message}`);
      }
    } else throw new UserError(`${path}: member ${m.name}: unsupported zip compression method ${m.method}`);
    if (crc32(content) !== m.crc) throw new UserError(`${path}: member ${m.name}: CRC mismatch (corrupt archive)`);
    out.set(name, decodeNpy(content, `${path}:${name}`));
  });
  return out;
}
