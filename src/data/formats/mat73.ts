// MATLAB v7.3 MAT-files are HDF5 files (after a 512-byte user block), read through h5wasm. MATLAB writes
// arrays column-major, so an N x D matrix is an HDF5 dataset of shape [D, N]: its C-order buffer is MATLAB's
// column-major data, which is turned into row-major N x D here.
import h5wasm from 'h5wasm/node';
import { UserError } from '../../errors.js';
import type { MatFile, MatVariable } from './mat5.js';

const numeric = new Set(['double', 'single', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'logical']);

/** Reads the variables named in `wanted` (all when omitted); the others are listed with their shapes only. */
export async function readMat73(path: string, wanted?: string[]): Promise<MatFile> {
  await h5wasm.ready;
  let file: InstanceType<typeof h5wasm.File>;
  try {
    file = new h5wasm.File(path, 'r');
  } catch (error) {
    throw new UserError(`${path}: not a readable HDF5 (MATLAB v7.3) file: ${(error as Error).message}`);
  }
  try {
    const variables = new Map<string, MatVariable>();
    for (const name of file.keys()) {
      if (name.startsWith('#')) continue; // MATLAB's internal #refs# group
      const entry = file.get(name);
      if (!(entry instanceof h5wasm.Dataset)) {
        variables.set(name, { name, matlabClass: 'struct', dims: [], unsupported: 'groups (structs, cells) are not supported' });
        continue;
      }
      const attr = entry.attrs.MATLAB_class?.value;
      const matlabClass = typeof attr === 'string' ? attr : 'double';
      const shape = entry.shape ?? [];
      const dims = [...shape].reverse();
      if (!numeric.has(matlabClass)) {
        variables.set(name, { name, matlabClass, dims, unsupported: `${matlabClass} arrays are not supported (only numeric and logical matrices)` });
        continue;
      }
      if (dims.length !== 2) {
        variables.set(name, { name, matlabClass, dims, unsupported: `${dims.length}-d arrays are not supported (only 2-d matrices)` });
        continue;
      }
      if (wanted && !wanted.includes(name)) {
        variables.set(name, { name, matlabClass, dims, unsupported: 'not loaded' });
        continue;
      }
      const raw = entry.value as ArrayLike<number | bigint> | null;
      const [rows, cols] = dims as [number, number];
      if (!raw || raw.length !== rows * cols) throw new UserError(`${path}: variable '${name}': cannot read ${rows}x${cols} numeric values`);
      const values = new Float64Array(rows * cols);
      for (let j = 0; j < cols; j++) for (let i = 0; i < rows; i++) values[i * cols + j] = Number(raw[j * rows + i]);
      variables.set(name, { name, matlabClass, dims, values });
    }
    return { path, header: 'MATLAB 7.3 MAT-file (HDF5)', variables };
  } finally {
    file.close();
  }
}
