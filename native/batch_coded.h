// Exact top-k for batches of queries on large collections, through int8 codes first. A batch of 128 queries against
// 100,000 x 512 float32 rows is 13 GFLOP, bound by the float32 product's rate (batch_search.h); with both sides as
// int8 codes, AVX-512 VNNI multiplies four byte pairs per lane and instruction, four times the float32 rate. The
// codes only choose candidates: every row whose true score could still be in a query's top k, given the error
// bound of both codes, is scored again in float32 with scan::Dot, the single-query path's own fixed-order product.
// So a batch returns, bit for bit, what the same queries return one at a time.
//
// Error bound. A row x ~= s c (c = round(x / s), |x - s c| <= s / 2 elementwise) and a query y ~= t e (the same
// with its own step t): y.x - t s (e.c) = y.(x - s c) + (y - t e).(s c), so |y.x - t s (e.c)| <= s (||y||_1 +
// t ||c||_1) / 2, plus a margin for float32 rounding (the caller's, as for single queries).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "batch_search.h"
#include "parallel.h"
#include "scan_i8.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace coded {

// Whether this processor has the instructions (vpdpbusd on 512-bit registers); without them batches keep the
// float32 path.
inline bool Supported() {
#if defined(__x86_64__)
  static const bool ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni");
  return ok;
#else
  return false;
#endif
}

#if defined(__x86_64__)
// out[4 i + j] = sum_t q[i][t] x r[j][t] for 4 queries (unsigned bytes: code + 128, zero-padded to a multiple of 64)
// and 4 rows (signed codes, d bytes each), exactly (int32: at most 255 x 127 x d).
__attribute__((target("avx512f,avx512bw,avx512vnni"))) inline void Tile4x4(const uint8_t *const q[4], const int8_t *const r[4], int64_t d, int32_t *out) {
  // Sixteen named accumulators: kept in an array, GCC stored them to the stack on every step.
  __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  __m512i a8 = a0, a9 = a0, a10 = a0, a11 = a0, a12 = a0, a13 = a0, a14 = a0, a15 = a0;
  const uint8_t *q0 = q[0], *q1 = q[1], *q2 = q[2], *q3 = q[3];
  const int8_t *p0 = r[0], *p1 = r[1], *p2 = r[2], *p3 = r[3];
  for (int64_t t = 0; t < d; t += 64) {
    // Past d the rows' bytes load as zeros (and the queries' padding is zero too).
    const __mmask64 m = d - t >= 64 ? ~__mmask64(0) : (__mmask64(1) << (d - t)) - 1;
    const __m512i r0 = _mm512_maskz_loadu_epi8(m, p0 + t), r1 = _mm512_maskz_loadu_epi8(m, p1 + t);
    const __m512i r2 = _mm512_maskz_loadu_epi8(m, p2 + t), r3 = _mm512_maskz_loadu_epi8(m, p3 + t);
    __m512i y = _mm512_loadu_si512(q0 + t);
    a0 = _mm512_dpbusd_epi32(a0, y, r0), a1 = _mm512_dpbusd_epi32(a1, y, r1), a2 = _mm512_dpbusd_epi32(a2, y, r2), a3 = _mm512_dpbusd_epi32(a3, y, r3);
    y = _mm512_loadu_si512(q1 + t);
    a4 = _mm512_dpbusd_epi32(a4, y, r0), a5 = _mm512_dpbusd_epi32(a5, y, r1), a6 = _mm512_dpbusd_epi32(a6, y, r2), a7 = _mm512_dpbusd_epi32(a7, y, r3);
    y = _mm512_loadu_si512(q2 + t);
    a8 = _mm512_dpbusd_epi32(a8, y, r0), a9 = _mm512_dpbusd_epi32(a9, y, r1), a10 = _mm512_dpbusd_epi32(a10, y, r2), a11 = _mm512_dpbusd_epi32(a11, y, r3);
    y = _mm512_loadu_si512(q3 + t);
    a12 = _mm512_dpbusd_epi32(a12, y, r0), a13 = _mm512_dpbusd_epi32(a13, y, r1), a14 = _mm512_dpbusd_epi32(a14, y, r2), a15 = _mm512_dpbusd_epi32(a15, y, r3);
  }
  const __m512i a[16] = {a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15};
  // Sum each accumulator's 16 lanes, all 16 at once: pairs interleaved by 32 then 64 bits leave, in every 128-bit
  // lane, one partial sum of four accumulators in order; adding the four 128-bit lanes (two rounds of
  // shuffle_i32x4) leaves accumulator p in lane p.
  __m512i h[8], g[4];
  for (int p = 0; p < 8; ++p) h[p] = _mm512_add_epi32(_mm512_unpacklo_epi32(a[2 * p], a[2 * p + 1]), _mm512_unpackhi_epi32(a[2 * p], a[2 * p + 1]));
  for (int p = 0; p < 4; ++p) g[p] = _mm512_add_epi32(_mm512_unpacklo_epi64(h[2 * p], h[2 * p + 1]), _mm512_unpackhi_epi64(h[2 * p], h[2 * p + 1]));
  const __m512i x1 = _mm512_add_epi32(_mm512_shuffle_i32x4(g[0], g[1], 0x88), _mm512_shuffle_i32x4(g[0], g[1], 0xDD));
  const __m512i x2 = _mm512_add_epi32(_mm512_shuffle_i32x4(g[2], g[3], 0x88), _mm512_shuffle_i32x4(g[2], g[3], 0xDD));
  _mm512_storeu_si512(out, _mm512_add_epi32(_mm512_shuffle_i32x4(x1, x2, 0x88), _mm512_shuffle_i32x4(x1, x2, 0xDD)));
}

