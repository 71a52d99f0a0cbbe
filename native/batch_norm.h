// Training-mode batch norm over the rows of a rows x cols matrix, forward and backward, each one pass of the addon
// instead of a dozen wasm kernels (src/engine/batchnorm-kernel.ts). The forward pass is tf.moments' arithmetic and
// the affine, operation by operation in float32 with no contraction (the build has -ffp-contract=off) and column
// sums in row order as sumRows does, so its outputs are the bits of the op-by-op form.
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

namespace bn {

// Column j's sum over the rows in row order, divided by `divisor` (SumRowsLoop's order and rounding).
inline void ColumnMeans(const float *x, int64_t rows, int64_t cols, float *out, float divisor) {
  for (int64_t j = 0; j < cols; ++j) out[j] = 0.0f;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) out[j] += x[i * cols + j];
  for (int64_t j = 0; j < cols; ++j) out[j] /= divisor;
}

// mean, variance (biased), invStd = 1 / sqrt(variance + eps), xhat = (x - mean) invStd, y = xhat gamma + beta.
inline void Forward(const float *x, int64_t rows, int64_t cols, const float *gamma, const float *beta, float eps,
                    float *y, float *mean, float *variance, float *xhat, float *invStd) {
  const float n = static_cast<float>(rows);
  ColumnMeans(x, rows, cols, mean, n);
  // xhat holds x - mean until the variance is known.
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) xhat[i * cols + j] = x[i * cols + j] - mean[j];
  for (int64_t j = 0; j < cols; ++j) variance[j] = 0.0f;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      const float d = xhat[i * cols + j];
      const float square = d * d;
      variance[j] += square;
    }
  for (int64_t j = 0; j < cols; ++j) {
    variance[j] /= n;
    invStd[j] = 1.0f / std::sqrt(variance[j] + eps);
  }
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      const float h = xhat[i * cols + j] * invStd[j];
      xhat[i * cols + j] = h;
      const float scaled = h * gamma[j];
      y[i * cols + j] = scaled + beta[j];
    }
}

// dbeta = sum(dy), dgamma = sum(dy xhat), dx = (dxhat - mean(dxhat) - xhat mean(dxhat xhat)) invStd with
// dxhat = dy gamma (column sums in row order).
inline void Backward(const float *dy, const float *xhat, const float *invStd, const float *gamma, int64_t rows,
                     int64_t cols, float *dx, float *dgamma, float *dbeta) {
  const float n = static_cast<float>(rows);
  std::vector<float> m1(cols, 0.0f), m2(cols, 0.0f);
  for (int64_t j = 0; j < cols; ++j) dgamma[j] = dbeta[j] = 0.0f;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      const float g = dy[i * cols + j];
      const float h = xhat[i * cols + j];
      const float gh = g * h;
      const float dh = g * gamma[j];
      const float dhh = dh * h;
      dbeta[j] += g;
      dgamma[j] += gh;
      m1[j] += dh;
      m2[j] += dhh;
    }
  for (int64_t j = 0; j < cols; ++j) {
    m1[j] /= n;
    m2[j] /= n;
  }
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      const float dh = dy[i * cols + j] * gamma[j];
      const float centred = dh - m1[j];
      const float projected = xhat[i * cols + j] * m2[j];
      const float diff = centred - projected;
      dx[i * cols + j] = diff * invStd[j];
    }
}

}  // namespace bn
