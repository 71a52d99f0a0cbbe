// Splits [0, n) into one contiguous range per core and runs fn(first, last) on each, the caller taking the first.
// For memory-bound loops: below `minPerThread` items a thread costs more than it saves.
#pragma once
#include <algorithm>
#include <cstddef>
#include <thread>
#include <vector>

template <typename Fn>
void ParallelRanges(size_t n, size_t minPerThread, Fn fn) {
  const size_t cores = std::max(1u, std::min(4u, std::thread::hardware_concurrency()));
  const size_t workers = std::max<size_t>(1, std::min(cores, n / std::max<size_t>(1, minPerThread)));
  const size_t per = (n + workers - 1) / workers;
  std::vector<std::thread> pool;
  for (size_t w = 1; w < workers; ++w) {
    const size_t first = std::min(n, w * per);
    const size_t last = std::min(n, first + per);
    if (first < last) pool.emplace_back(fn, first, last);
  }
  fn(size_t(0), std::min(n, per));
  for (auto &t : pool) t.join();
}
