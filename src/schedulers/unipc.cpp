// unipc.cpp: UniPC (Zhao et al. 2023, arXiv 2302.04867): the UniP-2 predictor and UniC corrector
// with B(h) = e^h - 1 ("bh2"), on data predictions in half-log-SNR lambda; mirrors diffusers 0.25
// scheduling_unipc_multistep.py with its defaults (solver_order 2, predict_x0, bh2,
// lower_order_final, the corrector on every step but the first).
#include <cmath>
#include <deque>

#include "schedulers/dpm_grid.h"
#include "schedulers/registry.h"

namespace pangu_draw::schedulers {

namespace {

constexpr int kOrder = 2;  // diffusers' default solver_order

// Solves the small system a x = b (Gaussian elimination with partial pivoting), float32 as
// torch.linalg.solve on diffusers' float32 tensors.
std::vector<float> solve(std::vector<std::vector<float>> a, std::vector<float> b) {
  const size_t n = b.size();
  for (size_t col = 0; col < n; ++col) {
    size_t pivot = col;
    for (size_t r = col + 1; r < n; ++r) {
      if (std::fabs(a[r][col]) > std::fabs(a[pivot][col])) pivot = r;
    }
    std::swap(a[col], a[pivot]);
    std::swap(b[col], b[pivot]);
    for (size_t r = col + 1; r < n; ++r) {
      const float f = a[r][col] / a[col][col];
      for (size_t k = col; k < n; ++k) a[r][k] -= f * a[col][k];
      b[r] -= f * b[col];
    }
  }
  std::vector<float> x(n);
  for (size_t r = n; r-- > 0;) {
    float s = b[r];
    for (size_t k = r + 1; k < n; ++k) s -= a[r][k] * x[k];
    x[r] = s / a[r][r];
  }
  return x;
}

class UniPC final : public DpmGridSampler {
 public:
  UniPC(const NoiseScheduleConfig& config, const SamplerOptions& options)
      : DpmGridSampler(config, options, /*clip_lambda=*/false) {}

 protected:
  torch::Tensor step(const torch::Tensor& x, const Denoiser& denoiser, int i) override {
    if (prev_index_ != i - 1) {  // a hand-over: restart the multistep history
      history_.clear();
      last_sample_ = torch::Tensor();
      warmup_ = 0;
    }
    const torch::Tensor m =
        data_prediction(denoiser(x, step_info(i)).to(x.dtype()), x, alpha_sigma(sigma_at(i)));
    // UniC: correct this step's input with its own model output (m was computed before it)
    const torch::Tensor sample = last_sample_.defined() ? correct(m, i) : x;
    history_.push_back(m);
    if (history_.size() > static_cast<size_t>(kOrder)) history_.pop_front();
    const int n = num_steps();
    int order = schedule_.config().lower_order_final ? std::min(kOrder, n - i) : kOrder;
    order_ = std::min(order, warmup_ + 1);
    last_sample_ = sample;
    warmup_ = std::min(warmup_ + 1, kOrder);
    prev_index_ = i;
    return predict(sample, i, order_);
  }

 private:
  // The shared parts of UniP and UniC between steps s0 (base) and t: lambdas, B(h), the
  // coefficient system R / b over the ratios r_k of the older steps.
  struct Frame {
    AlphaSigma t, s0;
    float h_phi_1, b_h;
    std::vector<float> r;                  // r_1 .. r_{order-1}, then 1
    std::vector<std::vector<float>> rows;  // R: rows r^(i-1)
    std::vector<float> rhs;                // b
  };

