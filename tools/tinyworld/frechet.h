// frechet.h: FID-style distribution distance between two sets of feature vectors (Gaussian fits,
// Fréchet distance), in plain C++ (symmetric eigendecompositions by Jacobi rotations).
#pragma once

#include <vector>

namespace pangu_draw::tinyworld {

// ||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2) over rows of equal length.
// Needs >= 2 rows per set; throws Error{Input} otherwise.
double frechet_distance(const std::vector<std::vector<double>>& a,
                        const std::vector<std::vector<double>>& b);

// Eigen-decomposition of a symmetric n x n matrix (row-major): eigenvalues, eigenvectors as
// columns of `vectors`. Exposed for tests.
void symmetric_eigen(std::vector<double> m, int n, std::vector<double>& values,
                     std::vector<double>& vectors);

}  // namespace pangu_draw::tinyworld
