// xmodal's native kernels: float32 GEMM through OpenBLAS, and a fused in-place Adam update.
// Arguments are validated here because a wrong length would read or write outside a buffer.
#include <napi.h>
#include <cblas.h>
#include <cmath>
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "parallel.h"
#include "activation.h"
#include "batch_norm.h"
#include "thin_gemm.h"
#include "scan_i8.h"
#include "rank.h"
#include "batch_search.h"
#include "batch_coded.h"
#include "scan_f16.h"

// Element loops get an AVX2 clone picked at load time on x86-64; elsewhere they build plainly.
#if defined(__x86_64__)
#define XMODAL_AVX2_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define XMODAL_AVX2_CLONES
#endif

extern "C" {
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w, double *work,
             const int *lwork, int *iwork, const int *liwork, int *info);
char *openblas_get_corename(void);
int openblas_get_num_threads(void);
void openblas_set_num_threads(int);
}

namespace {

bool Fail(const Napi::Env &env, const std::string &message) {
  Napi::TypeError::New(env, "xmodal_native: " + message).ThrowAsJavaScriptException();
  return false;
}

bool GetF32(const Napi::CallbackInfo &info, size_t i, const char *name, Napi::Float32Array *out) {
  if (info.Length() <= i || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    return Fail(info.Env(), std::string(name) + " must be a Float32Array");
  }
  *out = info[i].As<Napi::Float32Array>();
  return true;
}

// A typed array argument of the given type (`what`: "an Int32Array", ...).
template <typename Array>
bool GetTyped(const Napi::CallbackInfo &info, size_t i, const char *name, napi_typedarray_type type, const char *what, Array *out) {
  if (info.Length() <= i || !info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != type) {
    return Fail(info.Env(), std::string(name) + " must be " + what);
  }
  *out = info[i].As<Array>();
  return true;
}

// The batch searches' `allowed` argument: null (every row) or a Uint8Array of at least n flags.
bool GetAllowed(const Napi::CallbackInfo &info, size_t i, int64_t n, const char *fn, const uint8_t **out) {
  *out = nullptr;
  if (info[i].IsNull()) return true;
  Napi::Uint8Array A;
  if (!GetTyped(info, i, "allowed", napi_uint8_array, "a Uint8Array or null", &A)) return false;
  if (uint64_t(n) > A.ElementLength()) return Fail(info.Env(), std::string(fn) + ": allowed shorter than n");
  *out = A.Data();
  return true;
}

bool GetInt(const Napi::CallbackInfo &info, size_t i, const char *name, int64_t *out) {
  if (info.Length() <= i || !info[i].IsNumber()) return Fail(info.Env(), std::string(name) + " must be a number");
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (!(v >= 0) || v != std::floor(v) || v > 2147483647.0) {
    return Fail(info.Env(), std::string(name) + " must be a non-negative 32-bit integer");
  }
  *out = static_cast<int64_t>(v);
  return true;
}

bool GetNum(const Napi::CallbackInfo &info, size_t i, const char *name, double *out) {
  if (info.Length() <= i || !info[i].IsNumber()) return Fail(info.Env(), std::string(name) + " must be a number");
  *out = info[i].As<Napi::Number>().DoubleValue();
  return true;
}

// Row-major matrix op(X) of rows x cols stored with leading dimension ld needs this many elements.
bool CheckExtent(const Napi::Env &env, const char *name, bool trans, int64_t rows, int64_t cols, int64_t ld,
                 size_t length) {
  const int64_t storedRows = trans ? cols : rows;
  const int64_t storedCols = trans ? rows : cols;
  if (storedRows == 0 || storedCols == 0) return true;
  if (ld < storedCols) return Fail(env, std::string(name) + ": leading dimension smaller than its row length");
  const int64_t need = (storedRows - 1) * ld + storedCols;
  if (static_cast<uint64_t>(need) > length) return Fail(env, std::string(name) + ": buffer too small for its shape");
  return true;
}

// The 13 arguments of sgemm and sgemmAsync, checked: C = alpha op(A) op(B) + beta C, row-major.
struct GemmArgs {
  bool tA = false, tB = false;
  int64_t M = 0, N = 0, K = 0, lda = 0, ldb = 0, ldc = 0;
  double alpha = 0, beta = 0;
  Napi::Float32Array A, B, C;
};

bool ParseGemm(const Napi::CallbackInfo &info, const char *name, GemmArgs *g) {
  Napi::Env env = info.Env();
  if (info.Length() != 13) return Fail(env, std::string(name) + " takes 13 arguments");
  g->tA = info[0].ToBoolean().Value();
  g->tB = info[1].ToBoolean().Value();
  return GetInt(info, 2, "M", &g->M) && GetInt(info, 3, "N", &g->N) && GetInt(info, 4, "K", &g->K) &&
         GetNum(info, 5, "alpha", &g->alpha) && GetF32(info, 6, "A", &g->A) && GetInt(info, 7, "lda", &g->lda) &&
         GetF32(info, 8, "B", &g->B) && GetInt(info, 9, "ldb", &g->ldb) && GetNum(info, 10, "beta", &g->beta) &&
         GetF32(info, 11, "C", &g->C) && GetInt(info, 12, "ldc", &g->ldc) &&
         CheckExtent(env, "A", g->tA, g->M, g->K, g->lda, g->A.ElementLength()) &&
         CheckExtent(env, "B", g->tB, g->K, g->N, g->ldb, g->B.ElementLength()) &&
         CheckExtent(env, "C", false, g->M, g->N, g->ldc, g->C.ElementLength());
}

// Whether products with one small dimension go to the kernels of thin_gemm.h (a switch for comparisons).
std::atomic<bool> thinKernels{true};
// Whether large OpenBLAS products are split over the pool (the default) or threaded by OpenBLAS (for comparisons).
std::atomic<bool> blasSplit{true};
// Whether thin products with a transposed right operand are given to OpenBLAS the other way round (BlasParts).
std::atomic<bool> blasSwap{true};
std::atomic<uint64_t> swappedProducts{0};

// Products big enough to share between cores are split here, over the pool of parallel.h, each part a
// single-threaded OpenBLAS call: OpenBLAS's own threads spin between calls and fought the pool's helpers for the
// cores (thin products ran 2-4x slower inside a training step than alone). Columns (or rows) are split on multiples
// of 16. Like OpenBLAS's own threading, the split can change the last bits of a product with the thread count;
// for a given count the results are reproducible.
void BlasParts(bool tA, bool tB, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
               float beta, float *C, int ldc) {
  // BLAS requires ld >= 1 even for empty operands.
  auto blas = [&](int m, int n, const float *a, const float *b, float *c) {
    cblas_sgemm(CblasRowMajor, tA ? CblasTrans : CblasNoTrans, tB ? CblasTrans : CblasNoTrans, m, n, K, alpha, a,
                lda > 0 ? lda : 1, b, ldb > 0 ? ldb : 1, beta, c, ldc > 0 ? ldc : 1);
  };
  constexpr double kSplitFlops = 1 << 21;
  if (!blasSplit.load(std::memory_order_relaxed) || double(M) * N * K < kSplitFlops) return blas(M, N, A, B, C);
  if (tB && beta == 0.0f && M >= 16 && M <= 128 && N >= 4 * M && blasSwap.load(std::memory_order_relaxed)) {
    // A thin op(A) B^T: OpenBLAS is 6-37% faster given C^T = B op(A)^T (the wide operand packed as its "A"); the
    // same sums in the same order, so the same bits with its SkylakeX kernels (test). Each part's C^T goes through a
    // scratch block into C. (Below 16 rows OpenBLAS may take other paths, whose sums differ.)
    swappedProducts.fetch_add(1, std::memory_order_relaxed);
    ParallelRanges(size_t((N + 15) / 16), 1, [&](size_t first, size_t last) {
      const int n0 = int(first) * 16, n1 = std::min(N, int(last) * 16), w = n1 - n0;
      thread_local std::vector<float> t;
      t.resize(size_t(w) * size_t(M));
      cblas_sgemm(CblasRowMajor, CblasNoTrans, tA ? CblasNoTrans : CblasTrans, w, M, K, alpha, B + size_t(n0) * ldb,
                  ldb > 0 ? ldb : 1, A, lda > 0 ? lda : 1, 0.0f, t.data(), M);
      for (int jb = 0; jb < w; jb += 16) {
        const int je = std::min(w, jb + 16);
        for (int i = 0; i < M; ++i) {
          float *c = C + size_t(i) * ldc + n0;
          for (int j = jb; j < je; ++j) c[j] = t[size_t(j) * M + i];
        }
      }
    }, SIZE_MAX);
    return;
  }
  if (N >= M) {
    ParallelRanges(size_t((N + 15) / 16), 1, [&](size_t first, size_t last) {
      const int n0 = int(first) * 16, n1 = std::min(N, int(last) * 16);
      blas(M, n1 - n0, A, tB ? B + size_t(n0) * ldb : B + n0, C + n0);
    }, SIZE_MAX);
  } else {
    ParallelRanges(size_t((M + 15) / 16), 1, [&](size_t first, size_t last) {
      const int m0 = int(first) * 16, m1 = std::min(M, int(last) * 16);
      blas(m1 - m0, N, tA ? A + m0 : A + size_t(m0) * lda, B, C + size_t(m0) * ldc);
    }, SIZE_MAX);
  }
}

void RunGemm(bool tA, bool tB, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
             float beta, float *C, int ldc) {
  if (M == 0 || N == 0) return;
  if (alpha == 1.0f && beta == 0.0f && thinKernels.load(std::memory_order_relaxed) &&
      thin::Gemm(tA, tB, M, N, K, A, lda, B, ldb, C, ldc)) {
    return;
  }
  BlasParts(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

Napi::Value Sgemm(const Napi::CallbackInfo &info) {
  GemmArgs g;
  if (ParseGemm(info, "sgemm", &g)) {
    RunGemm(g.tA, g.tB, (int)g.M, (int)g.N, (int)g.K, (float)g.alpha, g.A.Data(), (int)g.lda, g.B.Data(), (int)g.ldb,
            (float)g.beta, g.C.Data(), (int)g.ldc);
  }
  return info.Env().Undefined();
}

// sgemmAsync(...same arguments as sgemm...): a Promise; the product runs on a libuv worker thread, so the caller
// can rank one block of scores while the next block is multiplied. The arrays are kept alive until it resolves.
class SgemmWorker : public Napi::AsyncWorker {
 public:
  SgemmWorker(Napi::Env env, bool tA, bool tB, int M, int N, int K, float alpha, Napi::Float32Array A, int lda,
              Napi::Float32Array B, int ldb, float beta, Napi::Float32Array C, int ldc)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), tA_(tA), tB_(tB), M_(M), N_(N), K_(K),
        alpha_(alpha), beta_(beta), lda_(lda), ldb_(ldb), ldc_(ldc), a_(A.Data()), b_(B.Data()), c_(C.Data()) {
    refA_ = Napi::Persistent(A);
    refB_ = Napi::Persistent(B);
    refC_ = Napi::Persistent(C);
  }
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { RunGemm(tA_, tB_, M_, N_, K_, alpha_, a_, lda_, b_, ldb_, beta_, c_, ldc_); }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error &e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  bool tA_, tB_;
  int M_, N_, K_;
  float alpha_, beta_;
  int lda_, ldb_, ldc_;
  const float *a_, *b_;
  float *c_;
  Napi::Reference<Napi::Float32Array> refA_, refB_, refC_;
};

Napi::Value SgemmAsync(const Napi::CallbackInfo &info) {
  GemmArgs g;
  if (!ParseGemm(info, "sgemmAsync", &g)) return info.Env().Undefined();
  auto *worker = new SgemmWorker(info.Env(), g.tA, g.tB, (int)g.M, (int)g.N, (int)g.K, (float)g.alpha, g.A, (int)g.lda,
                                 g.B, (int)g.ldb, (float)g.beta, g.C, (int)g.ldc);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

struct AdamConstants {
  float b1, b2, omb1, omb2, c1, c2, eps, lr, wd;
};

// The element loop of the Adam update. Scalar sqrt with errno handling kept it at about 10 cycles per element,
// compute-bound; built with -fno-math-errno it vectorises, and the AVX2 clone (picked at load time where the CPU
// has it) does 8 lanes. Vector sqrt and division are correctly rounded like the scalar ones and contraction into
// FMA is off (-ffp-contract=off), so every clone gives the same bits.
XMODAL_AVX2_CLONES
void AdamRange(float *__restrict p, const float *__restrict g, float *__restrict m, float *__restrict v, size_t n,
               AdamConstants k) {
  for (size_t i = 0; i < n; ++i) {
    const float gi = g[i] + k.wd * p[i];
    const float mi = k.b1 * m[i] + k.omb1 * gi;
    const float vi = k.b2 * v[i] + k.omb2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] -= k.lr * (mi / k.c1) / (std::sqrt(vi / k.c2) + k.eps);
  }
}

// adam(param, grad, m, v, lr, beta1, beta2, eps, step, weightDecay): in place, the bias-corrected update of
// Kingma & Ba as PyTorch and tfjs compute it; weightDecay is added to the gradient (PyTorch Adam's L2 form).
Napi::Value Adam(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() != 10) return Fail(env, "adam takes 10 arguments"), env.Undefined();
  Napi::Float32Array P, G, Mv, Vv;
  double lr, b1, b2, eps, wd;
  int64_t t;
  if (!GetF32(info, 0, "param", &P) || !GetF32(info, 1, "grad", &G) || !GetF32(info, 2, "m", &Mv) ||
      !GetF32(info, 3, "v", &Vv) || !GetNum(info, 4, "lr", &lr) || !GetNum(info, 5, "beta1", &b1) ||
      !GetNum(info, 6, "beta2", &b2) || !GetNum(info, 7, "eps", &eps) || !GetInt(info, 8, "step", &t) ||
      !GetNum(info, 9, "weightDecay", &wd)) {
    return env.Undefined();
  }
  const size_t n = P.ElementLength();
  if (G.ElementLength() != n || Mv.ElementLength() != n || Vv.ElementLength() != n) {
    return Fail(env, "adam: param, grad, m and v must have the same length"), env.Undefined();
  }
  if (t < 1) return Fail(env, "adam: step counts from 1"), env.Undefined();
  const float c1 = static_cast<float>(1.0 - std::pow(b1, (double)t));
  const float c2 = static_cast<float>(1.0 - std::pow(b2, (double)t));
  // 1 - beta in double: float(1) - float(0.999) is off by 1.3e-5 relative, which tfjs and PyTorch avoid.
  AdamConstants k{(float)b1, (float)b2, (float)(1.0 - b1), (float)(1.0 - b2), c1, c2, (float)eps, (float)lr, (float)wd};
  float *p = P.Data();
  const float *g = G.Data();
  float *m = Mv.Data();
  float *v = Vv.Data();
  auto update = [=](size_t first, size_t last) { AdamRange(p + first, g + first, m + first, v + first, last - first, k); };
  // Memory-bound: large tensors are split across the cores (elements are independent).
  ParallelRanges(n, size_t(1) << 17, update);
  return env.Undefined();
}

// rankRows(scores, rows, n, order, threads): ranks each of `rows` rows of n scores into `order` (rows x n).
Napi::Value RankRows(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() != 5) return Fail(env, "rankRows takes 5 arguments"), env.Undefined();
  Napi::Float32Array S;
  int64_t rows, n, threads;
  if (!GetF32(info, 0, "scores", &S) || !GetInt(info, 1, "rows", &rows) || !GetInt(info, 2, "n", &n) ||
      !GetInt(info, 4, "threads", &threads)) {
    return env.Undefined();
  }
  if (!info[3].IsTypedArray() || info[3].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    return Fail(env, "order must be an Int32Array"), env.Undefined();
  }
  Napi::Int32Array O = info[3].As<Napi::Int32Array>();
  if ((uint64_t)(rows * n) > S.ElementLength() || (uint64_t)(rows * n) > O.ElementLength()) {
    return Fail(env, "rankRows: buffers too small for rows x n"), env.Undefined();
  }
  const float *scores = S.Data();
  int32_t *order = O.Data();
  const int64_t workers = std::max<int64_t>(1, std::min<int64_t>(threads, rows));
  auto work = [=](int64_t first, int64_t last) {
    std::vector<uint64_t> a(n), b(n);
    for (int64_t r = first; r < last; ++r) {
      rank::RankRow(scores + r * n, (int32_t)n, order + r * n, a.data(), b.data());
    }
  };
  ParallelRanges(size_t(rows), 1, [&](size_t first, size_t last) { work(int64_t(first), int64_t(last)); }, size_t(workers));
  return env.Undefined();
}

