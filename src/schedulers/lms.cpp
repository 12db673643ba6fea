// lms.cpp: the linear multistep method (order 4) on the probability-flow ODE in sigma (Karras et
// al. 2022 / k-diffusion sample_lms): the slopes of the last steps weighted by the integrals of
// their Lagrange basis polynomials over the step; mirrors diffusers 0.25
// scheduling_lms_discrete.py LMSDiscreteScheduler (which integrates with scipy's quad: exact
// here with Gauss-Legendre, the integrands being polynomials of degree < 4).
#include <algorithm>
#include <array>
#include <cmath>
#include <deque>

#include "schedulers/registry.h"
#include "schedulers/sigma_sampler.h"

namespace pangu_draw::schedulers {

namespace {

constexpr int kOrder = 4;  // diffusers' default order of step()

class LMS final : public SigmaSampler {
 public:
  using SigmaSampler::SigmaSampler;

 protected:
  torch::Tensor step(const torch::Tensor& x, const Denoiser& denoiser, int i) override {
    if (prev_index_ != i - 1) derivatives_.clear();  // a hand-over restarts the history
    prev_index_ = i;
    const float sigma = sigma_at(i);
    const torch::Tensor x0 = denoise(x, sigma, step_timestep(i), i, denoiser);
    derivatives_.push_back((x - x0) / sigma);
    if (derivatives_.size() > static_cast<size_t>(kOrder)) derivatives_.pop_front();
    const int order = std::min(static_cast<int>(derivatives_.size()), kOrder);
    // diffusers: sample + sum(coeff_j * derivative_j), newest derivative first
    torch::Tensor sum;
    for (int j = 0; j < order; ++j) {
      const torch::Tensor term =
          derivatives_[derivatives_.size() - 1 - static_cast<size_t>(j)] * coefficient(order, i, j);
      sum = j == 0 ? term : sum + term;
    }
    return x + sum;
  }

 private:
  // The integral over [sigma_i, sigma_{i+1}] of the Lagrange basis polynomial of node j among
  // the nodes sigma_i, sigma_{i-1}, ..., sigma_{i-order+1}.
  double coefficient(int order, int i, int j) const {
    auto basis = [&](double tau) {
      double prod = 1.0;
      for (int k = 0; k < order; ++k) {
        if (k == j) continue;
        const double sk = sigma_at(i - k), sj = sigma_at(i - j);
        prod *= (tau - sk) / (sj - sk);
      }
      return prod;
    };
    // 4-point Gauss-Legendre: exact for polynomials of degree <= 7
    static constexpr std::array<double, 4> kNodes = {-0.8611363115940526, -0.3399810435848563,
                                                     0.3399810435848563, 0.8611363115940526};
    static constexpr std::array<double, 4> kWeights = {0.3478548451374538, 0.6521451548625461,
                                                       0.6521451548625461, 0.3478548451374538};
    const double a = sigma_at(i), b = sigma_at(i + 1);
    const double half = (b - a) / 2, mid = (a + b) / 2;
    double sum = 0;
    for (size_t q = 0; q < kNodes.size(); ++q) sum += kWeights[q] * basis(mid + half * kNodes[q]);
    return sum * half;
  }

  std::deque<torch::Tensor> derivatives_;  // the last kOrder slopes (x - x0) / sigma, newest last
  int prev_index_ = -2;
};

}  // namespace

std::unique_ptr<Sampler> make_lms(const NoiseScheduleConfig& config,
                                  const SamplerOptions& options) {
  return std::make_unique<LMS>(config, options);
}

}  // namespace pangu_draw::schedulers
