// Kernels for image networks (the featurisers' CNNs), which the wasm backend runs slowly.
// Pointwise (1 x 1) convolutions on OpenBLAS. In NHWC a 1 x 1 convolution with stride 1 is one product,
// [N*H*W, Cin] x [Cin, Cout]; MobileNetV2 spends most of its time in them, and the wasm backend runs them
// single-threaded at 128-bit SIMD while sgemm uses every core at the machine's full vector width
// (bench: media-image-forward). Anything else (other filter sizes, strides, dilations, activations) goes to the
// stock kernel (batch norm is folded into the convolutions at load instead: features/fold-batch-norm.ts). Like matmul-kernel.ts this reads wasm-backend heap views, hence the exact pin of the backend.
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapView } from './matmul-kernel.js';
import type { NativeKernels } from './native.js';

const stock = new Map<string, tf.KernelConfig>();
let useNative = true;
let nativeCalls = 0;

/** Number of convolutions the native path has computed (tests prove the override is active). */
export function nativeConvCalls(): number {
  return nativeCalls;
}

/** Switch between sgemm and the stock wasm kernels (for comparisons); returns the previous setting. */
export function setNativeConv(enabled: boolean): boolean {
  const previous = useNative;
  useNative = enabled;
  return previous;
}

const ACTIVATIONS = new Set(['linear', 'relu', 'relu6']);

function activate(out: Float32Array, activation: string): void {
  if (activation === 'relu') for (let i = 0; i < out.length; i++) out[i] = Math.max(0, out[i]!);
  else if (activation === 'relu6') for (let i = 0; i < out.length; i++) out[i] = Math.min(6, Math.max(0, out[i]!));
}

function pointwise(native: NativeKernels, name: 'Conv2D' | 'FusedConv2D', kernel: tf.KernelConfig): tf.KernelFunc {
  return (args) => {
    const { inputs, attrs } = args;
    const backend = args.backend as BackendWasm;
    const x = inputs.x as tf.TensorInfo;
    const filter = inputs.filter as tf.TensorInfo;
    const bias = inputs.bias as tf.TensorInfo | undefined;
    const a = (attrs ?? {}) as { strides?: number | number[]; dilations?: number | number[]; dataFormat?: string; activation?: string; pad?: unknown };
    const ones = (v: number | number[] | undefined) => v === undefined || (Array.isArray(v) ? v.every((d) => d === 1) : v === 1);
    const activation = name === 'FusedConv2D' ? (a.activation ?? 'linear') : 'linear';
    const [kh, kw, cin, cout] = filter.shape as [number, number, number, number];
    const fits = useNative && x.dtype === 'float32' && filter.dtype === 'float32' && x.shape.length === 4 &&
      kh === 1 && kw === 1 && ones(a.strides) && ones(a.dilations) && (a.dataFormat ?? 'NHWC') !== 'NCHW' &&
      (a.pad === 'same' || a.pad === 'valid') && ACTIVATIONS.has(activation) && !inputs.preluActivationWeights &&
      (!bias || (bias.dtype === 'float32' && bias.shape.length === 1 && bias.shape[0] === cout)) && x.shape[3] === cin;
    if (!fits) return kernel.kernelFunc(args);
    const [n, h, w] = x.shape as [number, number, number, number];
    const rows = n * h * w;
    const out = backend.makeOutput([n, h, w, cout], 'float32');
    if (rows > 0 && cout > 0) {
      const o = heapView(backend, out);
      // The bias goes in as C's initial rows (block copies), and sgemm adds the product to it (beta 1).
      if (bias) {
        const b = Float32Array.from(heapView(backend, bias));
        for (let r = 0; r < rows; r++) o.set(b, r * cout);
      }
      // One product per image, not one over the batch: OpenBLAS picks its kernel (and so its summation order) by
      // the product's shape, and an image's features must not depend on which batch it came in (the import's
      // cache is keyed by the file alone; a query photo is featurised alone).
      const input = heapView(backend, x);
      const weights = heapView(backend, filter);
      const per = h * w;
      for (let i = 0; i < n; i++) {
        native.sgemm(false, false, per, cout, cin, 1, input.subarray(i * per * cin, (i + 1) * per * cin), cin, weights, cout, bias ? 1 : 0, o.subarray(i * per * cout, (i + 1) * per * cout), cout);
      }
      activate(o, activation);
    }
    nativeCalls++;
    return out;
  };
}

export function installImageKernels(native: NativeKernels): void {
  if (stock.size) return;
  for (const name of ['Conv2D', 'FusedConv2D'] as const) {
    const kernel = tf.getKernel(name, 'wasm');
    if (!kernel) throw new Error(`wasm backend has no ${name} kernel to replace`);
    stock.set(name, kernel);
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: pointwise(native, name, kernel) });
  }
}
