// Products with one small dimension (at most 12 or 16, below): the label graph's few classifiers against its large weights
// (10 x 1024 by 1024 x 1024 and 5120 x 1024 on Wikipedia), forward and in both backward products. OpenBLAS packs the
// whole large operand before such a product and runs at ~6 GB/s there; these kernels read it once, through register
// tiles wide enough to hide the FMA latency. Rows 4 KB apart (1024 floats) all map to one L1 set, so the operands
// that are read across rows are first copied into buffers with padded rows.
//
// Every output element is summed in one fixed order whatever the thread split, so the bits do not depend on the
// number of cores. Only C = op(A) op(B) (alpha 1, beta 0), row-major.
#pragma once
#include <algorithm>
#include <atomic>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include <cstdint>
#include <vector>

#include "parallel.h"

#if defined(__x86_64__)
// An AVX2 + FMA clone picked at load time where the CPU has it; the default clone keeps the build portable.
#define XMODAL_THIN_CLONES __attribute__((target_clones("arch=x86-64-v3", "default"), optimize("fp-contract=fast")))
#else
#define XMODAL_THIN_CLONES __attribute__((optimize("fp-contract=fast")))
#endif
#define THIN_INLINE __attribute__((always_inline, optimize("fp-contract=fast"))) inline
#define THIN_LOAD(p) (*reinterpret_cast<const v8u *>(p))
#define THIN_STORE(p, x) (*reinterpret_cast<v8u *>(p) = (x))

namespace thin {

// Whether the forward product and the weight gradient use their AVX-512 kernels where the processor has them (a
// switch for comparisons; the bits are the same either way).
inline std::atomic<bool> wideKernels{true};
// Products the AVX-512 kernels have computed (lets tests see them run).
inline std::atomic<uint64_t> wideCalls{0};

// The largest small side that pays: beyond 12 rows the forward and input-gradient products need a second register
// chunk and OpenBLAS is as fast. The rank-K weight gradient is faster alone up to K = 24, but inside a step at the
// MIRFlickr shape (24 labels) it gained nothing over OpenBLAS on the thread pool (`npm run bench --
// thread-settings`), so it stops at 16.
constexpr int64_t kThinRows = 12;
constexpr int64_t kThinRank = 16;
// Rows of B packed at a time by the forward product (a block of 512 columns is 128 KB, in L2).
constexpr int64_t kBlock = 64;
// How many rows ahead the forward product prefetches B.
constexpr int64_t kAhead = 8;
// Padding of a packed row or tile, in floats (one cache line), so consecutive ones fall in different L1 sets.
constexpr int64_t kPad = 16;

typedef float v8 __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4)));

// A per-thread scratch buffer, grown as needed and kept (a fresh large allocation would fault its pages in).
inline float *Scratch(size_t n) {
  thread_local std::vector<float> buffer;
  if (buffer.size() < n) buffer.resize(n);
  return buffer.data();
}

// Copies rows x cols of X (leading dimension ld) into `out` with row stride `stride`.
inline void CopyRows(const float *X, int64_t rows, int64_t cols, int64_t ld, float *out, int64_t stride) {
  for (int64_t i = 0; i < rows; ++i) std::copy(X + i * ld, X + i * ld + cols, out + i * stride);
}

// Copies X (rows x cols, leading dimension ld) transposed into `out` (cols x rows, packed).
inline void CopyTransposed(const float *X, int64_t rows, int64_t cols, int64_t ld, float *out) {
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) out[j * rows + i] = X[i * ld + j];
}

// R rows (from r0) of C = A B for one packed 8-column tile of k-rows [k0, k0 + kb): R accumulators, each k adding
// at[k][r] * tile[k]. The accumulators start from C after the first block, which keeps the order of the sum.
template <int R>
THIN_INLINE void ProductTile(int64_t M, const float *at, int64_t r0, const float *tile, int64_t k0, int64_t kb, float *C,
                             int64_t ldc, int64_t j) {
  v8 acc[R];
  for (int r = 0; r < R; ++r) acc[r] = k0 == 0 ? v8{} : THIN_LOAD(C + (r0 + r) * ldc + j);
  for (int64_t k = 0; k < kb; ++k) {
    const v8 b = THIN_LOAD(tile + k * 8);
    const float *a = at + (k0 + k) * M + r0;
    for (int r = 0; r < R; ++r) acc[r] += a[r] * b;
  }
  for (int r = 0; r < R; ++r) THIN_STORE(C + (r0 + r) * ldc + j, acc[r]);
}

