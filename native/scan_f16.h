// Exact single queries on collections below the int8 pass's size, through half-precision (IEEE binary16) copies
// of the rows first. A single query's scan reads every row, and on 2 cores the Wikipedia index's two modalities
// (2 x 2,866 x 1,024 float32, 23 MB) do not stay in cache between queries: the scan ran at DRAM speed, 440-490 us.
// Halves are half the traffic, and their error is relative, so the bound below stays tight (a few 1e-4 for unit
// vectors) where the int8 codes' bound (about 0.02 at 1,024-d) took in most rows of a collection whose best scores
// lie close together. The halves only choose candidates: every row whose float32 score could still be in the top
// k is scored again with scan::Dot, the full scan's own fixed-order product, so ids and scores are the full scan's.
//
// Error bound. h = half(x) rounds to nearest: |x - h| <= 2^-11 |x| for |x| >= 2^-14, and <= 2^-25 below (the
// subnormal step is 2^-24), so |q.x - q.h| <= 2^-11 ||q||_2 ||x||_2 + 2^-25 ||q||_1 (Cauchy-Schwarz). Both q.h and
// the exact q.x are float32 sums, whose rounding is bounded below (plus the caller's margin, per ||q|| ||x||). Rows
// whose halves overflow (|x| > 65,504) get an infinite norm, so they are always candidates.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <vector>

#include "batch_search.h"
#include "parallel.h"
#include "scan_i8.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace half {

// float -> binary16, round to nearest even (NaN stays NaN, overflow gives infinity).
inline uint16_t FromFloat(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) return uint16_t(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
  if (abs >= 0x477ff000u) return uint16_t(sign | 0x7c00u);  // rounds to 65,520 or more: infinity
  if (abs >= 0x38800000u) {  // normal half: drop 13 mantissa bits, ties to even (a carry may raise the exponent)
    const uint32_t rounded = abs + 0xfffu + ((abs >> 13) & 1u);
    return uint16_t(sign | ((rounded - 0x38000000u) >> 13));
  }
  if (abs < 0x33000000u) return uint16_t(sign);  // below half the smallest subnormal: zero
  // Subnormal half: the value in units of 2^-24, rounded to nearest even.
  const uint32_t exp = abs >> 23, mant = (abs & 0x7fffffu) | 0x800000u;
  const uint32_t shift = 126u - exp;  // 14..24
  const uint32_t q = mant >> shift, rest = mant & ((1u << shift) - 1u), halfway = 1u << (shift - 1u);
  return uint16_t(sign | (q + (rest > halfway || (rest == halfway && (q & 1u)))));
}

inline float ToFloat(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
  uint32_t x;
  if (exp == 0x1fu) x = sign | 0x7f800000u | (mant << 13);
  else if (exp) x = sign | ((exp + 112u) << 23) | (mant << 13);
  else if (mant == 0) x = sign;
  else {
    float f = std::ldexp(float(mant), -24);  // exact
    std::memcpy(&x, &f, 4);
    x |= sign;
  }
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

// Halves of n x d rows and each row's float32 L2 norm, rounded up (infinite where a half overflows).
inline void Encode(const float *rows, int64_t n, int64_t d, uint16_t *halves, float *norms) {
  for (int64_t r = 0; r < n; ++r) {
    double sum = 0;
    bool overflow = false;
    for (int64_t i = 0; i < d; ++i) {
      const float x = rows[r * d + i];
      const uint16_t h = FromFloat(x);
      halves[r * d + i] = h;
      overflow |= (h & 0x7c00u) == 0x7c00u && !std::isnan(x);
      sum += double(x) * double(x);
    }
    norms[r] = overflow ? INFINITY : float(std::sqrt(sum) * (1 + 1e-6));
  }
}

inline float DotPlain(const float *q, const uint16_t *h, int64_t d) {
  float s = 0;
  for (int64_t i = 0; i < d; ++i) s += q[i] * ToFloat(h[i]);
  return s;
}

#if defined(__x86_64__)
// vcvtph2ps converts exactly, so the vector paths differ from the plain one only in summation order (in the margin).
__attribute__((target("avx512f"))) inline void RowsAvx512(const float *q, const uint16_t *h, int64_t d, int64_t first, int64_t last, float *out) {
  const int64_t d32 = d - d % 32;
  for (int64_t r = first; r < last; ++r) {
    const uint16_t *x = h + r * d;
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    for (int64_t i = 0; i < d32; i += 32) {
      a0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(x + i))), a0);
      a1 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i + 16), _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(x + i + 16))), a1);
    }
    float s = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
    for (int64_t i = d32; i < d; ++i) s += q[i] * ToFloat(x[i]);
    out[r] = s;
  }
}

