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

// Builds the per-branch conditioning (negative, prompt, style prompts) for a request, each
// read with `prompt_options` (syntax, clip skip, embeddings); branches with fewer 75-token
// chunks are padded with the empty chunk so that all share one sequence length.
GuidedConditioning guided_conditioning(const ModelBundle& model, const std::string& prompt,
                                       const std::string& negative,
                                       const std::vector<std::string>& style_prompts,
                                       const guidance::GuidanceScales& scales, int64_t width,
                                       int64_t height,
                                       const text_encoders::PromptOptions& prompt_options = {});

// The raw (guided) model output for one step, in the model's prediction type.
schedulers::Denoiser make_denoiser(std::shared_ptr<const ModelBundle> model,
                                   GuidedConditioning conditioning,
                                   std::vector<ControlInput> controls);

// Imagen's dynamic thresholding on every step's x0 prediction: the output is converted to x̂0
// (by the schedule's prediction type), clamped to the per-sample `percentile` of |x̂0| (at least
// 1, at most `max_value`, in units of `data_range`: guidance::dynamic_threshold) and rescaled,
// then converted back. percentile <= 0 returns `inner`.
schedulers::Denoiser with_dynamic_threshold(schedulers::Denoiser inner,
                                            const schedulers::NoiseScheduleConfig& schedule,
                                            double percentile, double max_value,
                                            double data_range = 1.0);

}  // namespace pangu_draw::pipeline
