// The wasm backend's Identity kernel copies its input. tfjs calls it for every tensor it saves for the
// backward pass (engine.clone), which copied ~70 MB per DAGNN training step, weights included. Tensors are
// immutable in tfjs, so the output can share the input's memory, as the cpu backend and the wasm Reshape
// kernel already do. The one writer in place, xmodal's fused Adam, checks for sharing first (src/engine/adam.ts).
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

let installed = false;

export function installSharedIdentity(): void {
  if (installed) return;
  const stock = tf.getKernel('Identity', 'wasm');
  if (!stock) throw new Error('wasm backend has no Identity kernel to replace');
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({
    kernelName: 'Identity',
    backendName: 'wasm',
    kernelFunc: (args) => {
      const x = args.inputs.x as tf.TensorInfo;
      if (x.dtype === 'string') return stock.kernelFunc(args);
      (args.backend as BackendWasm).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  });
  installed = true;
}

/** Whether other tensors share this tensor's memory (so an in-place write would change them too). */
export function isShared(backend: BackendWasm, t: tf.TensorInfo): boolean {
  return backend.refCount(t.dataId) > 1;
}