// C (M x N) = A (M x K) B (K x N) for the column range [n0, n1) (n0 a multiple of 8), M <= kThinRows. `at` is A
// transposed (K x M) so that one k's multipliers share a cache line. Blocks of kBlock rows of B are packed tile by
// tile; rows of C go in chunks of at most 12 (12 accumulators, a tile and a multiplier fill the 16 registers).
XMODAL_THIN_CLONES
void ProductColumns(int64_t M, int64_t K, const float *at, const float *B, int64_t ldb, float *C, int64_t ldc,
                    int64_t n0, int64_t n1) {
  const int64_t tiles = (n1 - n0) / 8;
  const int64_t tileStride = kBlock * 8 + kPad;
  float *packed = Scratch(static_cast<size_t>(std::max<int64_t>(1, tiles * tileStride)));
  const int64_t chunks = (M + 11) / 12;
  for (int64_t k0 = 0; k0 < K && tiles > 0; k0 += kBlock) {
    const int64_t kb = std::min(kBlock, K - k0);
    for (int64_t k = 0; k < kb; ++k) {
      const float *row = B + (k0 + k) * ldb + n0;
      // Each thread reads a short piece of every row, too short for the hardware to guess the next one.
      const bool ahead = k0 + k + kAhead < K;
      for (int64_t t = 0; t < tiles; ++t) {
        if (ahead && (t & 1) == 0) __builtin_prefetch(row + kAhead * ldb + t * 8);
        THIN_STORE(packed + t * tileStride + k * 8, THIN_LOAD(row + t * 8));
      }
    }
    for (int64_t t = 0; t < tiles; ++t) {
      const float *tile = packed + t * tileStride;
      const int64_t j = n0 + t * 8;
      for (int64_t c = 0, r0 = 0; c < chunks; ++c) {
        const int64_t R = (M - r0) / (chunks - c);
        switch (R) {
#define THIN_CASE(n) \
  case n: ProductTile<n>(M, at, r0, tile, k0, kb, C, ldc, j); break;
          THIN_CASE(1) THIN_CASE(2) THIN_CASE(3) THIN_CASE(4) THIN_CASE(5) THIN_CASE(6)
          THIN_CASE(7) THIN_CASE(8) THIN_CASE(9) THIN_CASE(10) THIN_CASE(11) THIN_CASE(12)
#undef THIN_CASE
        }
        r0 += R;
      }
    }
  }
  for (int64_t j = n0 + tiles * 8; j < n1; ++j) {
    for (int64_t r = 0; r < M; ++r) {
      float s = 0;
      for (int64_t k = 0; k < K; ++k) s += at[k * M + r] * B[k * ldb + j];
      C[r * ldc + j] = s;
    }
  }
}

// The columns [j, N) of the two output rows of OuterRows / OuterRowsWide past their last full register step.
THIN_INLINE void OuterTail(int64_t j, int64_t N, int64_t K, const float *a0, const float *a1, const float *B, int64_t ldb,
                           float *c0, float *c1, bool pair) {
  for (; j < N; ++j) {
    float s0 = 0, s1 = 0;
    for (int64_t k = 0; k < K; ++k) {
      s0 += a0[k] * B[k * ldb + j];
      s1 += a1[k] * B[k * ldb + j];
    }
    c0[j] = s0;
    if (pair) c1[j] = s1;
  }
}

#if defined(__x86_64__)
// With AVX-512 the forward product reads B in place: a 16-column tile is exactly one cache line of a row, so no line
// is read twice and the packed copy above (which cost as much as the arithmetic) is not needed. Each tile's rows are
// 4 KB apart, too far for the hardware prefetchers, so the tile two ahead is prefetched row by row. Per output
// element the sum runs over k in the same order, with the same fused multiply-adds, as ProductColumns: same bits.
typedef float v16 __attribute__((vector_size(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4)));
#define THIN_WIDE __attribute__((target("avx512f,fma"), optimize("fp-contract=fast")))

inline bool HasAvx512() {
  static const bool ok = __builtin_cpu_supports("avx512f");
  return ok;
}

// R rows of C for the 16 columns from j, k-rows [k0, k0 + kb); `pf` (rows apart by ldb, pfRows of them) is prefetched.
template <int R>
THIN_WIDE __attribute__((always_inline)) inline void WideTile(int64_t M, const float *at, const float *B, int64_t ldb,
                                                              int64_t k0, int64_t kb, float *C, int64_t ldc, int64_t j,
                                                              const float *pf, int64_t pfRows) {
  v16 acc[R];
  for (int r = 0; r < R; ++r) acc[r] = k0 == 0 ? v16{} : *reinterpret_cast<const v16u *>(C + r * ldc + j);
  for (int64_t k = 0; k < kb; ++k) {
    if (k < pfRows) __builtin_prefetch(pf + k * ldb);
    const v16 b = *reinterpret_cast<const v16u *>(B + (k0 + k) * ldb + j);
    const float *a = at + (k0 + k) * M;
    for (int r = 0; r < R; ++r) acc[r] += a[r] * b;
  }
  for (int r = 0; r < R; ++r) *reinterpret_cast<v16u *>(C + r * ldc + j) = acc[r];
}