// The bounds of one query against a block of m rows: approx = t s (e.c), err = boundScale s (||y||_1 + t ||c||_1) / 2
// + margin, up = approx + err, lo = approx - err. Its own function so that the loop gets 16 lanes.
__attribute__((target("avx512f"))) inline void Bounds(const int32_t *dots, const float *corr, const float *rowScale, const float *rowNorm, int64_t m,
                                                     float t, float l1, float boundScale, float margin, float *up, float *lo) {
  for (int64_t j = 0; j < m; ++j) {
    const float approx = (float(dots[j]) - corr[j]) * (t * rowScale[j]);
    const float err = boundScale * 0.5f * (rowScale[j] * l1 + t * rowNorm[j]) + margin;
    up[j] = approx + err;
    lo[j] = approx - err;
  }
}

// The first j' >= j with up[j'] not below L (NaN included), or m: most rows of a block cannot reach the top k.
__attribute__((target("avx512f"))) inline int64_t NextAbove(const float *up, int64_t j, int64_t m, float L) {
  const __m512 l = _mm512_set1_ps(L);
  for (; j + 16 <= m; j += 16) {
    const __mmask16 hit = _mm512_cmp_ps_mask(_mm512_loadu_ps(up + j), l, _CMP_NLT_UQ);
    if (hit) return j + __builtin_ctz(unsigned(hit));
  }
  for (; j < m; ++j) if (!(up[j] < L)) return j;
  return m;
}
#endif

