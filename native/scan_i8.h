// Approximate scores against int8 codes of unit vectors (one scale per row: x ~= code x scale), for the exact
// engine's first pass: a quarter of float32's memory traffic, which is what bounds a single query's scan. The
// caller turns the approximation into exact results (index/engines.ts): every row whose score could still be in
// the top k, given the error bound of its codes, is scored again in float32.
#pragma once
#include <cstdint>

#include "parallel.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace scan {

// Portable rows: out[r] = scale[r] * sum_i q[i] * code[r][i] for rows [first, last).
inline void RowsPlain(const float *q, const int8_t *codes, const float *scales, int64_t d, int64_t first, int64_t last, float *out) {
  for (int64_t r = first; r < last; ++r) {
    const int8_t *x = codes + r * d;
    float s = 0;
    for (int64_t i = 0; i < d; ++i) s += q[i] * float(x[i]);
    out[r] = s * scales[r];
  }
}

#if defined(__x86_64__)
// AVX2 + FMA: 32 codes a step into four accumulators (the FMA latency hidden), summed in a fixed order.
__attribute__((target("avx2,fma"))) void RowsAvx2(const float *q, const int8_t *codes, const float *scales, int64_t d, int64_t first, int64_t last, float *out) {
  const int64_t d32 = d - d % 32;
  for (int64_t r = first; r < last; ++r) {
    const int8_t *x = codes + r * d;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    for (int64_t i = 0; i < d32; i += 32) {
      const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i *>(x + i));
      const __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i *>(x + i + 16));
      a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo)), a0);
      a1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8))), a1);
      a2 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 16), _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi)), a2);
      a3 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 24), _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8))), a3);
    }
    const __m256 sum = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, sum);
    float s = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
    for (int64_t i = d32; i < d; ++i) s += q[i] * float(x[i]);
    out[r] = s * scales[r];
  }
}
#endif

// float32 rows, the exact scores of single queries: one dot product per row in a fixed order (four 8-lane
// accumulators where AVX2 is, a plain loop elsewhere), so a row's score is the same bits whether all rows are
// scanned or a few candidates (OpenBLAS picks its kernel, and its summation order, by the product's shape).
inline float DotPlain(const float *q, const float *x, int64_t d) {
  float s = 0;
  for (int64_t i = 0; i < d; ++i) s += q[i] * x[i];
  return s;
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) float DotAvx2(const float *q, const float *x, int64_t d) {
  const int64_t d32 = d - d % 32;
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
  for (int64_t i = 0; i < d32; i += 32) {
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), _mm256_loadu_ps(x + i), a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), _mm256_loadu_ps(x + i + 8), a1);
    a2 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 16), _mm256_loadu_ps(x + i + 16), a2);
    a3 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 24), _mm256_loadu_ps(x + i + 24), a3);
  }
  const __m256 sum = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, sum);
  float s = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
  for (int64_t i = d32; i < d; ++i) s += q[i] * x[i];
  return s;
}
#endif

inline float Dot(const float *q, const float *x, int64_t d) {
#if defined(__x86_64__)
  static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (avx2) return DotAvx2(q, x, d);
#endif
  return DotPlain(q, x, d);
}

// out[i] = q . data[rows[i]] (rows given) or q . data[i] (rows null), for i in [0, n).
inline void ScanF32(const float *q, const float *data, const int32_t *rows, int64_t n, int64_t d, float *out) {
  ParallelRanges(size_t(n), size_t(4096), [&](size_t first, size_t last) {
    for (size_t i = first; i < last; ++i) out[i] = Dot(q, data + int64_t(rows ? rows[i] : int32_t(i)) * d, d);
  }, SIZE_MAX);
}

inline void Rows(const float *q, const int8_t *codes, const float *scales, int64_t d, int64_t first, int64_t last, float *out) {
#if defined(__x86_64__)
  static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (avx2) return RowsAvx2(q, codes, scales, d, first, last, out);
#endif
  RowsPlain(q, codes, scales, d, first, last, out);
}

inline void Scan(const float *q, const int8_t *codes, const float *scales, int64_t n, int64_t d, float *out) {
  ParallelRanges(size_t(n), size_t(4096), [&](size_t first, size_t last) { Rows(q, codes, scales, d, int64_t(first), int64_t(last), out); }, SIZE_MAX);
}

}  // namespace scan
