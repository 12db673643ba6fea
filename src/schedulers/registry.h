// registry.h: the factories behind make_sampler (one per algorithm file), for the registry
// and for tests that build one sampler kind directly.
#pragma once

#include <memory>

#include "schedulers/sampler.h"

namespace pangu_draw::schedulers {

std::unique_ptr<Sampler> make_ddim(const NoiseScheduleConfig& config, const SamplerOptions& options);
std::unique_ptr<Sampler> make_euler(const NoiseScheduleConfig& config, const SamplerOptions& options);
std::unique_ptr<Sampler> make_euler_ancestral(const NoiseScheduleConfig& config,
                                              const SamplerOptions& options);
std::unique_ptr<Sampler> make_heun(const NoiseScheduleConfig& config, const SamplerOptions& options);
std::unique_ptr<Sampler> make_dpmpp_2m(const NoiseScheduleConfig& config,
                                       const SamplerOptions& options);
std::unique_ptr<Sampler> make_lcm(const NoiseScheduleConfig& config, const SamplerOptions& options);
std::unique_ptr<Sampler> make_lms(const NoiseScheduleConfig& config, const SamplerOptions& options);
std::unique_ptr<Sampler> make_dpm2(const NoiseScheduleConfig& config, const SamplerOptions& options);
std::unique_ptr<Sampler> make_dpm2_ancestral(const NoiseScheduleConfig& config,
                                             const SamplerOptions& options);
std::unique_ptr<Sampler> make_dpmpp_sde(const NoiseScheduleConfig& config,
                                        const SamplerOptions& options);
std::unique_ptr<Sampler> make_dpmpp_2m_sde(const NoiseScheduleConfig& config,
                                           const SamplerOptions& options);
std::unique_ptr<Sampler> make_unipc(const NoiseScheduleConfig& config, const SamplerOptions& options);
std::unique_ptr<Sampler> make_ddpm(const NoiseScheduleConfig& config, const SamplerOptions& options);

}  // namespace pangu_draw::schedulers
