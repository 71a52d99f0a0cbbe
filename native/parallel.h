// The addon's threads: ParallelRanges splits [0, n) into one contiguous range per thread and runs fn(first, last) on
// each, the caller taking the first; below `minPerThread` items a thread costs more than it saves. Every parallel
// loop of the addon goes through it, large OpenBLAS products included (OpenBLAS itself runs single-threaded), so
// that no two thread pools compete for the cores.
//
// The helpers are persistent: starting and joining a std::thread costs ~100 us on the machines we measure, as much
// as a whole thin product, and a step makes dozens of such calls. Between calls they spin briefly (calls come in
// bursts), then sleep on a condition variable. One caller at a time uses them; a second concurrent caller
// (sgemmAsync runs on libuv's threads) runs its loop alone rather than wait.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

class WorkerPool {
 public:
  static WorkerPool &Instance() {
    // Never destroyed: helpers blocked on the condition variable must not be joined during process exit.
    static WorkerPool *pool = new WorkerPool(ConfiguredThreads());
    return *pool;
  }

  // XMODAL_THREADS, else OPENBLAS_NUM_THREADS (which set the threads before the addon had its own), when a
  // positive integer; else the number of cores. At most 64.
  static size_t ConfiguredThreads() {
    for (const char *name : {"XMODAL_THREADS", "OPENBLAS_NUM_THREADS"}) {
      const char *env = std::getenv(name);
      const long asked = env ? std::strtol(env, nullptr, 10) : 0;
      if (asked > 0) return std::min<size_t>(64, size_t(asked));
    }
    return std::min<size_t>(64, std::max(1u, std::thread::hardware_concurrency()));
  }

  size_t Cores() const { return cores_; }
  // Threads a call may use (1..Cores()); lowered by setThreads, for example to check that results do not depend on it.
  size_t Limit() const { return limit_.load(std::memory_order_relaxed); }
  void SetLimit(size_t n) { limit_.store(std::max<size_t>(1, std::min(n, cores_)), std::memory_order_relaxed); }

  // Runs task(w) for w in [0, workers): w = 0 on the caller, the others on helpers. False if the pool is busy.
  bool TryRun(size_t workers, const std::function<void(size_t)> &task) {
    std::unique_lock<std::mutex> use(busy_, std::try_to_lock);
    if (!use.owns_lock()) return false;
    {
      std::lock_guard<std::mutex> lock(m_);
      task_ = &task;
      active_ = workers - 1;
      pending_.store(workers - 1, std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    task(0);
    // Calls come in bursts (a step's products and updates): a short spin saves a sleep and a wake-up.
    if (!SpinUntil([&] { return pending_.load(std::memory_order_acquire) == 0; })) {
      std::unique_lock<std::mutex> lock(m_);
      done_.wait(lock, [&] { return pending_.load(std::memory_order_acquire) == 0; });
    }
    return true;
  }

 private:
  explicit WorkerPool(size_t cores) : cores_(cores), limit_(cores) {
    for (size_t w = 1; w < cores; ++w) std::thread([this, w] { Loop(w); }).detach();
  }

  template <typename Ready>
  static bool SpinUntil(Ready ready) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
    for (int i = 0;; ++i) {
      if (ready()) return true;
      if ((i & 63) == 63 && std::chrono::steady_clock::now() > until) return false;
    }
  }

  void Loop(size_t w) {
    size_t seen = 0;
    for (;;) {
      auto next = [&] { return generation_.load(std::memory_order_acquire) != seen; };
      const std::function<void(size_t)> *task;
      size_t active;
      if (!SpinUntil(next)) {
        std::unique_lock<std::mutex> lock(m_);
        wake_.wait(lock, next);
      }
      {
        std::lock_guard<std::mutex> lock(m_);
        seen = generation_.load(std::memory_order_relaxed);
        task = task_;
        active = active_;
      }
      if (w > active) continue;
      (*task)(w);
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(m_);
        done_.notify_one();
      }
    }
  }

  const size_t cores_;
  std::atomic<size_t> limit_;
  std::mutex busy_, m_;
  std::condition_variable wake_, done_;
  const std::function<void(size_t)> *task_ = nullptr;
  size_t active_ = 0;
  std::atomic<size_t> pending_{0}, generation_{0};
};

// maxWorkers caps memory-bound loops, which stop gaining after a few cores.
template <typename Fn>
void ParallelRanges(size_t n, size_t minPerThread, Fn fn, size_t maxWorkers = 4) {
  WorkerPool &pool = WorkerPool::Instance();
  const size_t threads = std::min(pool.Limit(), maxWorkers);
  const size_t workers = std::max<size_t>(1, std::min(threads, n / std::max<size_t>(1, minPerThread)));
  const size_t per = (n + workers - 1) / workers;
  if (workers > 1) {
    const std::function<void(size_t)> task = [&](size_t w) {
      const size_t first = std::min(n, w * per);
      const size_t last = std::min(n, first + per);
      if (first < last) fn(first, last);
    };
    if (pool.TryRun(workers, task)) return;
  }
  fn(size_t(0), n);
}
