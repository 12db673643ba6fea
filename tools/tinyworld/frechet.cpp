// frechet.cpp: Gaussian statistics of feature sets and the Fréchet distance between them.
#include "frechet.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace pangu_draw::tinyworld {

namespace {

using Matrix = std::vector<double>;  // row-major n x n

void moments(const std::vector<std::vector<double>>& rows, int n, std::vector<double>& mean,
             Matrix& cov) {
  mean.assign(n, 0.0);
  cov.assign(static_cast<size_t>(n) * n, 0.0);
  for (const auto& r : rows)
    for (int i = 0; i < n; ++i) mean[i] += r[i] / rows.size();
  for (const auto& r : rows)
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) cov[i * n + j] += (r[i] - mean[i]) * (r[j] - mean[j]);
  for (double& c : cov) c /= static_cast<double>(rows.size() - 1);
}

Matrix multiply(const Matrix& a, const Matrix& b, int n) {
  Matrix out(static_cast<size_t>(n) * n, 0.0);
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < n; ++k)
      for (int j = 0; j < n; ++j) out[i * n + j] += a[i * n + k] * b[k * n + j];
  return out;
}

// Square root of a symmetric positive semi-definite matrix (negative eigenvalues clamped).
Matrix sqrt_psd(const Matrix& m, int n) {
  std::vector<double> values, vectors;
  symmetric_eigen(m, n, values, vectors);
  Matrix out(static_cast<size_t>(n) * n, 0.0);
  for (int k = 0; k < n; ++k) {
    const double s = std::sqrt(std::max(values[k], 0.0));
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) out[i * n + j] += s * vectors[i * n + k] * vectors[j * n + k];
  }
  return out;
}

}  // namespace

void symmetric_eigen(std::vector<double> m, int n, std::vector<double>& values,
                     std::vector<double>& vectors) {
  vectors.assign(static_cast<size_t>(n) * n, 0.0);
  for (int i = 0; i < n; ++i) vectors[i * n + i] = 1.0;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (int p = 0; p < n; ++p)
      for (int q = p + 1; q < n; ++q) off += m[p * n + q] * m[p * n + q];
    if (off < 1e-22) break;
    for (int p = 0; p < n; ++p)
      for (int q = p + 1; q < n; ++q) {
        if (std::fabs(m[p * n + q]) < 1e-300) continue;
        const double theta = (m[q * n + q] - m[p * n + p]) / (2 * m[p * n + q]);
        const double t =
            (theta >= 0 ? 1.0 : -1.0) / (std::fabs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int k = 0; k < n; ++k) {  // m = J^T m J, columns then rows
          const double mkp = m[k * n + p], mkq = m[k * n + q];
          m[k * n + p] = c * mkp - s * mkq, m[k * n + q] = s * mkp + c * mkq;
        }
        for (int k = 0; k < n; ++k) {
          const double mpk = m[p * n + k], mqk = m[q * n + k];
          m[p * n + k] = c * mpk - s * mqk, m[q * n + k] = s * mpk + c * mqk;
        }
        for (int k = 0; k < n; ++k) {
          const double vkp = vectors[k * n + p], vkq = vectors[k * n + q];
          vectors[k * n + p] = c * vkp - s * vkq, vectors[k * n + q] = s * vkp + c * vkq;
        }
      }
  }
  values.resize(n);
  for (int i = 0; i < n; ++i) values[i] = m[i * n + i];
}

double frechet_distance(const std::vector<std::vector<double>>& a,
                        const std::vector<std::vector<double>>& b) {
  PD_CHECK(a.size() >= 2 && b.size() >= 2, Input,
           "frechet_distance: need >= 2 vectors per set, got " << a.size() << " and " << b.size());
  const int n = static_cast<int>(a[0].size());
  for (const auto* set : {&a, &b})
    for (const auto& r : *set)
      PD_CHECK(static_cast<int>(r.size()) == n, Input, "frechet_distance: ragged feature vectors");
  std::vector<double> mu_a, mu_b;
  Matrix s_a, s_b;
  moments(a, n, mu_a, s_a);
  moments(b, n, mu_b, s_b);
  const Matrix root_a = sqrt_psd(s_a, n);
  const Matrix cross = sqrt_psd(multiply(multiply(root_a, s_b, n), root_a, n), n);
  double d = 0;
  for (int i = 0; i < n; ++i)
    d += (mu_a[i] - mu_b[i]) * (mu_a[i] - mu_b[i]) + s_a[i * n + i] + s_b[i * n + i] -
         2 * cross[i * n + i];
  return std::max(d, 0.0);
}

}  // namespace pangu_draw::tinyworld
