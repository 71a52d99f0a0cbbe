// Health report of the numeric engine: what `xmodal doctor` prints.
import { initEngine, tf } from './engine.js';
import { nativeMatMulCalls } from './matmul-kernel.js';

export interface DoctorReport {
  node: string;
  nodeOk: boolean;
  backend: string;
  wasmSimd: boolean;
  native: { loaded: boolean; reason: string };
  blas: { core: string; threads: number; coreType: string | undefined; chosenByXmodal: boolean } | undefined;
  matmulCheck: { ok: boolean; maxError: number; usedNative: boolean };
  sgemm: { shape: string; gflops: number; runs: number; seconds: number };
  ok: boolean;
}

function nodeVersionOk(version: string): boolean {
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
  return major > 20 || (major === 20 && minor >= 19);
}

/** A product with a known answer: catches a broken BLAS or a wrong kernel override. */
function checkMatMul(): { ok: boolean; maxError: number; usedNative: boolean } {
  const before = nativeMatMulCalls();
  const n = 33;
  const result = tf.tidy(() => {
    const a = tf.range(0, n * n).reshape([n, n]).div(n * n);
    const b = tf.eye(n).mul(2);
    return tf.sub(tf.matMul(a, b, true, false), tf.mul(tf.transpose(a), 2)).abs().max().dataSync()[0] as number;
  });
  return { ok: result < 1e-5, maxError: result, usedNative: nativeMatMulCalls() > before };
}

function measureSgemm(seconds: number): { shape: string; gflops: number; runs: number; seconds: number } {
  const [m, k, n] = [512, 1024, 1024];
  const a = tf.randomUniform([m, k], -1, 1, 'float32', 1);
  const b = tf.randomUniform([k, n], -1, 1, 'float32', 2);
  // Not tf.tidy(() => ....dataSync()): tidy walks a returned typed array key by key, which costs more than the product.
  const once = () => {
    const c = tf.matMul(a, b);
    c.dataSync();
    c.dispose();
  };
  once(); // warm-up
  let runs = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    once();
    runs++;
  }
  const elapsed = (performance.now() - start) / 1000;
  tf.dispose([a, b]);
  return { shape: `${m}x${k} @ ${k}x${n}`, gflops: (2 * m * k * n * runs) / elapsed / 1e9, runs, seconds: elapsed };
}

export async function runDoctor(seconds = 2): Promise<DoctorReport> {
  const info = await initEngine({ quiet: true });
  const matmulCheck = checkMatMul();
  const sgemm = measureSgemm(seconds);
  const node = process.version;
  const report: DoctorReport = {
    node,
    nodeOk: nodeVersionOk(node),
    backend: info.backend,
    wasmSimd: info.wasmSimd,
    native: { loaded: info.native.loaded, reason: info.native.reason },
    blas: info.blas && { ...info.blas, coreType: info.native.coreType, chosenByXmodal: info.native.coreTypeChosenByXmodal },
    matmulCheck,
    sgemm,
    ok: false,
  };
  report.ok = report.nodeOk && info.backend === 'wasm' && matmulCheck.ok;
  return report;
}

export function formatDoctor(r: DoctorReport): string {
  const mark = (ok: boolean) => (ok ? 'ok  ' : 'FAIL');
  return [
    `${mark(r.nodeOk)} node ${r.node} (needs >= 20.19)`,
    `${mark(r.backend === 'wasm')} tfjs backend: ${r.backend}${r.wasmSimd ? ' (SIMD)' : ''}`,
    r.native.loaded
      ? `ok   native kernels: loaded (OpenBLAS core ${r.blas?.core}, ${r.blas?.threads} thread${r.blas?.threads === 1 ? '' : 's'} (XMODAL_THREADS), OPENBLAS_CORETYPE=${r.blas?.coreType ?? 'unset'}${r.blas?.chosenByXmodal ? ', chosen by xmodal' : ''})`
      : `warn native kernels: not loaded (${r.native.reason}); plain wasm, slower but correct`,
    `${mark(r.matmulCheck.ok)} matMul check: max error ${r.matmulCheck.maxError.toExponential(2)}${r.matmulCheck.usedNative ? ' (native sgemm)' : ' (wasm kernel)'}`,
    `ok   sgemm ${r.sgemm.shape}: ${r.sgemm.gflops.toFixed(1)} GFLOP/s (${r.sgemm.runs} runs in ${r.sgemm.seconds.toFixed(1)} s)`,
    r.ok ? 'engine ok' : 'engine BROKEN',
  ].join('\n');
}