// ProductColumns for the column range [n0, n1), n1 - n0 a multiple of 16, M <= kThinRows (one chunk of rows).
THIN_WIDE void ProductColumnsWide(int64_t M, int64_t K, const float *at, const float *B, int64_t ldb, float *C,
                                  int64_t ldc, int64_t n0, int64_t n1) {
  constexpr int64_t kAheadTiles = 2;
  const int64_t tiles = (n1 - n0) / 16;
  for (int64_t k0 = 0; k0 < K; k0 += kBlock) {
    const int64_t kb = std::min(kBlock, K - k0);
    for (int64_t t = 0; t < tiles; ++t) {
      const int64_t j = n0 + t * 16;
      // The tile two ahead, or the first tiles of the next block of rows.
      const float *pf = nullptr;
      int64_t pfRows = 0;
      if (t + kAheadTiles < tiles) {
        pf = B + k0 * ldb + j + kAheadTiles * 16;
        pfRows = kb;
      } else if (k0 + kBlock < K) {
        pf = B + (k0 + kBlock) * ldb + n0 + (t + kAheadTiles - tiles) * 16;
        pfRows = std::min(kBlock, K - k0 - kBlock);
      }
      switch (M) {
#define THIN_WIDE_CASE(n) \
  case n: WideTile<n>(M, at, B, ldb, k0, kb, C, ldc, j, pf, pfRows); break;
        THIN_WIDE_CASE(1) THIN_WIDE_CASE(2) THIN_WIDE_CASE(3) THIN_WIDE_CASE(4) THIN_WIDE_CASE(5) THIN_WIDE_CASE(6)
        THIN_WIDE_CASE(7) THIN_WIDE_CASE(8) THIN_WIDE_CASE(9) THIN_WIDE_CASE(10) THIN_WIDE_CASE(11) THIN_WIDE_CASE(12)
#undef THIN_WIDE_CASE
      }
    }
  }
}

// OuterRows (the rank-K weight gradient) with 64 columns per step in zmm registers, for output rows [m0, m1). Each
// element is summed over k in order with fused multiply-adds, as OuterRows does, so the bits are the same. With
// `stream`, rows whose start is 64-byte aligned are written with non-temporal stores: a large gradient is not read
// again until the optimiser's pass, and a normal store would first fetch every line it overwrites.
THIN_WIDE void OuterRowsWide(int64_t N, int64_t K, const float *ap, const float *B, int64_t ldb, float *C, int64_t ldc,
                             int64_t m0, int64_t m1, bool stream) {
  for (int64_t m = m0; m < m1; m += 2) {
    const bool pair = m + 1 < m1;
    const float *a0 = ap + m * K;
    const float *a1 = pair ? a0 + K : a0;
    float *c0 = C + m * ldc;
    float *c1 = pair ? c0 + ldc : c0;
    const bool nt0 = stream && (reinterpret_cast<uintptr_t>(c0) & 63) == 0;
    const bool nt1 = stream && (reinterpret_cast<uintptr_t>(c1) & 63) == 0;
    int64_t j = 0;
    for (; j + 64 <= N; j += 64) {
      v16 s0[4] = {}, s1[4] = {};
      for (int64_t k = 0; k < K; ++k) {
        const float *b = B + k * ldb + j;
        for (int q = 0; q < 4; ++q) {
          const v16 x = *reinterpret_cast<const v16u *>(b + q * 16);
          s0[q] += a0[k] * x;
          s1[q] += a1[k] * x;
        }
      }
      for (int q = 0; q < 4; ++q) {
        if (nt0) _mm512_stream_ps(c0 + j + q * 16, reinterpret_cast<__m512>(s0[q]));
        else *reinterpret_cast<v16u *>(c0 + j + q * 16) = s0[q];
      }
      if (pair)
        for (int q = 0; q < 4; ++q) {
          if (nt1) _mm512_stream_ps(c1 + j + q * 16, reinterpret_cast<__m512>(s1[q]));
          else *reinterpret_cast<v16u *>(c1 + j + q * 16) = s1[q];
        }
    }
    OuterTail(j, N, K, a0, a1, B, ldb, c0, c1, pair);
  }
  // Streaming stores are weakly ordered: drain them before the pool reports this range done.
  if (stream) _mm_sfence();
}
#endif