// A typed array property of `plan`, checked for its type and a minimum length.
template <typename Array>
bool GetPlanArray(const Napi::Object &plan, const char *name, napi_typedarray_type type, size_t minLength, Array *out) {
  const Napi::Value v = plan.Get(name);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type) {
    return Fail(plan.Env(), std::string("evaluateRows: plan.") + name + " has the wrong type");
  }
  *out = v.As<Array>();
  if (out->ElementLength() < minLength) return Fail(plan.Env(), std::string("evaluateRows: plan.") + name + " too short");
  return true;
}

// evaluateRows(scores, count, start, out, plan): queries start .. start + count - 1, whose scores are the count x
// plan.n rows of `scores`, each evaluated by rank::EvaluateRow into count rows of `out` (stride: see rank::Plan), on
// the pool's threads. plan: { n, ks, minKR, curve, gain, discount, exclude, groups, words, queryBits, itemBits,
// queryGroups, itemGroups } (metrics.ts).
Napi::Value EvaluateRows(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() != 5 || !info[4].IsObject()) return Fail(env, "evaluateRows takes 5 arguments, the last a plan object"), env.Undefined();
  Napi::Float32Array S;
  Napi::Float64Array O;
  int64_t count, start;
  if (!GetF32(info, 0, "scores", &S) || !GetInt(info, 1, "count", &count) || !GetInt(info, 2, "start", &start)) return env.Undefined();
  if (!info[3].IsTypedArray() || info[3].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    return Fail(env, "out must be a Float64Array"), env.Undefined();
  }
  O = info[3].As<Napi::Float64Array>();
  const Napi::Object p = info[4].As<Napi::Object>();
  const Napi::Value nv = p.Get("n"), wv = p.Get("words");
  if (!nv.IsNumber() || !wv.IsNumber()) return Fail(env, "evaluateRows: plan.n and plan.words must be numbers"), env.Undefined();
  const double nd = nv.As<Napi::Number>().DoubleValue(), wd = wv.As<Napi::Number>().DoubleValue();
  if (!(nd >= 1 && nd <= 2147483647.0 && nd == std::floor(nd)) || !(wd >= 1 && wd <= 65536 && wd == std::floor(wd))) {
    return Fail(env, "evaluateRows: plan.n and plan.words must be positive integers"), env.Undefined();
  }
  rank::Plan plan;
  rank::Relevance relevance;
  plan.n = int32_t(nd);
  relevance.words = int32_t(wd);
  plan.minKR = p.Get("minKR").ToBoolean();
  relevance.groups = p.Get("groups").ToBoolean();
  const int64_t n = plan.n, end = start + count;
  if (uint64_t(count * n) > S.ElementLength()) return Fail(env, "evaluateRows: scores too small for count x n"), env.Undefined();
  Napi::Int32Array ks, curve, exclude;
  Napi::Float64Array gain, discount, qg, ig;
  Napi::Uint32Array qb, ib;
  const Napi::Value excludeValue = p.Get("exclude");
  const bool hasExclude = !excludeValue.IsNull() && !excludeValue.IsUndefined();
  if (!GetPlanArray(p, "ks", napi_int32_array, 0, &ks) || !GetPlanArray(p, "curve", napi_int32_array, 0, &curve) ||
      !GetPlanArray(p, "gain", napi_float64_array, 256, &gain) || !GetPlanArray(p, "discount", napi_float64_array, 0, &discount) ||
      (hasExclude && !GetPlanArray(p, "exclude", napi_int32_array, size_t(end), &exclude))) {
    return env.Undefined();
  }
  if (relevance.groups) {
    if (!GetPlanArray(p, "queryGroups", napi_float64_array, size_t(end), &qg) ||
        !GetPlanArray(p, "itemGroups", napi_float64_array, size_t(n), &ig)) return env.Undefined();
    relevance.queryGroups = qg.Data();
    relevance.itemGroups = ig.Data();
  } else {
    const size_t w = size_t(relevance.words);
    if (!GetPlanArray(p, "queryBits", napi_uint32_array, size_t(end) * w, &qb) ||
        !GetPlanArray(p, "itemBits", napi_uint32_array, size_t(n) * w, &ib)) return env.Undefined();
    relevance.queryBits = qb.Data();
    relevance.itemBits = ib.Data();
  }
  plan.ks.assign(ks.Data(), ks.Data() + ks.ElementLength());
  plan.curve.assign(curve.Data(), curve.Data() + curve.ElementLength());
  plan.gain.assign(gain.Data(), gain.Data() + 256);
  plan.discount.assign(discount.Data(), discount.Data() + discount.ElementLength());
  for (size_t i = 0; i < plan.ks.size(); ++i) {
    if (plan.ks[i] < 1 || (i && plan.ks[i] <= plan.ks[i - 1])) return Fail(env, "evaluateRows: plan.ks must be ascending and >= 1"), env.Undefined();
  }
  for (size_t i = 0; i < plan.curve.size(); ++i) {
    if (plan.curve[i] < 1 || plan.curve[i] > n || (i && plan.curve[i] < plan.curve[i - 1])) {
      return Fail(env, "evaluateRows: plan.curve must be ascending ranks in 1..n"), env.Undefined();
    }
  }
  const int64_t maxK = plan.ks.empty() ? 0 : plan.ks.back();
  if (plan.discount.size() < size_t(std::min(maxK, n) + 1)) return Fail(env, "evaluateRows: plan.discount too short"), env.Undefined();
  const int32_t *skips = hasExclude ? exclude.Data() : nullptr;
  if (skips) {
    for (int64_t q = start; q < end; ++q) if (skips[q] >= n) return Fail(env, "evaluateRows: plan.exclude holds an index outside the retrieval set"), env.Undefined();
  }
  const size_t stride = plan.Stride();
  if (uint64_t(count) * stride > O.ElementLength()) return Fail(env, "evaluateRows: out too small for count rows"), env.Undefined();
  const float *scores = S.Data();
  double *out = O.Data();
  auto work = [&](size_t first, size_t last) {
    rank::Scratch scratch{size_t(n)};
    for (size_t r = first; r < last; ++r) {
      const int32_t q = int32_t(start + int64_t(r));
      rank::EvaluateRow(scores + r * n, q, skips ? std::max(skips[q], -1) : -1, relevance, plan, scratch, out + r * stride);
    }
  };
  ParallelRanges(size_t(count), 1, work, WorkerPool::Instance().Cores());
  return env.Undefined();
}

