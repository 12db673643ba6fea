// denoiser.cpp: one model's guided Denoiser: prompt conditioning per branch, ControlNet residuals,
// one batched UNet call per step, dynamic thresholding.
#include "pipeline/denoiser.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/log.h"

namespace pangu_draw::pipeline {

GuidedConditioning guided_conditioning(const ModelBundle& model, const std::string& prompt,
                                       const std::string& negative,
                                       const std::vector<std::string>& style_prompts,
                                       const guidance::GuidanceScales& scales, int64_t width,
                                       int64_t height, const text_encoders::PromptOptions& opts) {
  const auto& cond = *model.conditioner;
  GuidedConditioning g;
  g.scales = scales;
  g.plan = guidance::plan_branches(scales);
  PD_CHECK(static_cast<int>(style_prompts.size()) == g.plan.styles, Runtime,
           "style prompts and style scales differ in number");
  if (opts.syntax == text_encoders::PromptSyntax::Plain && !opts.embeddings.empty()) {
    logger().warn("--prompt-syntax plain reads no embeddings: the {} given are not used",
                  opts.embeddings.size());
  }
  std::vector<text_encoders::Conditioning> parts;
  if (g.plan.uncond) parts.push_back(cond.encode_negative(negative, width, height, opts));
  text_encoders::PromptStats stats;
  parts.push_back(cond.encode(prompt, width, height, &stats, opts));
  if (stats.unknown > 0) {
    logger().warn("{} of {} prompt tokens are unknown to this model's tokenizer; the model cannot "
                  "read that part of the prompt (language or script it was not trained on?)",
                  stats.unknown, stats.tokens);
  }
  if (stats.truncated) logger().warn("prompt is longer than the tokenizer's limit and was truncated");
  for (const auto& s : style_prompts) parts.push_back(cond.encode(s, width, height, nullptr, opts));
  int64_t longest = 0;  // A1111 chunks: branches padded to the longest with empty chunks
  for (const auto& p : parts) longest = std::max(longest, p.context.size(1));
  for (auto& p : parts) p = cond.pad_to(p, longest, opts);
  g.batched = text_encoders::Conditioning::cat(parts);
  for (torch::Tensor* t : {&g.batched.context, &g.batched.pooled, &g.batched.time_ids}) {
    if (t->defined()) *t = t->to(model.device);
  }
  return g;
}

namespace {

// Adds the residuals of every ControlNet for this step.
void apply_controls(std::vector<ControlInput>& controls, const torch::Tensor& x,
                    const torch::Tensor& t, const text_encoders::Conditioning& c,
                    unet::UNetExtra& extra) {
  for (auto& control : controls) {
    const int64_t n = x.size(0);
    auto hint = control.hint.expand({n, -1, -1, -1});
    unet::ControlNetOutput r = control.net->forward(x, t, c.context, hint, control.scale, extra);
    if (extra.down_residuals.empty()) {
      extra.down_residuals = r.down_residuals;
      extra.mid_residual = r.mid_residual;
      continue;
    }
    for (size_t i = 0; i < r.down_residuals.size(); ++i) {
      extra.down_residuals[i] = extra.down_residuals[i] + r.down_residuals[i];
    }
    extra.mid_residual = extra.mid_residual + r.mid_residual;
  }
}

}  // namespace

schedulers::Denoiser make_denoiser(std::shared_ptr<const ModelBundle> model,
                                   GuidedConditioning conditioning,
                                   std::vector<ControlInput> controls) {
  unet::UNet2DConditionModel unet = model->unet;  // a holder copy shares the weights
  return [model, unet, c = std::move(conditioning), controls = std::move(controls)](
             const torch::Tensor& x_in, const schedulers::StepInfo& step) mutable {
    torch::InferenceMode guard;
    const int64_t n = c.plan.size();
    auto x = x_in.repeat({n, 1, 1, 1}).to(model->dtype);
    auto t = torch::full({x.size(0)}, step.timestep, torch::TensorOptions().dtype(torch::kFloat).device(x.device()));
    unet::UNetExtra extra;
    extra.text_embeds = c.batched.pooled;
    extra.time_ids = c.batched.time_ids;
    // A 9-channel inpainting UNet's input carries mask ‖ masked latent after the latent; a
    // ControlNet reads the latent alone (diffusers' ControlNet inpainting pipeline).
    const int64_t latent_channels = model->vae->config().latent_channels;
    if (!controls.empty()) {
      apply_controls(controls, x.size(1) > latent_channels ? x.narrow(1, 0, latent_channels) : x, t,
                     c.batched, extra);
    }
    auto out = unet->forward(x, t, c.batched.context, extra).to(torch::kFloat);
    return guidance::combine(out, c.plan, c.scales);
  };
}

schedulers::Denoiser with_dynamic_threshold(schedulers::Denoiser inner,
                                            const schedulers::NoiseScheduleConfig& schedule,
                                            double percentile, double max_value,
                                            double data_range) {
  if (percentile <= 0) return inner;
  PD_CHECK(percentile <= 1.0 && max_value >= 1.0, Usage,
           "--dynamic-threshold must be in (0, 1] and --dynamic-threshold-max >= 1");
  schedulers::NoiseSchedule math(schedule);
  return [inner = std::move(inner), math, percentile, max_value, data_range](
             const torch::Tensor& x, const schedulers::StepInfo& step) {
    const double ab = step.alpha_bar;
    auto out = inner(x, step);
    auto x0 = guidance::dynamic_threshold(math.to_x0(out, x, ab), percentile, max_value, data_range);
    auto eps = (x - std::sqrt(ab) * x0) / std::sqrt(1.0 - ab);
    return math.model_output(x0, eps, ab);
  };
}

}  // namespace pangu_draw::pipeline
