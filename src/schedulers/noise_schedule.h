// noise_schedule.h: the training noise schedule read from scheduler_config.json (betas,
// alphas_cumprod, sigmas) and the eps / x0 / v conversions; mirrors the __init__ of diffusers 0.25
// schedulers (float32 torch math for the tables, as diffusers computes them).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "io/json_config.h"

namespace pangu_draw::schedulers {

// The scheduler_config.json fields the samplers honour (diffusers names and defaults, except
// clip_sample: see from_json).
struct NoiseScheduleConfig {
  int64_t num_train_timesteps = 1000;
  double beta_start = 0.00085, beta_end = 0.012;
  std::string beta_schedule = "scaled_linear";  // linear | scaled_linear | squaredcos_cap_v2
  std::vector<double> trained_betas;            // non-empty: used instead of beta_schedule
  std::string prediction_type = "epsilon";      // epsilon | v_prediction | sample
  std::string timestep_spacing = "leading";     // leading | linspace | trailing
  int64_t steps_offset = 0;
  bool set_alpha_to_one = false;                // DDIM / LCM final alpha_bar: 1 or alphas_cumprod[0]
  bool clip_sample = false;                     // DDIM / LCM / Heun: clamp x0 to +-clip_sample_range
  double clip_sample_range = 1.0;
  bool use_karras_sigmas = false;               // turns Karras sigmas on as SamplerOptions::karras does
  bool lower_order_final = true;                // DPM-Solver: first order at the end when < 15 steps
  bool euler_at_final = false;                  // DPM-Solver: first order on the last step always
  double lambda_min_clipped = -1e300;           // DPM-Solver: -inf unless the config clips
  int64_t original_inference_steps = 50;        // LCM
  double timestep_scaling = 10.0;               // LCM boundary-condition scaling

  // Reads the fields above; absent fields keep the defaults. Error{Input} naming the file and
  // field for a mistyped or unsupported value (thresholding, rescale_betas_zero_snr,
  // interpolation_type other than linear, timestep_type other than discrete). clip_sample and
  // set_alpha_to_one default to false, unlike DDIMScheduler's constructor: the values of the
  // released Stable Diffusion scheduler configs, which the fixtures' DDIM references were run
  // with (their Euler configs omit both fields); latents are not confined to [-1, 1].
  static NoiseScheduleConfig from_json(const io::JsonConfig& json);
};

// Pure math over the training schedule. Tables are float32, computed with the same torch ops
// as diffusers (betas -> 1 - betas -> cumprod) so that every derived value rounds the same way.
class NoiseSchedule {
 public:
  explicit NoiseSchedule(const NoiseScheduleConfig& config);

  const NoiseScheduleConfig& config() const { return config_; }
  int64_t num_train_timesteps() const { return config_.num_train_timesteps; }
  // alphas_cumprod[t] for t in [0, num_train_timesteps), float32 values.
  const std::vector<float>& alphas_cumprod() const { return alphas_cumprod_; }
  // sqrt((1 - ab) / ab) per training timestep, in float32 as diffusers' sigma table.
  const std::vector<float>& sigmas() const { return sigmas_; }
  // alpha_bar at a (possibly fractional) timestep: linear interpolation of the table.
  double alpha_bar(double t) const;
  // sigma at a (possibly fractional) timestep: linear interpolation of the sigma table (np.interp).
  double sigma(double t) const;

  static double sigma_from_alpha_bar(double alpha_bar);  // sqrt((1 - ab) / ab)
  static double alpha_bar_from_sigma(double sigma);      // 1 / (1 + sigma^2)

  // Conversions at noise level alpha_bar for the VP latent x_t = sqrt(ab) x0 + sqrt(1 - ab) eps,
  // by this schedule's prediction_type ("sample": the model output is x0).
  torch::Tensor to_x0(const torch::Tensor& model_output, const torch::Tensor& x_t,
                      double alpha_bar) const;
  torch::Tensor to_eps(const torch::Tensor& model_output, const torch::Tensor& x_t,
                       double alpha_bar) const;
  // The model output (eps, v or x0) that a perfect model returns for this x0 and eps.
  torch::Tensor model_output(const torch::Tensor& x0, const torch::Tensor& eps,
                             double alpha_bar) const;

 private:
  NoiseScheduleConfig config_;
  std::vector<float> alphas_cumprod_;
  std::vector<float> sigmas_;
};

}  // namespace pangu_draw::schedulers
