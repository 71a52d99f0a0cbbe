// One place that starts the numeric engine: tfjs on the wasm backend, with xmodal's native kernels when the
// addon is available. Every entry point (CLI, trainer, tests, benchmarks) calls initEngine() first.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { installSharedIdentity } from './identity-kernel.js';
import { installNativeActivations } from './activation-kernels.js';
import { installNativeBatchNorm } from './batchnorm-kernel.js';
import { installImageKernels } from './cnn-kernels.js';
import { installNativeMatMul } from './matmul-kernel.js';
import { installNativeColumnReductions } from './reduce-kernel.js';
import { installNativeSimilarity } from './similarity-kernel.js';
import { loadNative, type NativeKernels, type NativeStatus } from './native.js';
import { UserError } from '../errors.js';

export interface EngineInfo {
  backend: string;
  wasmSimd: boolean;
  native: NativeStatus;
  blas: { core: string; threads: number; blasThreads: number } | undefined;
}

let started: Promise<EngineInfo> | undefined;
let warned = false;

export function nativeKernels(): NativeKernels | null {
  return loadNative().kernels;
}

async function start(quiet: boolean): Promise<EngineInfo> {
  // The addon reads XMODAL_THREADS itself and would quietly use every core for a value it cannot parse.
  const threads = process.env.XMODAL_THREADS;
  if (threads !== undefined && !/^[1-9]\d*$/.test(threads)) throw new UserError(`XMODAL_THREADS must be a positive integer, not '${threads}'`);
  const { kernels, status } = loadNative();
  if (!(await tf.setBackend('wasm'))) throw new Error('the tfjs wasm backend failed to initialise');
  await tf.ready();
  installSharedIdentity();
  if (kernels) {
    installNativeMatMul(kernels);
    installImageKernels(kernels);
    installNativeColumnReductions(kernels);
    installNativeBatchNorm(kernels);
    installNativeActivations(kernels);
    installNativeSimilarity(kernels);
  } else if (!quiet && !warned) {
    warned = true;
    console.warn(`xmodal: native kernels unavailable (${status.reason}); running on plain wasm, slower but correct`);
  }
  return {
    backend: tf.getBackend(),
    wasmSimd: Boolean(tf.env().get('WASM_HAS_SIMD_SUPPORT')),
    native: status,
    // The settings only (info() also carries counters such as wideThinProducts, which are for tests).
    blas: kernels ? (({ core, threads, blasThreads }) => ({ core, threads, blasThreads }))(kernels.info()) : undefined,
  };
}

/** Idempotent; `quiet` suppresses the one-line fallback warning (doctor prints the reason itself). */
export function initEngine(options: { quiet?: boolean } = {}): Promise<EngineInfo> {
  started ??= start(options.quiet ?? false);
  return started;
}

export { tf };