// R rows (from r0) of the padded copy of A against rows b0 and b1 of B: lane sums over k, reduced lane by lane in
// order, then the K % 8 tail.
template <int R>
THIN_INLINE void DotChunk(int64_t K, const float *A, int64_t lda, int64_t r0, const float *b0, const float *b1, float *C,
                          int64_t ldc, int64_t n, bool pair, const float *next) {
  const int64_t K8 = K - K % 8;
  v8 acc0[R] = {}, acc1[R] = {};
  for (int64_t k = 0; k < K8; k += 8) {
    if (next && (k & 15) == 0) {
      __builtin_prefetch(next + k);
      __builtin_prefetch(next + K + k);
    }
    const v8 x0 = THIN_LOAD(b0 + k), x1 = THIN_LOAD(b1 + k);
    for (int r = 0; r < R; ++r) {
      const v8 a = THIN_LOAD(A + (r0 + r) * lda + k);
      acc0[r] += a * x0;
      acc1[r] += a * x1;
    }
  }
  for (int r = 0; r < R; ++r) {
    const float *a = A + (r0 + r) * lda;
    float s0 = 0, s1 = 0;
    for (int l = 0; l < 8; ++l) {
      s0 += acc0[r][l];
      s1 += acc1[r][l];
    }
    for (int64_t k = K8; k < K; ++k) {
      s0 += a[k] * b0[k];
      s1 += a[k] * b1[k];
    }
    C[(r0 + r) * ldc + n] = s0;
    if (pair) C[(r0 + r) * ldc + n + 1] = s1;
  }
}

// C (M x N) = A (M x K) B^T, B stored N x K: C[i][n] = A[i] . B[n], for B rows [n0, n1) (n0 even), M <= kThinRows.
// A is the padded copy. Two rows of B against chunks of up to 4 rows of A (8 accumulators).
XMODAL_THIN_CLONES
void DotRows(int64_t M, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc,
             int64_t n0, int64_t n1) {
  for (int64_t n = n0; n < n1; n += 2) {
    const bool pair = n + 1 < n1;
    const float *b0 = B + n * ldb;
    const float *b1 = pair ? b0 + ldb : b0;
    // The next pair of rows is fetched while the first chunk reads this one (ldb == K when rows are contiguous;
    // otherwise the prefetch covers the start of each row only, which is harmless).
    const float *next = n + 3 < n1 && ldb == K ? b0 + 2 * ldb : nullptr;
    for (int64_t r0 = 0; r0 < M; r0 += 4) {
      const float *pf = r0 == 0 ? next : nullptr;
      switch (std::min<int64_t>(4, M - r0)) {
        case 1: DotChunk<1>(K, A, lda, r0, b0, b1, C, ldc, n, pair, pf); break;
        case 2: DotChunk<2>(K, A, lda, r0, b0, b1, C, ldc, n, pair, pf); break;
        case 3: DotChunk<3>(K, A, lda, r0, b0, b1, C, ldc, n, pair, pf); break;
        default: DotChunk<4>(K, A, lda, r0, b0, b1, C, ldc, n, pair, pf); break;
      }
    }
  }
}

// C (M x N) = A^T B with A stored K x M and B K x N, K <= kThinRank (a rank-K weight gradient), for the output rows
// [m0, m1). `ap` is A transposed (M x K, packed), B the padded copy. Two output rows by 32 columns at a time (8
// accumulators), k in order.
XMODAL_THIN_CLONES
void OuterRows(int64_t N, int64_t K, const float *ap, const float *B, int64_t ldb, float *C, int64_t ldc, int64_t m0,
               int64_t m1) {
  for (int64_t m = m0; m < m1; m += 2) {
    const bool pair = m + 1 < m1;
    const float *a0 = ap + m * K;
    const float *a1 = pair ? a0 + K : a0;
    float *c0 = C + m * ldc;
    float *c1 = pair ? c0 + ldc : c0;
    int64_t j = 0;
    for (; j + 32 <= N; j += 32) {
      v8 s0[4] = {}, s1[4] = {};
      for (int64_t k = 0; k < K; ++k) {
        const float *b = B + k * ldb + j;
        for (int q = 0; q < 4; ++q) {
          const v8 x = THIN_LOAD(b + q * 8);
          s0[q] += a0[k] * x;
          s1[q] += a1[k] * x;
        }
      }
      for (int q = 0; q < 4; ++q) THIN_STORE(c0 + j + q * 8, s0[q]);
      if (pair)
        for (int q = 0; q < 4; ++q) THIN_STORE(c1 + j + q * 8, s1[q]);
    }
    OuterTail(j, N, K, a0, a1, B, ldb, c0, c1, pair);
  }
}

