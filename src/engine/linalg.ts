// Dense float64 linear algebra for closed-form methods (CCA): symmetric eigen-decomposition through LAPACK in the
// addon, or cyclic Jacobi rotations in JavaScript where the addon is missing (exact, slower: O(n^3) per sweep).
import { loadNative } from './native.js';

export interface Eigen {
  /** Ascending. */
  values: Float64Array;
  /** Row i is the eigenvector of values[i]. */
  vectors: Float64Array;
}

export function symmetricEigen(matrix: Float64Array, n: number, options: { native?: boolean } = {}): Eigen {
  const native = options.native === false ? null : loadNative().kernels;
  if (native) {
    const a = matrix.slice();
    const w = new Float64Array(n);
    native.symmetricEigen(a, n, w);
    return { values: w, vectors: a };
  }
  return jacobi(matrix, n);
}

function jacobi(matrix: Float64Array, n: number): Eigen {
  const a = matrix.slice();
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += (a[p * n + q] as number) ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q] as number;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = ((a[q * n + q] as number) - (a[p * n + p] as number)) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p] as number;
          const akq = a[k * n + q] as number;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k] as number;
          const aqk = a[q * n + k] as number;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p] as number;
          const vkq = v[k * n + q] as number;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  // Columns of v are eigenvectors; return them as rows, sorted by eigenvalue.
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => (a[x * n + x] as number) - (a[y * n + y] as number));
  const values = Float64Array.from(order, (i) => a[i * n + i] as number);
  const vectors = new Float64Array(n * n);
  order.forEach((col, row) => {
    for (let k = 0; k < n; k++) vectors[row * n + k] = v[k * n + col] as number;
  });
  return { values, vectors };
}