// transposeBlock(scores, count, n, out, queries, start): out[j * queries + start + b] = scores[b * n + j] for the
// count x n block, in tiles, on the pool's threads (each writes its own range of out's rows).
Napi::Value TransposeBlock(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() != 6) return Fail(env, "transposeBlock takes 6 arguments"), env.Undefined();
  Napi::Float32Array S, O;
  int64_t count, n, queries, start;
  if (!GetF32(info, 0, "scores", &S) || !GetInt(info, 1, "count", &count) || !GetInt(info, 2, "n", &n) || !GetF32(info, 3, "out", &O) ||
      !GetInt(info, 4, "queries", &queries) || !GetInt(info, 5, "start", &start)) {
    return env.Undefined();
  }
  if (uint64_t(count) * uint64_t(n) > S.ElementLength()) return Fail(env, "transposeBlock: scores too small for count x n"), env.Undefined();
  if (start + count > queries || uint64_t(n) * uint64_t(queries) > O.ElementLength()) return Fail(env, "transposeBlock: out too small for n x queries"), env.Undefined();
  const float *in = S.Data();
  float *out = O.Data();
  ParallelRanges(size_t(n), 64, [=](size_t first, size_t last) {
    for (size_t j0 = first; j0 < last; j0 += 16) {
      const size_t j1 = std::min(last, j0 + 16);
      for (int64_t b0 = 0; b0 < count; b0 += 64) {
        const int64_t b1 = std::min(count, b0 + 64);
        for (size_t j = j0; j < j1; ++j) {
          float *row = out + j * size_t(queries) + size_t(start);
          for (int64_t b = b0; b < b1; ++b) row[b] = in[size_t(b) * size_t(n) + j];
        }
      }
    }
  }, WorkerPool::Instance().Cores());
  return env.Undefined();
}