__attribute__((target("avx2,fma,f16c"))) inline void RowsAvx2(const float *q, const uint16_t *h, int64_t d, int64_t first, int64_t last, float *out) {
  const int64_t d16 = d - d % 16;
  for (int64_t r = first; r < last; ++r) {
    const uint16_t *x = h + r * d;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    for (int64_t i = 0; i < d16; i += 16) {
      a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(x + i))), a0);
      a1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(x + i + 8))), a1);
    }
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, _mm256_add_ps(a0, a1));
    float s = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
    for (int64_t i = d16; i < d; ++i) s += q[i] * ToFloat(x[i]);
    out[r] = s;
  }
}
#endif

// out[r] ~= q . row r, from the halves, for rows [first, last).
inline void Rows(const float *q, const uint16_t *h, int64_t d, int64_t first, int64_t last, float *out) {
#if defined(__x86_64__)
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
  if (avx512) return RowsAvx512(q, h, d, first, last, out);
  if (avx2) return RowsAvx2(q, h, d, first, last, out);
#endif
  for (int64_t r = first; r < last; ++r) out[r] = DotPlain(q, h + r * d, d);
}

// The k best allowed rows of one query (order as topk.ts: higher score first, ties to the lower position, NaN
// skipped) into outPos/outScore. Returns the number of rows scored again in float32, or -1 when fewer than k
// allowed rows have a finite approximation (the caller then runs the full scan, which handles those cases).
// boundScale multiplies the halves' error bound (1; 0 only in a test's control); margin is per ||q|| ||x||.
inline int64_t Search(const float *q, const uint16_t *halves, const float *norms, const float *data, int64_t n, int64_t d,
                      int64_t k, const uint8_t *allowed, double boundScale, double margin, int32_t *outPos, float *outScore) {
  double q2 = 0, q1 = 0;
  for (int64_t i = 0; i < d; ++i) q2 += double(q[i]) * q[i], q1 += std::fabs(double(q[i]));
  q2 = std::sqrt(q2);
  std::vector<float> approx(static_cast<size_t>(n));
  ParallelRanges(size_t(n), size_t(4096), [&](size_t first, size_t last) { Rows(q, halves, d, int64_t(first), int64_t(last), approx.data()); }, SIZE_MAX);
  // Rounding: each float32 sum of d products is within (d + 1) 2^-24 sum |q_i x_i| <= (d + 1) 2^-24 ||q|| ||x|| of
  // its real value, whatever the order; two such sums (approximate and exact) per row.
  const double rounding = double(d + 2) * std::ldexp(1.0, -23);
  const double relative = (boundScale * (std::ldexp(1.0, -11) + rounding) + margin) * q2, absolute = boundScale * std::ldexp(1.0, -25) * q1;
  auto bound = [&](int64_t r) { return relative * double(norms[r]) + absolute; };
  // L: the k-th best lower bound (a min-heap of k; a NaN row has none and is skipped, as the full scan skips it).
  std::vector<double> low;
  low.reserve(size_t(k));
  for (int64_t r = 0; r < n; ++r) {
    if (allowed && !allowed[r]) continue;
    const double v = double(approx[size_t(r)]) - bound(r);
    if (!(v > -INFINITY)) continue;
    if (int64_t(low.size()) < k) {
      low.push_back(v);
      std::push_heap(low.begin(), low.end(), std::greater<double>());
    } else if (v > low.front()) {
      std::pop_heap(low.begin(), low.end(), std::greater<double>());
      low.back() = v;
      std::push_heap(low.begin(), low.end(), std::greater<double>());
    }
  }
  if (int64_t(low.size()) < k) return -1;
  const double L = low.front();
  // Every allowed row not proven below L is a candidate (a NaN or infinite bound included), scored in slot order.
  std::vector<batch::Hit> heap;
  heap.reserve(size_t(k));
  int64_t scored = 0;
  for (int64_t r = 0; r < n; ++r) {
    if ((allowed && !allowed[r]) || double(approx[size_t(r)]) + bound(r) < L) continue;
    ++scored;
    const float s = scan::Dot(q, data + r * d, d);
    if (std::isnan(s)) continue;
    const batch::Hit hit{s, int32_t(r)};
    if (int64_t(heap.size()) < k) {
      heap.push_back(hit);
      std::push_heap(heap.begin(), heap.end(), batch::Better);
    } else if (batch::Worse(heap.front(), hit)) {
      std::pop_heap(heap.begin(), heap.end(), batch::Better);
      heap.back() = hit;
      std::push_heap(heap.begin(), heap.end(), batch::Better);
    }
  }
  std::sort(heap.begin(), heap.end(), batch::Better);
  for (int64_t i = 0; i < k; ++i) {
    outPos[i] = i < int64_t(heap.size()) ? heap[size_t(i)].position : -1;
    outScore[i] = i < int64_t(heap.size()) ? heap[size_t(i)].score : NAN;
  }
  return scored;
}

}  // namespace half
