// noise_schedule.cpp: scheduler_config.json -> betas / alphas_cumprod / sigmas, mirroring the
// table set-up of diffusers 0.25 schedulers (betas_for_alpha_bar for squaredcos_cap_v2).
#include "schedulers/noise_schedule.h"

#include <cmath>

#include "core/error.h"

namespace pangu_draw::schedulers {

namespace {

void check_one_of(const io::JsonConfig& json, const std::string& key, const std::string& value,
                  const std::vector<std::string>& allowed) {
  for (const auto& a : allowed) {
    if (value == a) return;
  }
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  PD_FAIL(Input, json.origin() << ": '" << key << "' is '" << value << "', expected one of: "
                               << list << "; fix the scheduler config");
}

void check_unsupported(const io::JsonConfig& json) {
  PD_CHECK(!json.get_bool("thresholding", false), Input,
           json.origin() << ": 'thresholding' is true; dynamic thresholding inside the scheduler is "
                            "not supported (pixel-space models only): set it to false");
  PD_CHECK(!json.get_bool("rescale_betas_zero_snr", false), Input,
           json.origin() << ": 'rescale_betas_zero_snr' is true, which is not supported: set it "
                            "to false");
  const std::string interp = json.get_string("interpolation_type", "linear");
  check_one_of(json, "interpolation_type", interp, {"linear"});
  const std::string ttype = json.get_string("timestep_type", "discrete");
  check_one_of(json, "timestep_type", ttype, {"discrete"});
}

std::vector<double> read_trained_betas(const io::JsonConfig& json) {
  std::vector<double> out;
  if (!json.has("trained_betas")) return out;
  const auto& raw = json.raw().at("trained_betas");
  PD_CHECK(raw.is_array(), Input,
           json.origin() << ": 'trained_betas' must be a list of numbers, found " << raw.dump());
  for (const auto& v : raw) {
    PD_CHECK(v.is_number(), Input,
             json.origin() << ": 'trained_betas' must hold numbers only, found " << v.dump());
    out.push_back(v.get<double>());
  }
  return out;
}

// diffusers' betas_for_alpha_bar with the cosine transform (Glide), max_beta 0.999.
torch::Tensor cosine_betas(int64_t n) {
  auto alpha_bar = [](double t) {
    const double c = std::cos((t + 0.008) / 1.008 * M_PI / 2);
    return c * c;
  };
  std::vector<float> betas(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const double t1 = static_cast<double>(i) / n, t2 = static_cast<double>(i + 1) / n;
    betas[static_cast<size_t>(i)] = static_cast<float>(std::min(1 - alpha_bar(t2) / alpha_bar(t1), 0.999));
  }
  return torch::tensor(betas, torch::kFloat);
}

torch::Tensor make_betas(const NoiseScheduleConfig& c) {
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat);
  if (!c.trained_betas.empty()) {
    std::vector<float> b(c.trained_betas.begin(), c.trained_betas.end());
    return torch::tensor(b, f32);
  }
  if (c.beta_schedule == "linear") {
    return torch::linspace(c.beta_start, c.beta_end, c.num_train_timesteps, f32);
  }
  if (c.beta_schedule == "scaled_linear") {
    return torch::linspace(std::sqrt(c.beta_start), std::sqrt(c.beta_end), c.num_train_timesteps,
                           f32)
        .pow(2);
  }
  return cosine_betas(c.num_train_timesteps);
}

std::vector<float> to_vector(const torch::Tensor& t) {
  auto c = t.contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

}  // namespace

NoiseScheduleConfig NoiseScheduleConfig::from_json(const io::JsonConfig& json) {
  NoiseScheduleConfig c;
  c.num_train_timesteps = json.get_int("num_train_timesteps", c.num_train_timesteps);
  PD_CHECK(c.num_train_timesteps >= 2, Input,
           json.origin() << ": 'num_train_timesteps' must be >= 2, found " << c.num_train_timesteps);
  c.beta_start = json.get_double("beta_start", c.beta_start);
  c.beta_end = json.get_double("beta_end", c.beta_end);
  c.beta_schedule = json.get_string("beta_schedule", c.beta_schedule);
  c.trained_betas = read_trained_betas(json);
  if (c.trained_betas.empty()) {
    check_one_of(json, "beta_schedule", c.beta_schedule, {"linear", "scaled_linear", "squaredcos_cap_v2"});
  } else {
    PD_CHECK(static_cast<int64_t>(c.trained_betas.size()) == c.num_train_timesteps, Input,
             json.origin() << ": 'trained_betas' has " << c.trained_betas.size()
                           << " values but 'num_train_timesteps' is " << c.num_train_timesteps);
  }
  c.prediction_type = json.get_string("prediction_type", c.prediction_type);
  check_one_of(json, "prediction_type", c.prediction_type, {"epsilon", "v_prediction", "sample"});
  c.timestep_spacing = json.get_string("timestep_spacing", c.timestep_spacing);
  check_one_of(json, "timestep_spacing", c.timestep_spacing, {"leading", "linspace", "trailing"});
  c.steps_offset = json.get_int("steps_offset", c.steps_offset);
  c.set_alpha_to_one = json.get_bool("set_alpha_to_one", c.set_alpha_to_one);
  c.clip_sample = json.get_bool("clip_sample", c.clip_sample);
  c.clip_sample_range = json.get_double("clip_sample_range", c.clip_sample_range);
  c.use_karras_sigmas = json.get_bool("use_karras_sigmas", c.use_karras_sigmas);
  c.lower_order_final = json.get_bool("lower_order_final", c.lower_order_final);
  c.euler_at_final = json.get_bool("euler_at_final", c.euler_at_final);
  c.lambda_min_clipped = json.get_double("lambda_min_clipped", c.lambda_min_clipped);
  c.original_inference_steps = json.get_int("original_inference_steps", c.original_inference_steps);
  PD_CHECK(c.original_inference_steps >= 1 && c.original_inference_steps <= c.num_train_timesteps,
           Input, json.origin() << ": 'original_inference_steps' must be in [1, num_train_timesteps = "
                                << c.num_train_timesteps << "], found " << c.original_inference_steps);
  c.timestep_scaling = json.get_double("timestep_scaling", c.timestep_scaling);
  check_unsupported(json);
  return c;
}

NoiseSchedule::NoiseSchedule(const NoiseScheduleConfig& config) : config_(config) {
  torch::NoGradGuard no_grad;
  const torch::Tensor betas = make_betas(config_);
  const torch::Tensor alphas = 1.0 - betas;
  const torch::Tensor alphas_cumprod = torch::cumprod(alphas, 0);  // CPU: accumulates in double
  alphas_cumprod_ = to_vector(alphas_cumprod);
  sigmas_ = to_vector(((1 - alphas_cumprod) / alphas_cumprod).pow(0.5));
}

namespace {
// np.interp over the integer grid 0..n-1, clamped at the ends.
double interp_table(const std::vector<float>& table, double t) {
  const double last = static_cast<double>(table.size() - 1);
  if (t <= 0) return table.front();
  if (t >= last) return table.back();
  const auto j = static_cast<size_t>(std::floor(t));
  if (static_cast<double>(j) == t) return table[j];
  const double slope = static_cast<double>(table[j + 1]) - static_cast<double>(table[j]);
  return slope * (t - static_cast<double>(j)) + table[j];
}
}  // namespace

double NoiseSchedule::alpha_bar(double t) const { return interp_table(alphas_cumprod_, t); }
double NoiseSchedule::sigma(double t) const { return interp_table(sigmas_, t); }

double NoiseSchedule::sigma_from_alpha_bar(double alpha_bar) {
  return std::sqrt((1 - alpha_bar) / alpha_bar);
}
double NoiseSchedule::alpha_bar_from_sigma(double sigma) { return 1 / (1 + sigma * sigma); }

torch::Tensor NoiseSchedule::to_x0(const torch::Tensor& out, const torch::Tensor& x_t,
                                   double ab) const {
  const double a = std::sqrt(ab), s = std::sqrt(1 - ab);
  if (config_.prediction_type == "epsilon") return (x_t - s * out) / a;
  if (config_.prediction_type == "v_prediction") return a * x_t - s * out;
  return out;
}

torch::Tensor NoiseSchedule::to_eps(const torch::Tensor& out, const torch::Tensor& x_t,
                                    double ab) const {
  const double a = std::sqrt(ab), s = std::sqrt(1 - ab);
  if (config_.prediction_type == "epsilon") return out;
  if (config_.prediction_type == "v_prediction") return a * out + s * x_t;
  return (x_t - a * out) / s;
}

torch::Tensor NoiseSchedule::model_output(const torch::Tensor& x0, const torch::Tensor& eps,
                                          double ab) const {
  const double a = std::sqrt(ab), s = std::sqrt(1 - ab);
  if (config_.prediction_type == "epsilon") return eps;
  if (config_.prediction_type == "v_prediction") return a * eps - s * x0;
  return x0;
}

}  // namespace pangu_draw::schedulers
