// sampler.h: the one sampler interface (Sampler + Denoiser callback + StepInfo) and the
// registry entry points; each algorithm mirrors one diffusers 0.25 scheduler's set_timesteps/step.
#pragma once

#include <ATen/core/Generator.h>
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "schedulers/noise_schedule.h"
#include "schedulers/sampler_names.h"

namespace pangu_draw::schedulers {

// Where a model evaluation sits in the run. index: the sampler step (0..num_steps-1; Heun's two
// evaluations of one step share it). timestep: the value the UNet is given. sigma / alpha_bar:
// the noise level of the model input (sigma = sqrt((1 - ab) / ab)).
struct StepInfo {
  int index = 0;
  int num_steps = 0;
  double timestep = 0;
  double sigma = 0;
  double alpha_bar = 1;
};

// Gets the model input exactly as diffusers feeds the UNet (after scale_model_input: the VP
// latent x_t = sqrt(ab) x0 + sqrt(1 - ab) eps for every sampler) and returns the RAW model
// output in the schedule's prediction_type (eps, v or x0), after any guidance.
using Denoiser = std::function<torch::Tensor(const torch::Tensor& model_input, const StepInfo&)>;

struct SamplerOptions {
  int steps = 30;
  // The sigma schedule (schedule_names()): "default" (the config's timestep spacing), "karras",
  // "exponential" (sigma samplers and the DPM-Solver / UniPC family) or "sgm_uniform" (timestep
  // spacing "trailing"; every sampler but lcm). make_sampler checks it against the sampler.
  std::string schedule = "default";
  bool karras = false;   // the same as schedule "karras" (kept for callers that set only this)
  double eta = 0.0;      // DDIM: 0 deterministic, 1 DDPM-like
  // Noise of ancestral / eta > 0 / LCM steps. The stream is torch's CPU generator seeded with
  // `seed`, after one draw of the latent's shape: the same stream diffusers uses when the initial
  // noise came from that generator. Unset: a random seed.
  std::optional<int64_t> seed;
  // The run's generator (diffusers' `generator=`): when set, stochastic steps draw from it as it
  // stands, after whatever the run drew before (the initial noise, an earlier stage's steps), and
  // `seed` is ignored. Runs share one across stages so a hand-over never restarts the stream.
  std::shared_ptr<at::Generator> generator;
  std::function<void(int step, int num_steps)> on_step;  // after each step (1-based); may throw
};

class Sampler {
 public:
  virtual ~Sampler() = default;
  // Model timesteps in the order the denoiser is called (diffusers' scheduler.timesteps: Heun
  // lists 2 * steps - 1 values, every other sampler one per step).
  virtual const std::vector<double>& timesteps() const = 0;
  virtual int num_steps() const = 0;
  // diffusers' init_noise_sigma: the pipeline starts from unit noise times this.
  virtual double init_noise_sigma() const = 0;
  // The noise level of the state before step i (0 <= i <= num_steps; i = num_steps: the level
  // the run ends at, 0 for sigma samplers, the final alpha_bar for DDIM / DPM-Solver / LCM).
  virtual StepInfo step_info(int i) const = 0;
  // Runs steps [first, last) on state x and returns the state after them (last = -1: all steps,
  // giving the final latent). State: sigma samplers (euler, euler_a, heun) keep diffusers'
  // x = x0 + sigma * eps; ddim, dpmpp_2m and lcm keep the VP latent. Multistep history carries
  // over between consecutive calls on the same sampler.
  virtual torch::Tensor sample(torch::Tensor x, const Denoiser& denoiser, int first = 0,
                               int last = -1) = 0;
  // Conversions between the state before step i and the VP latent, to hand a latent between
  // experts / resolutions in the middle of a run.
  virtual torch::Tensor to_vp(const torch::Tensor& state, int i) const = 0;
  virtual torch::Tensor from_vp(const torch::Tensor& x_vp, int i) const = 0;
};

// name: one of sampler_names() or an A1111 sampler name (sampler_names.h: "DPM++ 2M Karras" sets
// the schedule too). Error{Usage} for an unknown name (listing the names), steps <= 0, a schedule
// the sampler cannot run (karras / exponential with ddim, ddpm or lcm; any with lcm), or steps
// the schedule cannot give.
std::unique_ptr<Sampler> make_sampler(const std::string& name, const NoiseScheduleConfig& config,
                                      const SamplerOptions& options);
std::vector<std::string> sampler_names();
// resolve_sampler (sampler_names.h) plus make_sampler's check that the sampler can run the
// schedule, without a model config: what a request can be validated with before any work.
SamplerChoice checked_sampler(const std::string& name, const std::string& schedule);
// "default", "karras", "exponential", "sgm_uniform".
std::vector<std::string> schedule_names();

}  // namespace pangu_draw::schedulers