// searchBatch(queries, q, data, n, d, k, allowed, positions, scores): the k best rows of data (n x d) for each of
// the q queries (batch_search.h); allowed: a Uint8Array of n or null; positions (Int32Array) and scores
// (Float32Array) receive q x k, best first, -1 / NaN past the allowed rows.
Napi::Value SearchBatch(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() != 9) return Fail(env, "searchBatch takes 9 arguments"), env.Undefined();
  Napi::Float32Array Q, D, S;
  int64_t q, n, d, k;
  if (!GetF32(info, 0, "queries", &Q) || !GetInt(info, 1, "q", &q) || !GetF32(info, 2, "data", &D) || !GetInt(info, 3, "n", &n) ||
      !GetInt(info, 4, "d", &d) || !GetInt(info, 5, "k", &k) || !GetF32(info, 8, "scores", &S)) {
    return env.Undefined();
  }
  const uint8_t *allowed;
  Napi::Int32Array P;
  if (!GetAllowed(info, 6, n, "searchBatch", &allowed) || !GetTyped(info, 7, "positions", napi_int32_array, "an Int32Array", &P)) return env.Undefined();
  if (d < 1 || uint64_t(q * d) > Q.ElementLength() || uint64_t(n * d) > D.ElementLength()) return Fail(env, "searchBatch: queries or data too small for their shape"), env.Undefined();
  if (uint64_t(q * k) > P.ElementLength() || uint64_t(q * k) > S.ElementLength()) return Fail(env, "searchBatch: positions or scores shorter than q x k"), env.Undefined();
  if (q > 0 && k > 0) batch::SearchBatch(Q.Data(), q, D.Data(), n, d, k, allowed, P.Data(), S.Data());
  return env.Undefined();
}

