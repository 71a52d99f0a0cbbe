// Replaces the wasm backend's Sum and Mean over axis 0 of a float32 matrix (bias, batch-norm and other gradients
// of every training step) with the addon's sumRows. The stock kernels transpose the matrix before reducing each
// row; sumRows adds the rows in the same order with the same rounding, so the result is the same bits.
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapView } from './matmul-kernel.js';
import type { NativeKernels } from './native.js';

let installed = false;
let useNative = true;
let nativeCalls = 0;

/** Number of reductions sumRows has computed: lets tests prove the override is active. */
export function nativeReductionCalls(): number {
  return nativeCalls;
}

/** Switch between sumRows and the stock kernels (for comparisons); returns the previous setting. */
export function setNativeReductions(enabled: boolean): boolean {
  const previous = useNative;
  useNative = enabled;
  return previous;
}

export function installNativeColumnReductions(native: NativeKernels): void {
  if (installed) return;
  for (const kernelName of ['Sum', 'Mean'] as const) {
    const stock = tf.getKernel(kernelName, 'wasm');
    if (!stock) throw new Error(`wasm backend has no ${kernelName} kernel to replace`);
    tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({
      kernelName,
      backendName: 'wasm',
      kernelFunc: (args) => {
        const x = args.inputs.x as tf.TensorInfo;
        const { axis, keepDims } = args.attrs as { axis: number | number[]; keepDims: boolean };
        if (!useNative || x.dtype !== 'float32' || x.shape.length !== 2) return stock.kernelFunc(args);
        const axes = tf.util.parseAxisParam(axis, x.shape);
        if (axes.length !== 1 || axes[0] !== 0) return stock.kernelFunc(args);
        const [rows, cols] = x.shape as [number, number];
        const backend = args.backend as BackendWasm;
        const out = backend.makeOutput(keepDims ? [1, cols] : [cols], 'float32');
        if (cols > 0) native.sumRows(heapView(backend, x), rows, cols, heapView(backend, out), kernelName === 'Mean' ? rows : 1);
        nativeCalls++;
        return out;
      },
    });
  }
  installed = true;
}