// queries q x d (float32), data n x d (float32) with its codes (n x d), scales, code sums and code L1 norms per row;
// allowed: n bytes or null. Writes q x k hits as batch::SearchBatch does (best first; position -1 and NaN past the
// allowed rows) and returns the number of candidates scored in float32. Only where Supported().
inline int64_t SearchBatchCoded(const float *queries, int64_t q, const float *data, const int8_t *codes, const float *scales,
                                const int32_t *codeSums, const int32_t *codeNorms, int64_t n, int64_t d, int64_t k,
                                const uint8_t *allowed, float boundScale, float margin, int32_t *outPos, float *outScore) {
#if defined(__x86_64__)
  using batch::Better;
  using batch::Hit;
  constexpr int64_t kChunk = 256;  // rows per block: their codes (128 KB at 512-d) stay in L2 for all the queries
  const int64_t dp = (d + 63) / 64 * 64, qp = (q + 3) / 4 * 4;
  // Query codes: step t = max |y| / 127, e = round(y / t), stored as e + 128 (vpdpbusd's unsigned operand).
  std::vector<uint8_t> qc(size_t(qp * dp), 0);
  std::vector<float> step(size_t(q), 0), norm1(size_t(q), 0);
  std::vector<char> finite(size_t(q), 1);
  for (int64_t i = 0; i < q; ++i) {
    const float *y = queries + i * d;
    float mx = 0, l1 = 0;
    for (int64_t j = 0; j < d; ++j) mx = std::max(mx, std::fabs(y[j])), l1 += std::fabs(y[j]);
    if (!std::isfinite(mx) || !std::isfinite(l1)) {
      finite[size_t(i)] = 0;  // scored against every allowed row: whatever its scores are, they are the exact ones
      continue;
    }
    const float t = mx / 127;
    step[size_t(i)] = t;
    norm1[size_t(i)] = l1;
    for (int64_t j = 0; j < d; ++j) {
      const int e = t > 0 ? int(std::max(-127.0f, std::min(127.0f, std::nearbyint(y[j] / t)))) : 0;
      qc[size_t(i * dp + j)] = uint8_t(e + 128);
    }
  }

  std::mutex merge;
  // Per query, over all threads: the k best lower bounds each thread kept, and the candidates with their upper bounds.
  std::vector<std::vector<float>> lows{size_t(q)};
  std::vector<std::vector<int32_t>> rows{size_t(q)};
  std::vector<std::vector<float>> uppers{size_t(q)};
  const size_t chunks = size_t((n + kChunk - 1) / kChunk);
  ParallelRanges(chunks, 1, [&](size_t first, size_t last) {
    std::vector<int32_t> dots(size_t(qp * kChunk));
    std::vector<float> up(kChunk), lo(kChunk), rowScale(kChunk), rowNorm(kChunk), corr(kChunk);
    std::vector<std::vector<float>> heaps{size_t(q)};  // min-heaps: the k best lower bounds seen by this thread
    std::vector<std::vector<int32_t>> myRows{size_t(q)};
    std::vector<std::vector<float>> myUppers{size_t(q)};
    const auto greater = std::greater<float>();
    for (size_t c = first; c < last; ++c) {
      const int64_t r0 = int64_t(c) * kChunk, m = std::min(kChunk, n - r0);
      for (int64_t i0 = 0; i0 < qp; i0 += 4) {
        const uint8_t *qs[4] = {&qc[size_t(i0 * dp)], &qc[size_t((i0 + 1) * dp)], &qc[size_t((i0 + 2) * dp)], &qc[size_t((i0 + 3) * dp)]};
        for (int64_t j0 = 0; j0 < m; j0 += 4) {
          const int8_t *rs[4];
          for (int j = 0; j < 4; ++j) rs[j] = codes + (r0 + std::min(j0 + j, m - 1)) * d;  // past the block: its last row again, unused
          alignas(64) int32_t tile[16];
          Tile4x4(qs, rs, d, tile);
          for (int i = 0; i < 4 && i0 + i < q; ++i)
            for (int j = 0; j < 4 && j0 + j < m; ++j) dots[size_t((i0 + i) * kChunk + j0 + j)] = tile[i * 4 + j];
        }
      }
      for (int64_t j = 0; j < m; ++j) {
        rowScale[size_t(j)] = scales[r0 + j];
        rowNorm[size_t(j)] = scales[r0 + j] * float(codeNorms[r0 + j]);
        corr[size_t(j)] = float(128 * codeSums[r0 + j]);  // e + 128 against c: remove 128 x sum(c)
      }
      for (int64_t i = 0; i < q; ++i) {
        std::vector<float> &heap = heaps[size_t(i)];
        auto keep = [&](int64_t j) {
          if (allowed && !allowed[r0 + j]) return;
          myRows[size_t(i)].push_back(int32_t(r0 + j));
          myUppers[size_t(i)].push_back(up[size_t(j)]);
          const float low = lo[size_t(j)];
          if (std::isnan(low)) return;
          if (int64_t(heap.size()) < k) {
            heap.push_back(low);
            std::push_heap(heap.begin(), heap.end(), greater);
          } else if (low > heap.front()) {
            std::pop_heap(heap.begin(), heap.end(), greater);
            heap.back() = low;
            std::push_heap(heap.begin(), heap.end(), greater);
          }
        };
        if (!finite[size_t(i)]) {
          for (int64_t j = 0; j < m; ++j) up[size_t(j)] = INFINITY, lo[size_t(j)] = NAN;
          for (int64_t j = 0; j < m; ++j) keep(j);
          continue;
        }
        Bounds(&dots[size_t(i * kChunk)], corr.data(), rowScale.data(), rowNorm.data(), m, step[size_t(i)], norm1[size_t(i)], boundScale, margin,
               up.data(), lo.data());
        // L, the k-th best lower bound so far, only rises.
        const auto kth = [&] { return int64_t(heap.size()) == k ? heap.front() : -INFINITY; };
        for (int64_t j = NextAbove(up.data(), 0, m, kth()); j < m; j = NextAbove(up.data(), j + 1, m, kth())) keep(j);
      }
    }
    std::lock_guard<std::mutex> lock(merge);
    for (int64_t i = 0; i < q; ++i) {
      lows[size_t(i)].insert(lows[size_t(i)].end(), heaps[size_t(i)].begin(), heaps[size_t(i)].end());
      rows[size_t(i)].insert(rows[size_t(i)].end(), myRows[size_t(i)].begin(), myRows[size_t(i)].end());
      uppers[size_t(i)].insert(uppers[size_t(i)].end(), myUppers[size_t(i)].begin(), myUppers[size_t(i)].end());
    }
  }, WorkerPool::Instance().Cores());

  // The k-th best lower bound over all rows is a floor under the k-th best true score: a row whose upper bound is
  // below it cannot be in the top k. The rest are scored in float32 (the single-query path's product) and ranked.
  std::vector<int64_t> scored(size_t(q), 0);
  ParallelRanges(size_t(q), 1, [&](size_t first, size_t last) {
    std::vector<Hit> hits;
    for (size_t i = first; i < last; ++i) {
      std::vector<float> &low = lows[i];
      float L = -INFINITY;
      if (int64_t(low.size()) >= k) {
        std::nth_element(low.begin(), low.begin() + (k - 1), low.end(), std::greater<float>());
        L = low[size_t(k - 1)];
      }
      hits.clear();
      const float *y = queries + int64_t(i) * d;
      for (size_t c = 0; c < rows[i].size(); ++c) {
        if (uppers[i][c] < L) continue;
        const int32_t r = rows[i][c];
        const float s = scan::Dot(y, data + int64_t(r) * d, d);
        ++scored[i];
        if (!std::isnan(s)) hits.push_back({s, r});
      }
      const size_t keepN = std::min(hits.size(), size_t(k));
      std::partial_sort(hits.begin(), hits.begin() + keepN, hits.end(), Better);
      for (int64_t j = 0; j < k; ++j) {
        const bool have = j < int64_t(keepN);
        outPos[int64_t(i) * k + j] = have ? hits[size_t(j)].position : -1;
        outScore[int64_t(i) * k + j] = have ? hits[size_t(j)].score : NAN;
      }
    }
  }, WorkerPool::Instance().Cores());
  int64_t total = 0;
  for (const int64_t s : scored) total += s;
  return total;
#else
  (void)queries, (void)q, (void)data, (void)codes, (void)scales, (void)codeSums, (void)codeNorms, (void)n, (void)d, (void)k;
  (void)allowed, (void)boundScale, (void)margin, (void)outPos, (void)outScore;
  return -1;
#endif
}

}  // namespace coded