// searchBatchCoded(queries, q, data, codes, scales, codeSums, codeNorms, n, d, k, allowed, boundScale, margin,
// positions, scores): searchBatch's results through int8 codes first (batch_coded.h), each hit's score the
// single-query product's. Returns the number of candidates scored in float32, or -1 where the processor lacks
// AVX-512 VNNI (nothing written).
Napi::Value SearchBatchCoded(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() != 15) return Fail(env, "searchBatchCoded takes 15 arguments"), env.Undefined();
  Napi::Float32Array Q, D, Sc, S;
  Napi::Int8Array C;
  Napi::Int32Array Sums, Norms, P;
  int64_t q, n, d, k;
  double boundScale, margin;
  if (!GetF32(info, 0, "queries", &Q) || !GetInt(info, 1, "q", &q) || !GetF32(info, 2, "data", &D) ||
      !GetTyped(info, 3, "codes", napi_int8_array, "an Int8Array", &C) || !GetF32(info, 4, "scales", &Sc) ||
      !GetTyped(info, 5, "codeSums", napi_int32_array, "an Int32Array", &Sums) || !GetTyped(info, 6, "codeNorms", napi_int32_array, "an Int32Array", &Norms) ||
      !GetInt(info, 7, "n", &n) || !GetInt(info, 8, "d", &d) || !GetInt(info, 9, "k", &k) || !GetNum(info, 11, "boundScale", &boundScale) ||
      !GetNum(info, 12, "margin", &margin) || !GetTyped(info, 13, "positions", napi_int32_array, "an Int32Array", &P) || !GetF32(info, 14, "scores", &S)) {
    return env.Undefined();
  }
  const uint8_t *allowed;
  if (!GetAllowed(info, 10, n, "searchBatchCoded", &allowed)) return env.Undefined();
  if (d < 1 || uint64_t(q * d) > Q.ElementLength() || uint64_t(n * d) > D.ElementLength() || uint64_t(n * d) > C.ElementLength() ||
      uint64_t(n) > Sc.ElementLength() || uint64_t(n) > Sums.ElementLength() || uint64_t(n) > Norms.ElementLength()) {
    return Fail(env, "searchBatchCoded: queries, data or codes too small for their shape"), env.Undefined();
  }
  if (uint64_t(q * k) > P.ElementLength() || uint64_t(q * k) > S.ElementLength()) return Fail(env, "searchBatchCoded: positions or scores shorter than q x k"), env.Undefined();
  if (!(boundScale >= 0) || !(margin >= 0)) return Fail(env, "searchBatchCoded: boundScale and margin must be >= 0"), env.Undefined();
  if (!coded::Supported()) return Napi::Number::New(env, -1);
  if (q == 0 || k == 0) return Napi::Number::New(env, 0);
  const int64_t scored = coded::SearchBatchCoded(Q.Data(), q, D.Data(), C.Data(), Sc.Data(), Sums.Data(), Norms.Data(), n, d, k, allowed,
                                                 float(boundScale), float(margin), P.Data(), S.Data());
  return Napi::Number::New(env, double(scored));
}

