// I-GNN's learned similarity (graph/label-graph.ts headSimilarity) as one kernel each way instead of the fused op's
// ~160 tfjs kernels of tiny tensors (8 heads of 10 x 100 at the Wikipedia shape): per kernel, tfjs's JavaScript
// cost more than the arithmetic. Each element is computed with the op-by-op form's float32 operations in its order
// (Math.fround after every operation; Sum over a row and the addon's sumRows over a column both add in index order,
// AddN adds its inputs in turn), and both products go through the addon's sgemm with the arguments tf.matMul would
// give it, so forward and gradient are the bits of the fused op they replace (test/engine/fused-gradients.test.ts).
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapView } from './matmul-kernel.js';
import type { NativeKernels } from './native.js';

export const HEAD_SIMILARITY = 'XmodalHeadSimilarity';
export const HEAD_SIMILARITY_GRAD = 'XmodalHeadSimilarityGrad';
const f = Math.fround;
// F.normalize's clamp, as the float32 scalar tf.maximum(x, 1e-12) makes of it.
const CLAMP = f(1e-12);
let installed = false;
let enabled = true;
let calls = 0;

/** Kernel calls so far: lets tests prove the kernels ran. */
export function nativeSimilarityCalls(): number {
  return calls;
}

/** Switches the kernels off (headSimilarity's fused op then runs tfjs kernels) or back on; returns the previous setting. */
export function setNativeSimilarity(on: boolean): boolean {
  const previous = enabled;
  enabled = on;
  return previous;
}

/** Whether headSimilarity may use the kernels (registered with the addon, switched on, wasm backend). */
export function nativeSimilarity(): boolean {
  return installed && enabled && tf.getBackend() === 'wasm';
}

/** Both kernels' sizes: x is C x D, the heads' weights are inputs w0..w{k-1}. */
function sizes(inputs: tf.NamedTensorInfoMap): { C: number; D: number; k: number } {
  const [C, D] = (inputs.x as tf.TensorInfo).shape as [number, number];
  return { C, D, k: Object.keys(inputs).filter((key) => /^w\d+$/.test(key)).length };
}

export function installNativeSimilarity(native: NativeKernels): void {
  if (installed) return;
  tf.registerKernel({
    kernelName: HEAD_SIMILARITY,
    backendName: 'wasm',
    // inputs x (C x D), w0..w{k-1} (D). Outputs S (C x C), the unit rows Yn (k x C x D) and their clamped norms (k x C).
    kernelFunc: ({ inputs, backend }) => {
      const b = backend as BackendWasm;
      const { C, D, k } = sizes(inputs);
      // Outputs first: allocating one can grow the wasm memory, which detaches views taken before.
      const S = b.makeOutput([C, C], 'float32');
      const unit = b.makeOutput([k, C, D], 'float32');
      const norms = b.makeOutput([k, C], 'float32');
      const x = heapView(b, inputs.x as tf.TensorInfo);
      const [s, yn, n] = [heapView(b, S), heapView(b, unit), heapView(b, norms)];
      const product = new Float32Array(C * C);
      s.fill(0);
      for (let h = 0; h < k; h++) {
        const w = heapView(b, inputs[`w${h}`] as tf.TensorInfo);
        const Y = yn.subarray(h * C * D, (h + 1) * C * D);
        for (let i = 0; i < C; i++) {
          // scaled = x w; rowNorms = sqrt(sum(square)); max with the clamp; unit = scaled / norm.
          let sum = 0;
          for (let j = 0; j < D; j++) {
            const y = f(x[i * D + j]! * w[j]!);
            Y[i * D + j] = y;
            sum = f(sum + f(y * y));
          }
          const norm = f(Math.sqrt(sum));
          const clamped = norm > CLAMP ? norm : CLAMP;
          n[h * C + i] = clamped;
          for (let j = 0; j < D; j++) Y[i * D + j] = f(Y[i * D + j]! / clamped);
        }
        // tf.matMul(yn, yn, false, true), then AddN's running sum.
        native.sgemm(false, true, C, C, D, 1, Y, D, Y, D, 0, product, C);
        for (let e = 0; e < C * C; e++) s[e] = f(s[e]! + product[e]!);
      }
      for (let e = 0; e < C * C; e++) s[e] = f(s[e]! / k);
      calls++;
      return [S, unit, norms];
    },
  });
  tf.registerKernel({
    kernelName: HEAD_SIMILARITY_GRAD,
    backendName: 'wasm',
    // inputs dy (C x C), x, unit, norms (the forward's) and w0..w{k-1}. Outputs dx (C x D), dw0..dw{k-1} (D).
    kernelFunc: ({ inputs, backend }) => {
      const b = backend as BackendWasm;
      const { C, D, k } = sizes(inputs);
      const dxInfo = b.makeOutput([C, D], 'float32');
      const dwInfos = Array.from({ length: k }, () => b.makeOutput([D], 'float32'));
      const [x, dy, yn, n] = (['x', 'dy', 'unit', 'norms'] as const).map((key) => heapView(b, inputs[key] as tf.TensorInfo)) as [Float32Array, Float32Array, Float32Array, Float32Array];
      const dx = heapView(b, dxInfo);
      dx.fill(0);
      // sym = (dy + dy^T) / k
      const sym = new Float32Array(C * C);
      for (let i = 0; i < C; i++) for (let j = 0; j < C; j++) sym[i * C + j] = f(f(dy[i * C + j]! + dy[j * C + i]!) / k);
      const dYn = new Float32Array(C * D);
      const dY = new Float32Array(C * D);
      for (let h = 0; h < k; h++) {
        const w = heapView(b, inputs[`w${h}`] as tf.TensorInfo);
        const Y = yn.subarray(h * C * D, (h + 1) * C * D);
        native.sgemm(false, false, C, D, C, 1, sym, C, Y, D, 0, dYn, D);
        for (let i = 0; i < C; i++) {
          // dY = (dYn - Yn (sum(Yn dYn) free)) / norm, free = norm > clamp
          const norm = n[h * C + i]!;
          let dot = 0;
          for (let j = 0; j < D; j++) dot = f(dot + f(Y[i * D + j]! * dYn[i * D + j]!));
          const t = f(dot * (norm > CLAMP ? 1 : 0));
          for (let j = 0; j < D; j++) dY[i * D + j] = f(f(dYn[i * D + j]! - f(Y[i * D + j]! * t)) / norm);
        }
        // dx += dY w (AddN over the heads in turn); dw = column sums of dY x in row order.
        const dw = heapView(b, dwInfos[h]!);
        dw.fill(0);
        for (let i = 0; i < C; i++) {
          for (let j = 0; j < D; j++) {
            const e = i * D + j;
            dx[e] = f(dx[e]! + f(dY[e]! * w[j]!));
            dw[j] = f(dw[j]! + f(dY[e]! * x[e]!));
          }
        }
      }
      calls++;
      return [dxInfo, ...dwInfos];
    },
  });
  installed = true;
}
