// Training-mode batch norm as two kernels of the addon (native/batch_norm.h), forward and backward, for
// engine/ops.ts's batchNormTraining: a dozen wasm kernels each way before, eight batch norms in a DAGNN-family step.
// The forward outputs are the bits of the op-by-op form; the kernels have no tfjs gradient of their own, since
// batchNormTraining gives the op its written-out gradient through the backward kernel.
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapView } from './matmul-kernel.js';
import type { NativeKernels } from './native.js';

export const BATCH_NORM = 'XmodalBatchNorm';
export const BATCH_NORM_GRAD = 'XmodalBatchNormGrad';
let installed = false;
let calls = 0;

/** Forward and backward passes the native kernels have computed: lets tests prove they ran. */
export function nativeBatchNormCalls(): number {
  return calls;
}

/** Whether the native kernels are registered (initEngine with the addon loaded). */
export function nativeBatchNorm(): boolean {
  return installed && tf.getBackend() === 'wasm';
}

export function installNativeBatchNorm(native: NativeKernels): void {
  if (installed) return;
  tf.registerKernel({
    kernelName: BATCH_NORM,
    backendName: 'wasm',
    // inputs x (rows x cols), gamma, beta (cols); attrs eps. Outputs y, mean, variance, xhat, invStd.
    kernelFunc: ({ inputs, attrs, backend }) => {
      const b = backend as BackendWasm;
      const x = inputs.x as tf.TensorInfo;
      const [rows, cols] = x.shape as [number, number];
      const y = b.makeOutput([rows, cols], 'float32');
      const xhat = b.makeOutput([rows, cols], 'float32');
      const [mean, variance, invStd] = [0, 1, 2].map(() => b.makeOutput([cols], 'float32')) as [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo];
      native.batchNormForward(heapView(b, x), rows, cols, heapView(b, inputs.gamma as tf.TensorInfo), heapView(b, inputs.beta as tf.TensorInfo),
        (attrs as { eps: number }).eps, heapView(b, y), heapView(b, mean), heapView(b, variance), heapView(b, xhat), heapView(b, invStd));
      calls++;
      return [y, mean, variance, xhat, invStd];
    },
  });
  tf.registerKernel({
    kernelName: BATCH_NORM_GRAD,
    backendName: 'wasm',
    // inputs dy, xhat (rows x cols), invStd, gamma (cols). Outputs dx, dgamma, dbeta.
    kernelFunc: ({ inputs, backend }) => {
      const b = backend as BackendWasm;
      const dy = inputs.dy as tf.TensorInfo;
      const [rows, cols] = dy.shape as [number, number];
      const dx = b.makeOutput([rows, cols], 'float32');
      const dgamma = b.makeOutput([cols], 'float32');
      const dbeta = b.makeOutput([cols], 'float32');
      native.batchNormBackward(heapView(b, dy), heapView(b, inputs.xhat as tf.TensorInfo), heapView(b, inputs.invStd as tf.TensorInfo),
        heapView(b, inputs.gamma as tf.TensorInfo), rows, cols, heapView(b, dx), heapView(b, dgamma), heapView(b, dbeta));
      calls++;
      return [dx, dgamma, dbeta];
    },
  });
  installed = true;
}
