// Exact top-k for a batch of queries against a large collection without materialising the batch x collection score
// matrix: each thread multiplies the queries by chunks of its own range of rows (an L2-sized score buffer) and keeps
// per-query heaps, then the heaps are merged. The full matrix (128 x 100,000 floats = 51 MB) was written, faulted
// in and read back by src/index/topk.ts, which cost more than the product itself. Order as topk.ts: higher score
// first, ties to the lower position, NaN and disallowed positions skipped.
#pragma once
#include <cblas.h>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <mutex>
#include <vector>

#include "parallel.h"

namespace batch {

struct Hit {
  float score;
  int32_t position;
};

// a is worse than b: a lower score, or the same score at a higher position.
inline bool Worse(const Hit &a, const Hit &b) { return a.score < b.score || (a.score == b.score && a.position > b.position); }
// For std heap functions: the worst hit on top.
inline bool Better(const Hit &a, const Hit &b) { return Worse(b, a); }

// queries q x d, data n x d (row-major), allowed: n bytes or null. Writes q x k hits, best first; a query with fewer
// than k allowed rows gets position -1 (score NaN) in the remaining places.
inline void SearchBatch(const float *queries, int64_t q, const float *data, int64_t n, int64_t d, int64_t k,
                        const uint8_t *allowed, int32_t *outPos, float *outScore) {
  constexpr int64_t kChunk = 2048;
  std::mutex merge;
  std::vector<std::vector<Hit>> found(static_cast<size_t>(q));
  const size_t chunks = size_t((n + kChunk - 1) / kChunk);
  ParallelRanges(chunks, 1, [&](size_t first, size_t last) {
    std::vector<std::vector<Hit>> heaps(static_cast<size_t>(q));
    for (auto &h : heaps) h.reserve(size_t(k));
    std::vector<float> scores(size_t(q * kChunk));
    for (size_t c = first; c < last; ++c) {
      const int64_t r0 = int64_t(c) * kChunk, m = std::min(kChunk, n - r0);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(q), int(m), int(d), 1.0f, queries, int(d), data + r0 * d,
                  int(d), 0.0f, scores.data(), int(m));
      for (int64_t i = 0; i < q; ++i) {
        std::vector<Hit> &heap = heaps[size_t(i)];
        const float *row = scores.data() + i * m;
        for (int64_t j = 0; j < m; ++j) {
          // Once the heap is full, most blocks of 16 scores hold none above its worst: one vectorised test skips them.
          if (int64_t(heap.size()) == k && (j & 15) == 0 && j + 16 <= m) {
            const float worst = heap.front().score;
            int above = 0;
            for (int t = 0; t < 16; ++t) above |= row[j + t] > worst;
            if (!above) {
              j += 15;
              continue;
            }
          }
          const float s = row[j];
          // Positions rise, so once the heap is full an equal score loses too.
          if (int64_t(heap.size()) == k && !(s > heap.front().score)) continue;
          if (allowed && !allowed[r0 + j]) continue;
          if (std::isnan(s)) continue;
          const Hit hit{s, int32_t(r0 + j)};
          if (int64_t(heap.size()) < k) {
            heap.push_back(hit);
            std::push_heap(heap.begin(), heap.end(), Better);
          } else {
            std::pop_heap(heap.begin(), heap.end(), Better);
            heap.back() = hit;
            std::push_heap(heap.begin(), heap.end(), Better);
          }
        }
      }
    }
    std::lock_guard<std::mutex> lock(merge);
    for (int64_t i = 0; i < q; ++i) found[size_t(i)].insert(found[size_t(i)].end(), heaps[size_t(i)].begin(), heaps[size_t(i)].end());
  }, WorkerPool::Instance().Cores());
  for (int64_t i = 0; i < q; ++i) {
    std::vector<Hit> &all = found[size_t(i)];
    std::sort(all.begin(), all.end(), Better);
    for (int64_t j = 0; j < k; ++j) {
      const bool have = j < int64_t(all.size());
      outPos[i * k + j] = have ? all[size_t(j)].position : -1;
      outScore[i * k + j] = have ? all[size_t(j)].score : NAN;
    }
  }
}

}  // namespace batch
