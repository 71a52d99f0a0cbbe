// Loads the OpenBLAS addon built by `npm ci` (scripts/build-native.mjs). Where it is missing, callers get
// `kernels: null` and the reason, and run on plain wasm.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export interface NativeKernels {
  /** Row-major C = alpha op(A) op(B) + beta C, op(X) = X or X^T; M x K times K x N. */
  sgemm(
    transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
    A: Float32Array, lda: number, B: Float32Array, ldb: number, beta: number, C: Float32Array, ldc: number,
  ): void;
  /** sgemm on a worker thread; the arrays must not be touched until the promise resolves. */
  sgemmAsync(
    transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
    A: Float32Array, lda: number, B: Float32Array, ldb: number, beta: number, C: Float32Array, ldc: number,
  ): Promise<void>;
  /** In-place bias-corrected Adam step `step` (from 1); weightDecay is added to the gradient as L2. */
  adam(
    param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array,
    lr: number, beta1: number, beta2: number, eps: number, step: number, weightDecay: number,
  ): void;
  /** Ranks each of `rows` rows of n scores: indices by descending score, ties by index, NaN last. */
  rankRows(scores: Float32Array, rows: number, n: number, order: Int32Array, threads: number): void;
  /**
   * One evaluation pass per query for queries start .. start + count - 1 (their count x plan.n scores): grades, ranking
   * and the walk of src/eval/metrics.ts, one row of figures each into out (native/rank.h), on the pool's threads.
   */
  evaluateRows?(scores: Float32Array, count: number, start: number, out: Float64Array, plan: EvaluationPlan): void;
  /** out[j * queries + start + b] = scores[b * n + j] for a count x n block, on the pool's threads. */
  transposeBlock?(scores: Float32Array, count: number, n: number, out: Float32Array, queries: number, start: number): void;
  /**
   * searchBatch's results through int8 codes first (native/batch_coded.h), each score the single-query product's
   * (scanF32); returns the candidates scored in float32, or -1 where the processor lacks AVX-512 VNNI.
   */
  searchBatchCoded?(queries: Float32Array, q: number, data: Float32Array, codes: Int8Array, scales: Float32Array, codeSums: Int32Array, codeNorms: Int32Array, n: number, d: number, k: number, allowed: Uint8Array | null, boundScale: number, margin: number, positions: Int32Array, scores: Float32Array): number;
  /** The k best rows of data (n x d) for each of q queries, best first (ties: lower row), -1 / NaN past the allowed rows (native/batch_search.h). */
  searchBatch?(queries: Float32Array, q: number, data: Float32Array, n: number, d: number, k: number, allowed: Uint8Array | null, positions: Int32Array, scores: Float32Array): void;
  /** out[r] = scales[r] x (query . codes[r]) over n rows of d int8 codes (native/scan_i8.h). */
  scanI8?(query: Float32Array, codes: Int8Array, scales: Float32Array, n: number, d: number, out: Float32Array): void;
  /** out[i] = query . data[rows[i]] (or data[i] with rows null): fixed-order dot products (native/scan_i8.h). */
  scanF32?(query: Float32Array, data: Float32Array, rows: Int32Array | null, n: number, d: number, out: Float32Array): void;
  /** Binary16 copies of n x d rows (round to nearest even) and each row's L2 norm rounded up (native/scan_f16.h). */
  encodeHalves?(rows: Float32Array, n: number, d: number, halves: Uint16Array, norms: Float32Array): void;
  /**
   * One query's exact k best rows through the halves first (native/scan_f16.h), best first (ties: lower row), -1 /
   * NaN past the allowed rows; returns the rows scored in float32, or -1 when fewer than k rows qualify.
   */
  searchHalf?(query: Float32Array, halves: Uint16Array, norms: Float32Array, data: Float32Array, n: number, d: number, k: number, allowed: Uint8Array | null, boundScale: number, margin: number, positions: Int32Array, scores: Float32Array): number;
  /** LAPACK dsyevd in place: w = eigenvalues ascending; row i of a (row-major) = i-th eigenvector. */
  symmetricEigen(a: Float64Array, n: number, w: Float64Array): void;
  /** out[j] = (sum of column j over the rows, in row order) / divisor, for a row-major rows x cols matrix. */
  sumRows(x: Float32Array, rows: number, cols: number, out: Float32Array, divisor: number): void;
  /**
   * One element-wise pass (native/activation.h), the bits of the tfjs kernels: kind 0, out = leakyRelu(x, alpha) (dy
   * unused, pass x); 1, leakyRelu's gradient; 2, relu's gradient.
   */
  activation(kind: 0 | 1 | 2, x: Float32Array, dy: Float32Array, alpha: number, out: Float32Array): void;
  /**
   * Training-mode batch norm over the rows of a rows x cols matrix (native/batch_norm.h): writes y, the column mean
   * and biased variance, xhat and 1 / sqrt(variance + eps); the bits of tf.moments and the affine op by op.
   */
  batchNormForward(x: Float32Array, rows: number, cols: number, gamma: Float32Array, beta: Float32Array, eps: number,
    y: Float32Array, mean: Float32Array, variance: Float32Array, xhat: Float32Array, invStd: Float32Array): void;
  /** Its gradient: dx, dgamma = sum(dy xhat), dbeta = sum(dy). */
  batchNormBackward(dy: Float32Array, xhat: Float32Array, invStd: Float32Array, gamma: Float32Array, rows: number, cols: number,
    dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array): void;
  /**
   * threads: what the addon's parallel loops and products use; blasThreads: OpenBLAS's own (1 while it is split);
   * wideThinProducts: thin products computed by the AVX-512 kernels so far.
   */
  info(): { core: string; threads: number; blasThreads: number; wideThinProducts: number; swappedProducts: number };
  /** Threads the addon may use, 1 to its pool's size (XMODAL_THREADS or the core count). */
  setThreads(threads: number): void;
  /** Products with a small side (native/thin_gemm.h) through xmodal's kernels (default) or OpenBLAS; returns the previous setting. */
  setThinKernels(enabled: boolean): boolean;
  /** The forward thin product and weight gradient through their AVX-512 kernels where the processor has them (default; same bits); returns the previous setting. */
  setWideThinKernels(enabled: boolean): boolean;
  /** Large products split over the addon's threads (default) or threaded by OpenBLAS; returns the previous setting. */
  setBlasSplit(enabled: boolean): boolean;
  /** Split thin op(A) B^T products given to OpenBLAS as C^T = B op(A)^T (default; faster) or as written; returns the previous setting. */
  setBlasSwap(enabled: boolean): boolean;
}