// scanF32(query, data, rows, n, d, out): out[i] = query . data[rows[i]] (rows an Int32Array) or query . data[i]
// (rows null) for i < n, each a fixed-order dot product (scan_i8.h), on the pool's threads.
Napi::Value ScanF32(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() != 6) return Fail(env, "scanF32 takes 6 arguments"), env.Undefined();
  Napi::Float32Array Q, D, O;
  int64_t n, d;
  if (!GetF32(info, 0, "query", &Q) || !GetF32(info, 1, "data", &D) || !GetInt(info, 3, "n", &n) || !GetInt(info, 4, "d", &d) ||
      !GetF32(info, 5, "out", &O)) {
    return env.Undefined();
  }
  const int32_t *rows = nullptr;
  const uint64_t stored = d > 0 ? D.ElementLength() / uint64_t(d) : 0;
  if (!info[2].IsNull()) {
    if (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
      return Fail(env, "rows must be an Int32Array or null"), env.Undefined();
    }
    Napi::Int32Array R = info[2].As<Napi::Int32Array>();
    if ((uint64_t)n > R.ElementLength()) return Fail(env, "scanF32: rows shorter than n"), env.Undefined();
    rows = R.Data();
    for (int64_t i = 0; i < n; ++i) if (rows[i] < 0 || uint64_t(rows[i]) >= stored) return Fail(env, "scanF32: a row outside data"), env.Undefined();
  } else if ((uint64_t)n > stored) {
    return Fail(env, "scanF32: data too small for n x d"), env.Undefined();
  }
  if ((uint64_t)d > Q.ElementLength() || (uint64_t)n > O.ElementLength()) return Fail(env, "scanF32: query or out too small"), env.Undefined();
  scan::ScanF32(Q.Data(), D.Data(), rows, n, d, O.Data());
  return env.Undefined();
}

// encodeHalves(rows, n, d, halves, norms): binary16 copies of n x d float32 rows (round to nearest even) and each
// row's L2 norm, rounded up (scan_f16.h).
Napi::Value EncodeHalves(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() != 5) return Fail(env, "encodeHalves takes 5 arguments"), env.Undefined();
  Napi::Float32Array R, N;
  Napi::Uint16Array H;
  int64_t n, d;
  if (!GetF32(info, 0, "rows", &R) || !GetInt(info, 1, "n", &n) || !GetInt(info, 2, "d", &d) ||
      !GetTyped(info, 3, "halves", napi_uint16_array, "a Uint16Array", &H) || !GetF32(info, 4, "norms", &N)) {
    return env.Undefined();
  }
  if (uint64_t(n * d) > R.ElementLength() || uint64_t(n * d) > H.ElementLength() || uint64_t(n) > N.ElementLength()) {
    return Fail(env, "encodeHalves: rows, halves or norms too small for n x d"), env.Undefined();
  }
  half::Encode(R.Data(), n, d, H.Data(), N.Data());
  return env.Undefined();
}

// searchHalf(query, halves, norms, data, n, d, k, allowed, boundScale, margin, positions, scores): one query's exact
// top k through the halves first (scan_f16.h); returns the rows scored again in float32, or -1 where fewer than k
// allowed rows have a finite approximation (the caller then scans in full).
Napi::Value SearchHalf(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() != 12) return Fail(env, "searchHalf takes 12 arguments"), env.Undefined();
  Napi::Float32Array Q, Nm, D, S;
  Napi::Uint16Array H;
  Napi::Int32Array P;
  int64_t n, d, k;
  double boundScale, margin;
  if (!GetF32(info, 0, "query", &Q) || !GetTyped(info, 1, "halves", napi_uint16_array, "a Uint16Array", &H) || !GetF32(info, 2, "norms", &Nm) ||
      !GetF32(info, 3, "data", &D) || !GetInt(info, 4, "n", &n) || !GetInt(info, 5, "d", &d) || !GetInt(info, 6, "k", &k) ||
      !GetNum(info, 8, "boundScale", &boundScale) || !GetNum(info, 9, "margin", &margin) ||
      !GetTyped(info, 10, "positions", napi_int32_array, "an Int32Array", &P) || !GetF32(info, 11, "scores", &S)) {
    return env.Undefined();
  }
  const uint8_t *allowed;
  if (!GetAllowed(info, 7, n, "searchHalf", &allowed)) return env.Undefined();
  if (d < 1 || uint64_t(d) > Q.ElementLength() || uint64_t(n * d) > H.ElementLength() || uint64_t(n * d) > D.ElementLength() || uint64_t(n) > Nm.ElementLength()) {
    return Fail(env, "searchHalf: query, halves, norms or data too small for n x d"), env.Undefined();
  }
  if (uint64_t(k) > P.ElementLength() || uint64_t(k) > S.ElementLength()) return Fail(env, "searchHalf: positions or scores shorter than k"), env.Undefined();
  if (!(boundScale >= 0) || !(margin >= 0)) return Fail(env, "searchHalf: boundScale and margin must be >= 0"), env.Undefined();
  if (k == 0) return Napi::Number::New(env, 0);
  const int64_t scored = half::Search(Q.Data(), H.Data(), Nm.Data(), D.Data(), n, d, k, allowed, boundScale, margin, P.Data(), S.Data());
  return Napi::Number::New(env, double(scored));
}

// scanI8(query, codes, scales, n, d, out): out[r] = scales[r] x (query . codes[r]) for the n rows of int8 codes
// (scan_i8.h), on the pool's threads.
Napi::Value ScanI8(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() != 6) return Fail(env, "scanI8 takes 6 arguments"), env.Undefined();
  Napi::Float32Array Q, S, O;
  int64_t n, d;
  if (!GetF32(info, 0, "query", &Q) || !GetF32(info, 2, "scales", &S) || !GetInt(info, 3, "n", &n) || !GetInt(info, 4, "d", &d) ||
      !GetF32(info, 5, "out", &O)) {
    return env.Undefined();
  }
  if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int8_array) {
    return Fail(env, "codes must be an Int8Array"), env.Undefined();
  }
  Napi::Int8Array C = info[1].As<Napi::Int8Array>();
  if ((uint64_t)d > Q.ElementLength() || (uint64_t)(n * d) > C.ElementLength() || (uint64_t)n > S.ElementLength() || (uint64_t)n > O.ElementLength()) {
    return Fail(env, "scanI8: buffers too small for n x d"), env.Undefined();
  }
  scan::Scan(Q.Data(), C.Data(), S.Data(), n, d, O.Data());
  return env.Undefined();
}

