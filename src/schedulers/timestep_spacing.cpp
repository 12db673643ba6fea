// timestep_spacing.cpp: mirrors the set_timesteps spacing code of diffusers 0.25
// (scheduling_ddim.py, scheduling_euler_discrete.py, scheduling_dpmsolver_multistep.py) and the
// Karras / exponential sigma shapes.
#include "schedulers/timestep_spacing.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace pangu_draw::schedulers {

namespace {

// np.linspace(start, stop, n) with endpoint: i * step + start, the last value exactly stop.
std::vector<double> np_linspace(double start, double stop, int n) {
  std::vector<double> out(static_cast<size_t>(n));
  const double step = n > 1 ? (stop - start) / (n - 1) : 0.0;
  for (int i = 0; i < n; ++i) out[static_cast<size_t>(i)] = i * step + start;
  if (n > 1) out.back() = stop;
  return out;
}

// np.arange(start, stop, -step) for float step: length ceil((stop - start) / -step), values
// start + i * delta with delta = (start - step) - start as numpy fills them.
std::vector<double> np_arange_down(double start, double stop, double step) {
  const auto len = static_cast<int64_t>(std::ceil((stop - start) / -step));
  const double delta = (start - step) - start;
  std::vector<double> out;
  for (int64_t i = 0; i < len; ++i) out.push_back(i == 0 ? start : start + i * delta);
  return out;
}

double np_round(double v) { return std::nearbyint(v); }  // round half to even

}  // namespace

std::vector<double> spaced_timesteps(const NoiseScheduleConfig& c, int n, bool round_linspace) {
  const int64_t T = c.num_train_timesteps;
  PD_CHECK(n <= T, Usage,
           "steps " << n << " exceed the model's num_train_timesteps " << T << "; use fewer steps");
  std::vector<double> ts;
  if (c.timestep_spacing == "linspace") {
    ts = np_linspace(0, static_cast<double>(T - 1), n);
    for (auto& t : ts) t = round_linspace ? np_round(t) : static_cast<double>(static_cast<float>(t));
    std::reverse(ts.begin(), ts.end());
  } else if (c.timestep_spacing == "leading") {
    const int64_t ratio = T / n;
    for (int i = n - 1; i >= 0; --i) ts.push_back(static_cast<double>(i * ratio + c.steps_offset));
  } else {
    for (double t : np_arange_down(static_cast<double>(T), 0, static_cast<double>(T) / n)) {
      ts.push_back(np_round(t) - 1);
    }
  }
  return ts;
}

int64_t dpm_last_timestep(const NoiseSchedule& schedule) {
  // searchsorted(flip(lambda_t), lambda_min_clipped): lambda_t falls with t, so this counts the
  // timesteps (from the top) whose lambda is below the clip.
  int64_t clipped = 0;
  for (float ab : schedule.alphas_cumprod()) {
    const float lambda = std::log(std::sqrt(ab)) - std::log(std::sqrt(1.0f - ab));
    if (lambda < schedule.config().lambda_min_clipped) ++clipped;
  }
  return schedule.num_train_timesteps() - clipped;
}

std::vector<double> dpm_spaced_timesteps(const NoiseScheduleConfig& c, int n, int64_t last) {
  PD_CHECK(n < last, Usage,
           "steps " << n << " leave no room below timestep " << last << "; use fewer steps");
  std::vector<double> ts;
  if (c.timestep_spacing == "linspace") {
    auto grid = np_linspace(0, static_cast<double>(last - 1), n + 1);
    for (int i = n; i >= 1; --i) ts.push_back(np_round(grid[static_cast<size_t>(i)]));
  } else if (c.timestep_spacing == "leading") {
    const int64_t ratio = last / (n + 1);
    for (int i = n; i >= 1; --i) ts.push_back(static_cast<double>(i * ratio + c.steps_offset));
  } else {
    const double ratio = static_cast<double>(c.num_train_timesteps) / n;
    for (double t : np_arange_down(static_cast<double>(last), 0, ratio)) ts.push_back(np_round(t) - 1);
  }
  return ts;
}

std::vector<double> karras_sigmas(double sigma_min, double sigma_max, int n) {
  const double rho = 7.0;
  const double min_inv_rho = std::pow(sigma_min, 1 / rho);
  const double max_inv_rho = std::pow(sigma_max, 1 / rho);
  std::vector<double> out;
  for (double r : np_linspace(0, 1, n)) {
    out.push_back(std::pow(max_inv_rho + r * (min_inv_rho - max_inv_rho), rho));
  }
  return out;
}

std::vector<double> exponential_sigmas(double sigma_min, double sigma_max, int n) {
  std::vector<double> out;
  for (double l : np_linspace(std::log(sigma_max), std::log(sigma_min), n)) out.push_back(std::exp(l));
  return out;
}

std::vector<double> shaped_sigmas(SigmaShape shape, double sigma_min, double sigma_max, int n) {
  // SigmaShape::Spaced has no formula: its sigmas are the spaced timesteps' own
  return shape == SigmaShape::Karras ? karras_sigmas(sigma_min, sigma_max, n)
                                     : exponential_sigmas(sigma_min, sigma_max, n);
}

std::vector<float> log_sigma_table(const NoiseSchedule& schedule) {
  std::vector<float> out;
  for (float s : schedule.sigmas()) out.push_back(std::log(s));
  return out;
}

double sigma_to_t(double sigma, const std::vector<float>& log_sigmas) {
  const double log_sigma = std::log(std::max(sigma, 1e-10));
  // The last table index at or below log_sigma (0 when none), leaving room for a neighbour.
  size_t low = 0;
  for (size_t i = 0; i < log_sigmas.size(); ++i) {
    if (log_sigma - log_sigmas[i] >= 0) low = i;
  }
  low = std::min(low, log_sigmas.size() - 2);
  const size_t high = low + 1;
  const float lo = log_sigmas[low], hi = log_sigmas[high];
  double w = (lo - log_sigma) / static_cast<double>(lo - hi);
  w = std::clamp(w, 0.0, 1.0);
  return (1 - w) * static_cast<double>(low) + w * static_cast<double>(high);
}

}  // namespace pangu_draw::schedulers
