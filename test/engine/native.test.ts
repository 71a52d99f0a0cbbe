import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chooseCoreType, loadNative } from '../../src/engine/native.js';
import { createRng, uniformArray } from '../../src/engine/random.js';

const statusFile = fileURLToPath(new URL('../../../build/native-status.json', import.meta.url));
const built = process.env.XMODAL_NATIVE !== '0' && existsSync(statusFile) && (JSON.parse(readFileSync(statusFile, 'utf8')) as { ok: boolean }).ok;
const { kernels, status } = loadNative();

test('core type follows the CPU flags', () => {
  assert.equal(chooseCoreType('fpu sse avx2 avx512f avx512bw'), 'SKYLAKEX');
  assert.equal(chooseCoreType('fpu sse avx avx2 fma'), 'HASWELL');
  assert.equal(chooseCoreType('fpu sse sse2'), undefined);
});

test('where the addon was built, it is loaded and OpenBLAS runs an optimised core', { skip: !built && 'addon not built here' }, () => {
  assert.equal(status.loaded, true, status.reason);
  assert.ok(kernels);
  const core = kernels.info().core;
  assert.notEqual(core.toLowerCase(), 'prescott', 'OpenBLAS fell back to its SSE3 kernels');
});

/** Row-major op(X) element (r, c) of a stored matrix with leading dimension ld. */
function at(x: Float32Array, trans: boolean, ld: number, r: number, c: number): number {
  return x[trans ? c * ld + r : r * ld + c] as number;
}

test('sgemm matches a float64 reference for every transpose case and odd shapes', { skip: !kernels && status.reason }, () => {
  const rng = createRng(7);
  for (const [M, N, K] of [[1, 1, 1], [3, 5, 7], [17, 1, 33], [64, 31, 5], [129, 65, 257]] as const) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const pad = 3; // leading dimensions wider than the rows prove strides are honoured
        const lda = (transA ? M : K) + pad;
        const ldb = (transB ? K : N) + pad;
        const ldc = N + pad;
        const A = uniformArray(rng, (transA ? K : M) * lda);
        const B = uniformArray(rng, (transB ? N : K) * ldb);
        const C = uniformArray(rng, M * ldc);
        const C0 = C.slice();
        kernels!.sgemm(transA, transB, M, N, K, 0.5, A, lda, B, ldb, 2, C, ldc);
        let worst = 0;
        for (let i = 0; i < M; i++) {
          for (let j = 0; j < N; j++) {
            let s = 0;
            let mag = 0;
            for (let k = 0; k < K; k++) {
              const p = at(A, transA, lda, i, k) * at(B, transB, ldb, k, j);
              s += p;
              mag += Math.abs(p);
            }
            const ref = 0.5 * s + 2 * (C0[i * ldc + j] as number);
            const scale = 0.5 * mag + 2 * Math.abs(C0[i * ldc + j] as number);
            worst = Math.max(worst, Math.abs((C[i * ldc + j] as number) - ref) / scale);
          }
          for (let j = N; j < ldc; j++) assert.equal(C[i * ldc + j], C0[i * ldc + j], 'padding was written');
        }
        assert.ok(worst < 1e-5, `M=${M} N=${N} K=${K} tA=${transA} tB=${transB}: relative error ${worst}`);
      }
    }
  }
});

test('sgemm refuses buffers too small for their shape', { skip: !kernels && status.reason }, () => {
  const small = new Float32Array(5);
  assert.throws(() => kernels!.sgemm(false, false, 2, 2, 3, 1, small, 3, new Float32Array(6), 2, 0, new Float32Array(4), 2),
    /A: buffer too small/);
  assert.throws(() => kernels!.sgemm(false, false, 2, 2, 2, 1, new Float64Array(4) as unknown as Float32Array, 2,
    new Float32Array(4), 2, 0, new Float32Array(4), 2), /A must be a Float32Array/);
});

test('adam gives the bits of a float32 transcription, on a tensor large enough to be split across threads', { skip: !kernels && status.reason }, () => {
  // Every float32 operation transcribed with Math.fround is correctly rounded (double rounding is harmless for
  // + - * / and sqrt from float64), so the vectorised, threaded native loop must agree bit for bit, tails included.
  const n = (1 << 18) + 1237;
  const rng = createRng(11);
  const p = uniformArray(rng, n, -1, 1);
  const g = uniformArray(rng, n, -0.1, 0.1);
  const m = uniformArray(rng, n, -0.01, 0.01);
  const v = uniformArray(rng, n, 0, 1e-4);
  const [lr, b1, b2, eps, step, wd] = [1e-3, 0.5, 0.999, 1e-8, 7, 0.01];
  const f = Math.fround;
  const c1 = f(1 - b1 ** step);
  const c2 = f(1 - b2 ** step);
  const expected = { p: new Float32Array(n), m: new Float32Array(n), v: new Float32Array(n) };
  for (let i = 0; i < n; i++) {
    const pi = p[i] as number;
    const gi = f((g[i] as number) + f(f(wd) * pi));
    const mi = f(f(f(b1) * (m[i] as number)) + f(f(1 - b1) * gi));
    const vi = f(f(f(b2) * (v[i] as number)) + f(f(f(1 - b2) * gi) * gi));
    expected.m[i] = mi;
    expected.v[i] = vi;
    expected.p[i] = f(pi - f(f(f(lr) * f(mi / c1)) / f(f(Math.sqrt(f(vi / c2))) + f(eps))));
  }
  kernels!.adam(p, g, m, v, lr, b1, b2, eps, step, wd);
  for (const [name, got] of [['p', p], ['m', m], ['v', v]] as const) {
    const want = expected[name];
    const bad = got.findIndex((x, i) => x !== want[i]);
    assert.equal(bad, -1, `${name}[${bad}]: ${got[bad]} vs ${want[bad]}`);
  }
});
