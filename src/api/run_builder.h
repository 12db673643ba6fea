// run_builder.h: a validated public Request -> the internal run: style prompts, experts
// (time-decoupled / Coop-Diffusion), ControlNets, initial noise.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "coop/coop_run.h"
#include "pangu_draw/pangu_draw.h"
#include "pipeline/txt2img.h"
#include "unet/controlnet.h"

namespace pangu_draw::api {

using ModelLoader = std::function<std::shared_ptr<const pipeline::ModelBundle>(const std::string& path)>;
// A ControlNet for `model` (its dtype and device), loaded once per Pipeline and shared.
using ControlNetLoader =
    std::function<unet::ControlNetModel(const std::string& path, const pipeline::ModelBundle& model)>;
struct Loaders {
  ModelLoader model;
  ControlNetLoader controlnet;
};


// The run's plan: the experts of r.experts ("" = `model`), each with its own conditioning and
// controls; a request without experts is the one-expert plan of `model` with r's ControlNet.
std::vector<coop::Expert> build_experts(const Request& r, const std::string& prompt,
                                        std::shared_ptr<const pipeline::ModelBundle> model,
                                        const Loaders& load);

// The run settings of `r` for seed `seed` (sampler, steps, schedule, thresholding, decode).
coop::CoopSettings run_settings(const Request& r);

// Request::init_noise, [1, C, h, w] or [C, h, w], checked against `shape` (Error{Usage}).
torch::Tensor init_noise(const Tensor& noise, const std::vector<int64_t>& shape);

// The one tensor of a .safetensors file as float32 (Error{Input} for none or several).
torch::Tensor read_single_tensor(const std::string& path);

// Public <-> LibTorch tensors (float32, CPU); from_public checks the shape (Error{Usage}).
Tensor to_public(const torch::Tensor& t);
torch::Tensor from_public(const Tensor& t, const std::string& what);

// Style prompts and scales for one model (styles with scale 0 add no branch). A style name the
// model does not list is looked up in `fallback` (the pipeline's own model) before failing, so
// an expert without a styles.json shares its partner's styles.
void resolve_styles(const Request& r, const std::string& prompt, const pipeline::ModelBundle& model,
                    std::vector<std::string>& style_prompts, std::vector<double>& scales,
                    const pipeline::ModelBundle* fallback = nullptr);

}  // namespace pangu_draw::api
