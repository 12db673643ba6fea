// denoiser.h: one model + its conditioning + guidance + controls -> a schedulers::Denoiser.
// Every guidance branch (uncond, prompt, styles) goes through ONE batched UNet call per step.
#pragma once

#include <vector>

#include "guidance/cfg.h"
#include "pipeline/model_bundle.h"
#include "schedulers/sampler.h"
#include "unet/controlnet.h"

namespace pangu_draw::pipeline {

struct ControlInput {
  unet::ControlNetModel net{nullptr};
  torch::Tensor hint;   // [1, 3, H, W] in [0, 1], the image size
  double scale = 1.0;
};

struct GuidedConditioning {
  text_encoders::Conditioning batched;  // branches in plan order, batch 1 each
  guidance::BranchPlan plan;
  guidance::GuidanceScales scales;
};

// Builds the per-branch conditioning (negative, prompt, style prompts) for a request.
GuidedConditioning guided_conditioning(const ModelBundle& model, const std::string& prompt,
                                       const std::string& negative,
                                       const std::vector<std::string>& style_prompts,
                                       const guidance::GuidanceScales& scales, int64_t width,
                                       int64_t height);

// The raw (guided) model output for one step, in the model's prediction type.
schedulers::Denoiser make_denoiser(std::shared_ptr<const ModelBundle> model,
                                   GuidedConditioning conditioning,
                                   std::vector<ControlInput> controls);

}  // namespace pangu_draw::pipeline
