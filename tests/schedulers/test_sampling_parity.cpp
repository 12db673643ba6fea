// test_sampling_parity.cpp: the samplers driving the fixture UNets reproduce diffusers 0.25's
// final latents (cases.json "sampling_cases", context / pooled inputs from the reference, so
// that only the sampler loop and CFG are under test; the ControlNet case is the pipeline's).
#include "scheduler_support.h"
#include "schedulers/sampler.h"
#include "unet/unet_inputs.h"

namespace pangu_draw::schedulers {
namespace {

using namespace pangu_draw::testing;

// Batched [negative, prompt] extras of the reference, as diffusers concatenates them for CFG.
unet::UNetExtra cat_extra(const unet::UNetExtra& a, const unet::UNetExtra& b) {
  unet::UNetExtra e;
  if (a.text_embeds.defined()) {
    e.text_embeds = torch::cat({a.text_embeds, b.text_embeds});
    e.time_ids = torch::cat({a.time_ids, b.time_ids});
  }
  return e;
}

// diffusers' StableDiffusion(XL)Pipeline step: CFG only when the scale is > 1.
Denoiser cfg_denoiser(unet::UNet2DConditionModel unet, const Reference& ref, const std::string& set,
                      int prompt, int negative, double scale) {
  const bool cfg = scale > 1;
  auto context = reference_context(ref, prompt);
  auto extra = reference_extra(set, ref, prompt, unet->config());
  if (cfg) {
    context = torch::cat({reference_context(ref, negative), context});
    extra = cat_extra(reference_extra(set, ref, negative, unet->config()), extra);
  }
  return [=](const torch::Tensor& x, const StepInfo& info) mutable {
    const auto input = cfg ? torch::cat({x, x}) : x;
    const auto out = unet->forward(input, timestep(info.timestep), context, extra);
    if (!cfg) return out;
    const auto parts = out.chunk(2);
    return parts[0] + scale * (parts[1] - parts[0]);
  };
}

TEST(SamplingParity, FinalLatentsMatchDiffusers) {
  int checked = 0;
  for (const auto& set : fixture_sets()) {
    torch::InferenceMode guard;
    auto unet = unet::load_unet(model_dir(set) + "/unet");
    const Reference ref(set);
    const auto config = scheduler_config(set);
    const auto c = cases(set);
    const int negative = c.at("sampling_uncond_prompt").get<int>();
    for (const auto& sc : c.at("sampling_cases")) {
      if (sc.contains("controlnet")) continue;
      const std::string key = sc.at("key").get<std::string>();
      std::string name = sc.at("sampler").get<std::string>();
      SamplerOptions options = with_steps(sc.at("steps").get<int>());
      if (name.size() > 7 && name.substr(name.size() - 7) == "_karras") {
        name.resize(name.size() - 7);
        options.karras = true;
      }
      auto sampler = make_sampler(name, config, options);
      auto denoiser = cfg_denoiser(unet, ref, set, 0, negative, sc.at("cfg").get<double>());
      const auto noise = ref.get("sample.noise").unsqueeze(0);
      const auto latent = sampler->sample(noise * sampler->init_noise_sigma(), denoiser);
      const auto expected = ref.get(key + ".latent").unsqueeze(0);
      PD_EXPECT_CLOSE(latent, expected, 1e-3, set + " " + key);
      std::printf("  %s %s: max|diff|/max|ref| = %.3g\n", set.c_str(), key.c_str(),
                  relative_max_diff(latent, expected));
      ++checked;
    }
  }
  EXPECT_GT(checked, 0);
}

}  // namespace
}  // namespace pangu_draw::schedulers
