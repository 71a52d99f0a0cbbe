// LeakyRelu and the gradients of LeakyRelu and Relu as single addon passes (native/activation.h). tfjs runs
// leakyRelu's gradient as greater(x, 0), mul(dy, alpha) and where (three broadcasting wasm kernels plus a scalar
// tensor) and relu's as step, cast and mul; the wasm LeakyRelu itself took 80 us on 10 x 1024 elements. Same
// float32 arithmetic, so the same bits. Behind the fused-gradients switch, like the other fused blocks: off, the
// stock kernel and gradients run as before (`npm run bench -- full-run` compares the two).
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapView } from './matmul-kernel.js';
import type { NativeKernels } from './native.js';
import { fusedGradients } from './ops.js';

const ACTIVATION_GRAD = 'XmodalActivationGrad';
let installed = false;
let enabled = true;
let calls = 0;

/** Switches the native passes off (the stock kernel and gradients run) or back on; returns the previous setting. */
export function setNativeActivations(on: boolean): boolean {
  const previous = enabled;
  enabled = on;
  return previous;
}

/** Forward and gradient passes the native kernels have computed: lets tests prove they ran. */
export function nativeActivationCalls(): number {
  return calls;
}

export function installNativeActivations(native: NativeKernels): void {
  if (installed) return;
  const stock = tf.getKernel('LeakyRelu', 'wasm');
  const stockLeakyGrad = tf.getGradient('LeakyRelu');
  const stockReluGrad = tf.getGradient('Relu');
  if (!stock || !stockLeakyGrad || !stockReluGrad) throw new Error('tfjs has no LeakyRelu / Relu kernel or gradient to replace');
  const native32 = (...ts: tf.TensorInfo[]) => enabled && fusedGradients() && tf.getBackend() === 'wasm' && ts.every((t) => t.dtype === 'float32');

  tf.unregisterKernel('LeakyRelu', 'wasm');
  tf.registerKernel({
    ...stock,
    kernelFunc: (args) => {
      const x = args.inputs.x as tf.TensorInfo;
      if (!native32(x)) return stock.kernelFunc(args);
      const b = args.backend as BackendWasm;
      const out = b.makeOutput(x.shape, 'float32');
      const xv = heapView(b, x);
      native.activation(0, xv, xv, (args.attrs as { alpha: number }).alpha, heapView(b, out));
      calls++;
      return out;
    },
  });
  // inputs dy, x; attrs kind (1: leakyRelu's gradient, 2: relu's), alpha.
  tf.registerKernel({
    kernelName: ACTIVATION_GRAD,
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const b = backend as BackendWasm;
      const dy = inputs.dy as tf.TensorInfo;
      const { kind, alpha } = attrs as { kind: 1 | 2; alpha: number };
      const out = b.makeOutput(dy.shape, 'float32');
      native.activation(kind, heapView(b, inputs.x as tf.TensorInfo), heapView(b, dy), alpha, heapView(b, out));
      calls++;
      return out;
    },
  });
  const gradient = (config: tf.GradConfig, kind: 1 | 2): tf.GradConfig => ({
    ...config,
    gradFunc: (dy, saved, attrs) => {
      const dyT = dy as tf.Tensor;
      const [x] = saved as [tf.Tensor];
      if (!native32(dyT, x) || dyT.size !== x.size) return config.gradFunc(dy, saved, attrs);
      const alpha = kind === 1 ? (attrs as unknown as { alpha: number }).alpha : 0;
      return { x: () => tf.engine().runKernel(ACTIVATION_GRAD, { dy: dyT, x }, { kind, alpha }) as tf.Tensor };
    },
  });
  tf.registerGradient(gradient(stockLeakyGrad, 1));
  tf.registerGradient(gradient(stockReluGrad, 2));
  installed = true;
}