// symmetricEigen(a, n, w): eigen-decomposition of a symmetric n x n float64 matrix (LAPACK dsyevd). On return
// w holds the eigenvalues in ascending order and, read row-major, row i of a is the i-th eigenvector.
Napi::Value SymmetricEigen(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() != 3 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      !info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    return Fail(env, "symmetricEigen(a: Float64Array, n, w: Float64Array)"), env.Undefined();
  }
  int64_t n64;
  if (!GetInt(info, 1, "n", &n64)) return env.Undefined();
  Napi::Float64Array A = info[0].As<Napi::Float64Array>();
  Napi::Float64Array W = info[2].As<Napi::Float64Array>();
  if ((uint64_t)(n64 * n64) > A.ElementLength() || (uint64_t)n64 > W.ElementLength()) {
    return Fail(env, "symmetricEigen: buffers too small for n"), env.Undefined();
  }
  const int n = (int)n64;
  if (n == 0) return env.Undefined();
  int info_ = 0, lwork = -1, liwork = -1, iworkQuery = 0;
  double workQuery = 0;
  dsyevd_("V", "U", &n, A.Data(), &n, W.Data(), &workQuery, &lwork, &iworkQuery, &liwork, &info_);
  lwork = (int)workQuery;
  liwork = iworkQuery;
  std::vector<double> work(std::max(1, lwork));
  std::vector<int> iwork(std::max(1, liwork));
  dsyevd_("V", "U", &n, A.Data(), &n, W.Data(), work.data(), &lwork, iwork.data(), &liwork, &info_);
  if (info_ != 0) return Fail(env, "symmetricEigen: dsyevd did not converge"), env.Undefined();
  return env.Undefined();
}

Napi::Value Info(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  const char *core = openblas_get_corename();
  out.Set("core", Napi::String::New(env, core ? core : "unknown"));
  out.Set("threads", Napi::Number::New(env, double(WorkerPool::Instance().Limit())));
  out.Set("blasThreads", Napi::Number::New(env, openblas_get_num_threads()));
  out.Set("wideThinProducts", Napi::Number::New(env, double(thin::wideCalls.load())));
  out.Set("swappedProducts", Napi::Number::New(env, double(swappedProducts.load())));
  return out;
}

// setThreads(n): the number of threads the addon's parallel loops and products may use (1 to the pool's size).
Napi::Value SetThreads(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int64_t n;
  if (!GetInt(info, 0, "threads", &n)) return env.Undefined();
  if (n < 1) return Fail(env, "threads must be at least 1"), env.Undefined();
  WorkerPool &pool = WorkerPool::Instance();
  pool.SetLimit(size_t(n));
  if (!blasSplit.load()) openblas_set_num_threads(int(pool.Limit()));
  return env.Undefined();
}

// sumRows(x, rows, cols, out, divisor): out[j] = (x[0][j] + x[1][j] + ... in row order) / divisor, the column sums
// (or means) of a row-major matrix in exactly the wasm backend's order and rounding, without its transpose.
XMODAL_AVX2_CLONES
void SumRowsLoop(const float *__restrict x, int64_t rows, int64_t cols, float *__restrict out, float divisor) {
  std::fill(out, out + cols, 0.0f);
  for (int64_t i = 0; i < rows; ++i) {
    const float *__restrict row = x + i * cols;
    for (int64_t j = 0; j < cols; ++j) out[j] += row[j];
  }
  if (divisor != 1.0f)
    for (int64_t j = 0; j < cols; ++j) out[j] /= divisor;
}

Napi::Value SumRows(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() != 5) return Fail(env, "sumRows takes 5 arguments"), env.Undefined();
  Napi::Float32Array X, O;
  int64_t rows, cols;
  double divisor;
  if (!GetF32(info, 0, "x", &X) || !GetInt(info, 1, "rows", &rows) || !GetInt(info, 2, "cols", &cols) ||
      !GetF32(info, 3, "out", &O) || !GetNum(info, 4, "divisor", &divisor)) {
    return env.Undefined();
  }
  if (rows < 0 || cols < 0 || (uint64_t)(rows * cols) > X.ElementLength() || (uint64_t)cols > O.ElementLength()) {
    return Fail(env, "sumRows: buffers too small for rows x cols"), env.Undefined();
  }
  SumRowsLoop(X.Data(), rows, cols, O.Data(), (float)divisor);
  return env.Undefined();
}

// activation(kind, x, dy, alpha, out): native/activation.h. kind 0: out = LeakyRelu(x) (dy ignored); 1: LeakyRelu's
// gradient; 2: Relu's gradient. x, out (and dy for the gradients) have the same length.
Napi::Value Activation(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() != 5) return Fail(env, "activation takes 5 arguments"), env.Undefined();
  Napi::Float32Array X, D, O;
  int64_t kind;
  double alpha;
  if (!GetInt(info, 0, "kind", &kind) || !GetF32(info, 1, "x", &X) || !GetF32(info, 2, "dy", &D) ||
      !GetNum(info, 3, "alpha", &alpha) || !GetF32(info, 4, "out", &O)) {
    return env.Undefined();
  }
  const int64_t n = int64_t(X.ElementLength());
  if (kind < 0 || kind > 2) return Fail(env, "activation: kind must be 0, 1 or 2"), env.Undefined();
  if (O.ElementLength() != size_t(n) || (kind > 0 && D.ElementLength() != size_t(n))) {
    return Fail(env, "activation: x, dy and out must have the same length"), env.Undefined();
  }
  const float a = float(alpha);
  const float *x = X.Data(), *dy = D.Data();
  float *out = O.Data();
  if (kind == 0) activation::LeakyRelu(x, n, a, out);
  else if (kind == 1) activation::LeakyReluGrad(dy, x, n, a, out);
  else activation::ReluGrad(dy, x, n, out);
  return env.Undefined();
}

// batchNormForward(x, rows, cols, gamma, beta, eps, y, mean, variance, xhat, invStd): native/batch_norm.h.
Napi::Value BatchNormForward(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() != 11) return Fail(env, "batchNormForward takes 11 arguments"), env.Undefined();
  Napi::Float32Array X, G, B, Y, M, V, H, S;
  int64_t rows, cols;
  double eps;
  if (!GetF32(info, 0, "x", &X) || !GetInt(info, 1, "rows", &rows) || !GetInt(info, 2, "cols", &cols) ||
      !GetF32(info, 3, "gamma", &G) || !GetF32(info, 4, "beta", &B) || !GetNum(info, 5, "eps", &eps) ||
      !GetF32(info, 6, "y", &Y) || !GetF32(info, 7, "mean", &M) || !GetF32(info, 8, "variance", &V) ||
      !GetF32(info, 9, "xhat", &H) || !GetF32(info, 10, "invStd", &S)) {
    return env.Undefined();
  }
  const uint64_t size = uint64_t(rows) * uint64_t(cols);
  if (rows < 1 || cols < 0 || X.ElementLength() < size || Y.ElementLength() < size || H.ElementLength() < size ||
      G.ElementLength() < uint64_t(cols) || B.ElementLength() < uint64_t(cols) || M.ElementLength() < uint64_t(cols) ||
      V.ElementLength() < uint64_t(cols) || S.ElementLength() < uint64_t(cols)) {
    return Fail(env, "batchNormForward: buffers too small for rows x cols (rows >= 1)"), env.Undefined();
  }
  bn::Forward(X.Data(), rows, cols, G.Data(), B.Data(), float(eps), Y.Data(), M.Data(), V.Data(), H.Data(), S.Data());
  return env.Undefined();
}