/** What evaluateRows measures (metrics.ts builds it): cut-offs, the curve's ranks, NDCG's tables, the relevance. */
export type EvaluationPlan = {
  n: number; ks: Int32Array; minKR: boolean; curve: Int32Array; gain: Float64Array; discount: Float64Array; exclude: Int32Array | null;
} & NativeRelevance;

/** Relevance as evaluateRows reads it: label bitsets (`words` 32-bit words per row) or group ids. */
export type NativeRelevance =
  | { groups: false; words: number; queryBits: Uint32Array; itemBits: Uint32Array }
  | { groups: true; words: 1; queryGroups: Float64Array; itemGroups: Float64Array };

export interface NativeStatus {
  loaded: boolean;
  /** Why the addon is not in use, or 'loaded'. */
  reason: string;
  /** OPENBLAS_CORETYPE as the library saw it, and whether xmodal chose it. */
  coreType: string | undefined;
  coreTypeChosenByXmodal: boolean;
}

const packageRoot = fileURLToPath(new URL('../../../', import.meta.url));
const addonPath = `${packageRoot}build/Release/xmodal_native.node`;
const buildStatusPath = `${packageRoot}build/native-status.json`;

/**
 * Debian's OpenBLAS 0.3.21 takes current Xeons for "Prescott" (SSE3) and runs 4-5x slower, so name the
 * core from the CPU flags; an explicit value set by the user always wins.
 */
export function chooseCoreType(cpuFlags: string): string | undefined {
  const flags = new Set(cpuFlags.split(/\s+/));
  if (flags.has('avx512f')) return 'SKYLAKEX';
  if (flags.has('avx2')) return 'HASWELL';
  return undefined;
}

function cpuFlags(): string {
  try {
    const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
    return /^flags\s*:(.*)$/m.exec(cpuinfo)?.[1] ?? '';
  } catch {
    return '';
  }
}

function buildFailureReason(): string {
  try {
    const status = JSON.parse(readFileSync(buildStatusPath, 'utf8')) as { ok?: boolean; reason?: string };
    if (status.ok === false && status.reason) return status.reason;
  } catch {
    // no status file: the install script never ran (for example `npm ci --ignore-scripts`)
  }
  return `addon not built (${addonPath} is missing; run npm ci with OpenBLAS installed)`;
}

let cached: { kernels: NativeKernels | null; status: NativeStatus } | undefined;

export function loadNative(): { kernels: NativeKernels | null; status: NativeStatus } {
  if (cached) return cached;
  let chosen = false;
  if (process.env.OPENBLAS_CORETYPE === undefined) {
    const core = chooseCoreType(cpuFlags());
    if (core) {
      process.env.OPENBLAS_CORETYPE = core;
      chosen = true;
    }
  }
  const base = { coreType: process.env.OPENBLAS_CORETYPE, coreTypeChosenByXmodal: chosen };
  if (process.env.XMODAL_NATIVE === '0') {
    cached = { kernels: null, status: { loaded: false, reason: 'disabled by XMODAL_NATIVE=0', ...base } };
  } else if (!existsSync(addonPath)) {
    cached = { kernels: null, status: { loaded: false, reason: buildFailureReason(), ...base } };
  } else {
    try {
      const kernels = createRequire(import.meta.url)(addonPath) as NativeKernels;
      cached = { kernels, status: { loaded: true, reason: 'loaded', ...base } };
    } catch (error) {
      const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
      cached = { kernels: null, status: { loaded: false, reason: `addon failed to load: ${message}`, ...base } };
    }
  }
  return cached;
}
