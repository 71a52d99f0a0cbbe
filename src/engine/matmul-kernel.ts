// Replaces the wasm backend's BatchMatMul with OpenBLAS sgemm. The stock kernel runs at 1-2 GFLOP/s when an
// operand is transposed, which every backward pass needs; sgemm does all four cases at full speed.
// This reads wasm-backend internals (heap views of tensors), hence the exact pin of the backend package.
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { NativeKernels } from './native.js';

let stockKernel: tf.KernelConfig | undefined;
let useNative = true;
let nativeCalls = 0;

export function heapView(backend: BackendWasm, tensor: tf.TensorInfo): Float32Array {
  // A fresh view each time: the wasm heap can grow, which detaches earlier views.
  return backend.typedArrayFromHeap(tensor) as Float32Array;
}

/** Number of products the native kernel has computed: lets tests prove the override is active. */
export function nativeMatMulCalls(): number {
  return nativeCalls;
}

/** Switch between sgemm and the stock wasm kernel (for comparisons); returns the previous setting. */
export function setNativeMatMul(enabled: boolean): boolean {
  const previous = useNative;
  useNative = enabled;
  return previous;
}

export function installNativeMatMul(native: NativeKernels): void {
  if (stockKernel) return;
  const stock = tf.getKernel('BatchMatMul', 'wasm');
  if (!stock) throw new Error('wasm backend has no BatchMatMul kernel to replace');
  stockKernel = stock;
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({
    kernelName: 'BatchMatMul',
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { inputs, attrs } = args;
      const backend = args.backend as BackendWasm;
      const a = inputs.a as tf.TensorInfo;
      const b = inputs.b as tf.TensorInfo;
      const transA = Boolean(attrs?.transposeA);
      const transB = Boolean(attrs?.transposeB);
      const leadingOnes = (shape: number[]) => shape.slice(0, -2).every((d) => d === 1);
      const fits = useNative && a.dtype === 'float32' && b.dtype === 'float32' &&
        a.shape.length >= 2 && b.shape.length >= 2 && a.shape.length === b.shape.length &&
        leadingOnes(a.shape) && leadingOnes(b.shape);
      if (!fits) return stock.kernelFunc(args);
      const ra = a.shape.length;
      const aRows = a.shape[ra - 2] as number;
      const aCols = a.shape[ra - 1] as number;
      const bRows = b.shape[ra - 2] as number;
      const bCols = b.shape[ra - 1] as number;
      const M = transA ? aCols : aRows;
      const K = transA ? aRows : aCols;
      const N = transB ? bRows : bCols;
      const Kb = transB ? bCols : bRows;
      if (K !== Kb) {
        throw new Error(`Error in matMul: inner shapes (${K}) and (${Kb}) of Tensors with shapes ${a.shape} and ` +
          `${b.shape} and transposeA=${transA} and transposeB=${transB} must match.`);
      }
      const out = backend.makeOutput([...a.shape.slice(0, -2), M, N], 'float32');
      if (M > 0 && N > 0) {
        const outView = heapView(backend, out);
        if (K === 0) outView.fill(0);
        else native.sgemm(transA, transB, M, N, K, 1, heapView(backend, a), aCols, heapView(backend, b), bCols, 0,
          outView, N);
      }
      nativeCalls++;
      return out;
    },
  });
}
