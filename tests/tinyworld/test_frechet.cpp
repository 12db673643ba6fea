// test_frechet.cpp: the Fréchet distance against closed forms (equal sets, shifted means,
// scaled 1-D variances) and the eigen-solver on a known matrix.
#include <gtest/gtest.h>

#include <cmath>

#include "frechet.h"
#include "pangu_draw/pangu_draw.h"
#include "scene.h"

namespace pangu_draw::tinyworld {
namespace {

std::vector<std::vector<double>> gaussian(int n, int dims, double shift, double scale,
                                          uint64_t seed) {
  Rng rng(seed);
  std::vector<std::vector<double>> out(n, std::vector<double>(dims));
  for (auto& row : out)
    for (double& v : row) {
      const double u1 = std::max(rng.uniform(), 1e-12), u2 = rng.uniform();
      v = shift + scale * std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2);
    }
  return out;
}

TEST(TinyWorldFrechet, ZeroForIdenticalSets) {
  const auto a = gaussian(200, 5, 0, 1, 1);
  EXPECT_NEAR(frechet_distance(a, a), 0.0, 1e-8);
}

TEST(TinyWorldFrechet, MeanShiftAndVarianceScale) {
  const auto a = gaussian(4000, 3, 0, 1, 2);
  auto b = a;
  for (auto& r : b)
    for (double& v : r) v += 2.0;
  EXPECT_NEAR(frechet_distance(a, b), 3 * 4.0, 1e-6);  // covariances equal: only ||dmu||^2
  auto c = a;
  for (auto& r : c)
    for (double& v : r) v *= 3.0;
  // 1-D closed form per independent dim: (s1 - s2)^2 = (1 - 3)^2 * var, var ~ 1.
  EXPECT_NEAR(frechet_distance(a, c), 3 * 4.0, 0.6);
}

TEST(TinyWorldFrechet, EigenDecomposition) {
  std::vector<double> values, vectors;
  symmetric_eigen({2, 1, 0, 1, 2, 0, 0, 0, 5}, 3, values, vectors);
  std::sort(values.begin(), values.end());
  EXPECT_NEAR(values[0], 1.0, 1e-12);
  EXPECT_NEAR(values[1], 3.0, 1e-12);
  EXPECT_NEAR(values[2], 5.0, 1e-12);
  EXPECT_THROW(frechet_distance({{1.0}}, {{1.0}, {2.0}}), Error);
}

}  // namespace
}  // namespace pangu_draw::tinyworld