// Runs C = op(A) op(B) with a thin kernel when one applies (true), or leaves it to the caller (false): one side at
// most kThinRows (kThinRank for A^T B), the other two large enough that reading them is what costs. Work is split on even boundaries
// (8 columns, 2 rows), so the tiling and pairing of every output element are the same for any number of threads.
inline bool Gemm(bool tA, bool tB, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
                 int64_t ldb, float *C, int64_t ldc) {
  constexpr int64_t kLarge = 1 << 16;
  if (!tA && !tB && M <= kThinRows && K * N >= kLarge) {
    std::vector<float> at(static_cast<size_t>(M * K));
    CopyTransposed(A, M, K, lda, at.data());
#if defined(__x86_64__)
    if (HasAvx512() && wideKernels.load(std::memory_order_relaxed)) {
      const int64_t wide = N / 16;
      ParallelRanges(static_cast<size_t>(wide), static_cast<size_t>(std::max<int64_t>(1, 2048 / K)),
                     [&](size_t first, size_t last) {
                       ProductColumnsWide(M, K, at.data(), B, ldb, C, ldc, static_cast<int64_t>(first) * 16,
                                          static_cast<int64_t>(last) * 16);
                     });
      if (wide * 16 < N) ProductColumns(M, K, at.data(), B, ldb, C, ldc, wide * 16, N);
      wideCalls.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
#endif
    const int64_t tiles = (N + 7) / 8;
    ParallelRanges(static_cast<size_t>(tiles), static_cast<size_t>(std::max<int64_t>(1, 4096 / K)),
                   [&](size_t first, size_t last) {
                     ProductColumns(M, K, at.data(), B, ldb, C, ldc, static_cast<int64_t>(first) * 8,
                                    std::min<int64_t>(N, static_cast<int64_t>(last) * 8));
                   });
    return true;
  }
  if (!tA && tB && M <= kThinRows && K * N >= kLarge) {
    const int64_t stride = K + kPad;
    std::vector<float> padded(static_cast<size_t>(M * stride));
    CopyRows(A, M, K, lda, padded.data(), stride);
    const int64_t pairs = (N + 1) / 2;
    ParallelRanges(static_cast<size_t>(pairs), static_cast<size_t>(std::max<int64_t>(1, 8192 / K)),
                   [&](size_t first, size_t last) {
                     DotRows(M, K, padded.data(), stride, B, ldb, C, ldc, static_cast<int64_t>(first) * 2,
                             std::min<int64_t>(N, static_cast<int64_t>(last) * 2));
                   });
    return true;
  }
  if (tA && !tB && K <= kThinRank && M * N >= kLarge) {
    std::vector<float> ap(static_cast<size_t>(M * K));
    CopyTransposed(A, K, M, lda, ap.data());
    const int64_t stride = N + kPad;
    std::vector<float> padded(static_cast<size_t>(std::max<int64_t>(1, K * stride)));
    CopyRows(B, K, N, ldb, padded.data(), stride);
    const int64_t pairs = (M + 1) / 2;
#if defined(__x86_64__)
    if (HasAvx512() && wideKernels.load(std::memory_order_relaxed)) {
      // Outputs of 1 MB and more go around the cache (see OuterRowsWide).
      const bool stream = M * N >= (1 << 18);
      ParallelRanges(static_cast<size_t>(pairs), static_cast<size_t>(std::max<int64_t>(1, 16384 / std::max<int64_t>(1, N))),
                     [&](size_t first, size_t last) {
                       OuterRowsWide(N, K, ap.data(), padded.data(), stride, C, ldc, static_cast<int64_t>(first) * 2,
                                     std::min<int64_t>(M, static_cast<int64_t>(last) * 2), stream);
                     });
      wideCalls.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
#endif
    ParallelRanges(static_cast<size_t>(pairs), static_cast<size_t>(std::max<int64_t>(1, 16384 / std::max<int64_t>(1, N))),
                   [&](size_t first, size_t last) {
                     OuterRows(N, K, ap.data(), padded.data(), stride, C, ldc, static_cast<int64_t>(first) * 2,
                               std::min<int64_t>(M, static_cast<int64_t>(last) * 2));
                   });
    return true;
  }
  return false;
}

}  // namespace thin

#undef THIN_LOAD
#undef THIN_STORE
#undef THIN_INLINE
