// Element-wise activations and their gradients in one pass each, for the tfjs LeakyRelu kernel and the LeakyRelu and
// Relu gradients that engine/activation-kernels.ts replaces. tfjs ran leakyRelu's gradient as three broadcasting
// wasm kernels and relu's as three more; the wasm LeakyRelu itself branches on every sign and mispredicts half of
// them on real activations (600 us for 100 x 1386). Each formula is the float32 arithmetic of the tfjs version, so
// the bits are the same:
//   LeakyRelu(x)     = x < 0 ? alpha x : x                                  (the wasm kernel)
//   its gradient     = x > 0 ? dy : dy alpha                                (where(greater(x, 0), dy, mul(dy, alpha)))
//   Relu's gradient  = dy step(x), step(x) = x > 0 ? 1 : (x is NaN ? NaN : 0)   (mul(dy, cast(step(x))))
// Both sides of each choice are computed and one is kept by a bit mask, so the loops have no branch and vectorise.
#pragma once
#include <cstdint>
#include <cstring>

namespace activation {

inline float Pick(bool first, float a, float b) {
  uint32_t ua, ub;
  std::memcpy(&ua, &a, 4);
  std::memcpy(&ub, &b, 4);
  const uint32_t mask = 0u - uint32_t(first);
  const uint32_t r = (ua & mask) | (ub & ~mask);
  float out;
  std::memcpy(&out, &r, 4);
  return out;
}

inline void LeakyRelu(const float *x, int64_t n, float alpha, float *out) {
  for (int64_t i = 0; i < n; ++i) out[i] = Pick(x[i] < 0, alpha * x[i], x[i]);
}

inline void LeakyReluGrad(const float *dy, const float *x, int64_t n, float alpha, float *out) {
  for (int64_t i = 0; i < n; ++i) out[i] = Pick(x[i] > 0, dy[i], dy[i] * alpha);
}

inline void ReluGrad(const float *dy, const float *x, int64_t n, float *out) {
  for (int64_t i = 0; i < n; ++i) out[i] = dy[i] * Pick(x[i] > 0, 1.0f, Pick(x[i] != x[i], x[i], 0.0f));
}

}  // namespace activation
