// timestep_spacing.h: inference timesteps and sigmas from the training schedule: the
// "leading" / "linspace" / "trailing" spacings, Karras sigmas and the sigma -> t inversion, as
// diffusers 0.25's set_timesteps computes them (numpy rounding: half to even).
#pragma once

#include <cstdint>
#include <vector>

#include "schedulers/noise_schedule.h"

namespace pangu_draw::schedulers {

// DDIM / Euler / Heun spacing of n steps, high to low. round_linspace: DDIM rounds "linspace"
// to integers; the Euler family keeps the float32 values.
std::vector<double> spaced_timesteps(const NoiseScheduleConfig& config, int n, bool round_linspace);

// DPM-Solver spacing (n + 1 points with the last dropped for leading / linspace), integer
// timesteps below last_timestep (see dpm_last_timestep).
std::vector<double> dpm_spaced_timesteps(const NoiseScheduleConfig& config, int n,
                                         int64_t last_timestep);
// num_train_timesteps minus the timesteps whose lambda(t) lies below lambda_min_clipped.
int64_t dpm_last_timestep(const NoiseSchedule& schedule);

// Karras et al. (2022) eq. 5 with rho = 7: n sigmas from sigma_max down to sigma_min.
std::vector<double> karras_sigmas(double sigma_min, double sigma_max, int n);
// k-diffusion's get_sigmas_exponential: n sigmas from sigma_max down to sigma_min, evenly spaced
// in log sigma (exp of np.linspace in float64, as later diffusers' _convert_to_exponential).
std::vector<double> exponential_sigmas(double sigma_min, double sigma_max, int n);

// How the samplers with a sigma schedule place their sigmas: at the spaced timesteps, or
// Karras / exponential between the extremes (timesteps then from sigma_to_t).
enum class SigmaShape { Spaced, Karras, Exponential };
std::vector<double> shaped_sigmas(SigmaShape shape, double sigma_min, double sigma_max, int n);

// The (fractional) training timestep of a sigma: piecewise-linear in log sigma between the two
// neighbouring table entries (diffusers' _sigma_to_t), clamped to [0, num_train_timesteps - 1].
double sigma_to_t(double sigma, const std::vector<float>& log_sigmas);
std::vector<float> log_sigma_table(const NoiseSchedule& schedule);

}  // namespace pangu_draw::schedulers
