// run_builder.h: a validated public Request -> the internal run: style prompts, experts
// (time-decoupled / Coop-Diffusion), ControlNets, initial noise.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "coop/coop_run.h"
#include "pangu_draw/pangu_draw.h"
#include "pipeline/txt2img.h"

namespace pangu_draw::api {

using ModelLoader = std::function<std::shared_ptr<const pipeline::ModelBundle>(const std::string& path)>;

// `r` with its time-decoupled plan as two experts when it names none: the structure generator is
// `model`, the texture generator r.texture_model_path or else the model's own texture UNet (when
// the model declares one and `r` does not turn the plan off); otherwise `r` unchanged.
inline constexpr float kDefaultSwitchT = 500.0f;  // hand-over when the model declares no plan
Request with_model_plan(const Request& r, const pipeline::ModelBundle& model);

// The plain single-model run.
pipeline::TextToImage build_run(const Request& r, const std::string& prompt,
                                std::shared_ptr<const pipeline::ModelBundle> model);

// The experts of r.experts ("" = `model`), each with its own conditioning and controls.
std::vector<coop::Expert> build_experts(const Request& r, const std::string& prompt,
                                        std::shared_ptr<const pipeline::ModelBundle> model,
                                        const ModelLoader& load);

// The --init-noise tensor, [1, C, h, w] or [C, h, w], checked against `shape`.
torch::Tensor read_init_noise(const std::string& path, const std::vector<int64_t>& shape);

// Style prompts and scales for one model (styles with scale 0 add no branch). A style name the
// model does not list is looked up in `fallback` (the pipeline's own model) before failing, so
// an expert without a styles.json shares its partner's styles.
void resolve_styles(const Request& r, const std::string& prompt, const pipeline::ModelBundle& model,
                    std::vector<std::string>& style_prompts, std::vector<double>& scales,
                    const pipeline::ModelBundle* fallback = nullptr);

}  // namespace pangu_draw::api