  Frame frame(int t_index, int s0_index, const std::vector<int>& older, int order) const {
    Frame f{alpha_sigma(sigma_at(t_index)), alpha_sigma(sigma_at(s0_index)), 0, 0, {}, {}, {}};
    const float h = f.t.lambda - f.s0.lambda;
    for (int si : older) f.r.push_back((alpha_sigma(sigma_at(si)).lambda - f.s0.lambda) / h);
    f.r.push_back(1.0f);
    const float hh = -h;  // predict_x0
    f.h_phi_1 = std::expm1(hh);
    f.b_h = std::expm1(hh);  // bh2
    float h_phi_k = f.h_phi_1 / hh - 1.0f;
    float factorial = 1.0f;
    for (int k = 1; k <= order; ++k) {
      std::vector<float> row;
      for (float rk : f.r) row.push_back(std::pow(rk, static_cast<float>(k - 1)));
      f.rows.push_back(row);
      f.rhs.push_back(h_phi_k * factorial / f.b_h);
      factorial *= static_cast<float>(k + 1);
      h_phi_k = h_phi_k / hh - 1.0f / factorial;
    }
    return f;
  }

  // D1_k = (m_k - m0) / r_k for the k-th older data prediction (history_ newest last).
  std::vector<torch::Tensor> differences(const Frame& f, size_t offset) const {
    std::vector<torch::Tensor> d;
    const torch::Tensor& m0 = history_[history_.size() - 1 - offset];
    for (size_t k = 0; k + 1 < f.r.size(); ++k) {
      d.push_back((history_[history_.size() - 2 - offset - k] - m0) / f.r[k]);
    }
    return d;
  }

  // UniP (multistep_uni_p_bh_update) from step i to i + 1.
  torch::Tensor predict(const torch::Tensor& x, int i, int order) const {
    std::vector<int> older;
    for (int k = 1; k < order; ++k) older.push_back(i - k);
    const Frame f = frame(i + 1, i, older, order);
    const torch::Tensor& m0 = history_.back();
    const torch::Tensor base = (f.t.sigma / f.s0.sigma) * x - (f.t.alpha * f.h_phi_1) * m0;
    const auto d = differences(f, 0);
    if (d.empty()) return base;
    std::vector<float> rhos{0.5f};  // diffusers' fixed rho for order 2
    if (order > 2) {
      std::vector<std::vector<float>> a(f.rows.begin(), f.rows.end() - 1);
      for (auto& row : a) row.pop_back();
      rhos = solve(a, std::vector<float>(f.rhs.begin(), f.rhs.end() - 1));
    }
    torch::Tensor res = rhos[0] * d[0];
    for (size_t k = 1; k < d.size(); ++k) res = res + rhos[k] * d[k];
    return base - (f.t.alpha * f.b_h) * res;
  }

  // UniC (multistep_uni_c_bh_update): step i - 1 -> i again, from the previous input, with the
  // model output m at step i; order_ is the order the previous prediction used.
  torch::Tensor correct(const torch::Tensor& m, int i) const {
    std::vector<int> older;
    for (int k = 1; k < order_; ++k) older.push_back(i - 1 - k);
    const Frame f = frame(i, i - 1, older, order_);
    const torch::Tensor& m0 = history_.back();
    const torch::Tensor base =
        (f.t.sigma / f.s0.sigma) * last_sample_ - (f.t.alpha * f.h_phi_1) * m0;
    const std::vector<float> rhos = order_ == 1 ? std::vector<float>{0.5f} : solve(f.rows, f.rhs);
    const auto d = differences(f, 0);
    torch::Tensor res = rhos.back() * (m - m0);
    if (!d.empty()) {
      torch::Tensor corr = rhos[0] * d[0];
      for (size_t k = 1; k < d.size(); ++k) corr = corr + rhos[k] * d[k];
      res = corr + res;
    }
    return base - (f.t.alpha * f.b_h) * res;
  }

  std::deque<torch::Tensor> history_;  // the last kOrder data predictions, newest last
  torch::Tensor last_sample_;          // the (corrected) input of the previous step
  int order_ = 1;                      // the order of the previous prediction
  int warmup_ = 0;                     // diffusers' lower_order_nums
  int prev_index_ = -2;
};

}  // namespace

std::unique_ptr<Sampler> make_unipc(const NoiseScheduleConfig& config,
                                    const SamplerOptions& options) {
  return std::make_unique<UniPC>(config, options);
}

}  // namespace pangu_draw::schedulers