// batchNormBackward(dy, xhat, invStd, gamma, rows, cols, dx, dgamma, dbeta): native/batch_norm.h.
Napi::Value BatchNormBackward(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() != 9) return Fail(env, "batchNormBackward takes 9 arguments"), env.Undefined();
  Napi::Float32Array DY, H, S, G, DX, DG, DB;
  int64_t rows, cols;
  if (!GetF32(info, 0, "dy", &DY) || !GetF32(info, 1, "xhat", &H) || !GetF32(info, 2, "invStd", &S) ||
      !GetF32(info, 3, "gamma", &G) || !GetInt(info, 4, "rows", &rows) || !GetInt(info, 5, "cols", &cols) ||
      !GetF32(info, 6, "dx", &DX) || !GetF32(info, 7, "dgamma", &DG) || !GetF32(info, 8, "dbeta", &DB)) {
    return env.Undefined();
  }
  const uint64_t size = uint64_t(rows) * uint64_t(cols);
  if (rows < 1 || cols < 0 || DY.ElementLength() < size || H.ElementLength() < size || DX.ElementLength() < size ||
      S.ElementLength() < uint64_t(cols) || G.ElementLength() < uint64_t(cols) || DG.ElementLength() < uint64_t(cols) ||
      DB.ElementLength() < uint64_t(cols)) {
    return Fail(env, "batchNormBackward: buffers too small for rows x cols (rows >= 1)"), env.Undefined();
  }
  bn::Backward(DY.Data(), H.Data(), S.Data(), G.Data(), rows, cols, DX.Data(), DG.Data(), DB.Data());
  return env.Undefined();
}

// setThinKernels(enabled): turns the thin-product kernels on or off; returns the previous setting.
Napi::Value SetThinKernels(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsBoolean()) return Fail(env, "setThinKernels(enabled: boolean)"), env.Undefined();
  return Napi::Boolean::New(env, thinKernels.exchange(info[0].As<Napi::Boolean>().Value()));
}

// setWideThinKernels(enabled): the forward thin product and the rank-K weight gradient through their AVX-512 kernels
// where the processor has them (default), or the AVX2 kernels as before; same bits either way. Returns the previous
// setting.
Napi::Value SetWideThinKernels(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsBoolean()) return Fail(env, "setWideThinKernels(enabled: boolean)"), env.Undefined();
  return Napi::Boolean::New(env, thin::wideKernels.exchange(info[0].As<Napi::Boolean>().Value()));
}

// setBlasSwap(enabled): thin op(A) B^T products computed as C^T = B op(A)^T (the default), or as written; returns
// the previous setting.
Napi::Value SetBlasSwap(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsBoolean()) return Fail(env, "setBlasSwap(enabled: boolean)"), env.Undefined();
  return Napi::Boolean::New(env, blasSwap.exchange(info[0].As<Napi::Boolean>().Value()));
}

// setBlasSplit(enabled): xmodal's pool shares large products between cores (OpenBLAS single-threaded), or OpenBLAS
// threads them itself (as many threads as the pool has cores); returns the previous setting.
Napi::Value SetBlasSplit(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsBoolean()) return Fail(env, "setBlasSplit(enabled: boolean)"), env.Undefined();
  const bool enabled = info[0].As<Napi::Boolean>().Value();
  openblas_set_num_threads(enabled ? 1 : int(WorkerPool::Instance().Limit()));
  return Napi::Boolean::New(env, blasSplit.exchange(enabled));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  if (blasSplit.load()) openblas_set_num_threads(1);
  exports.Set("setBlasSplit", Napi::Function::New(env, SetBlasSplit));
  exports.Set("setBlasSwap", Napi::Function::New(env, SetBlasSwap));
  exports.Set("setThinKernels", Napi::Function::New(env, SetThinKernels));
  exports.Set("setWideThinKernels", Napi::Function::New(env, SetWideThinKernels));
  exports.Set("sumRows", Napi::Function::New(env, SumRows));
  exports.Set("activation", Napi::Function::New(env, Activation));
  exports.Set("batchNormForward", Napi::Function::New(env, BatchNormForward));
  exports.Set("batchNormBackward", Napi::Function::New(env, BatchNormBackward));
  exports.Set("sgemm", Napi::Function::New(env, Sgemm));
  exports.Set("adam", Napi::Function::New(env, Adam));
  exports.Set("sgemmAsync", Napi::Function::New(env, SgemmAsync));
  exports.Set("rankRows", Napi::Function::New(env, RankRows));
  exports.Set("evaluateRows", Napi::Function::New(env, EvaluateRows));
  exports.Set("transposeBlock", Napi::Function::New(env, TransposeBlock));
  exports.Set("searchBatch", Napi::Function::New(env, SearchBatch));
  exports.Set("searchBatchCoded", Napi::Function::New(env, SearchBatchCoded));
  exports.Set("scanI8", Napi::Function::New(env, ScanI8));
  exports.Set("scanF32", Napi::Function::New(env, ScanF32));
  exports.Set("encodeHalves", Napi::Function::New(env, EncodeHalves));
  exports.Set("searchHalf", Napi::Function::New(env, SearchHalf));
  exports.Set("symmetricEigen", Napi::Function::New(env, SymmetricEigen));
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  return exports;
}

}  // namespace

NODE_API_MODULE(xmodal_native, Init)
