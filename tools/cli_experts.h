// cli_experts.h: the flags that describe several models in one run — time-decoupled
// structure/texture experts (--texture-model, --switch-t, --switch-frac), Coop-Diffusion
// experts (--expert key=value,...), style-guided CFG (--style, --style-scale).
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "pangu_draw/pangu_draw.h"

namespace pangu_draw::cli {

struct ExpertArgs {
  std::string texture_model;
  float switch_t = -1.0f;     // -1: the model's plan's, else 500
  float switch_frac = -1.0f;
  bool single_unet = false;   // --no-time-decoupled
  std::vector<std::string> expert_specs;
  std::vector<std::string> styles;
  std::vector<float> style_scales;
};

void add_expert_flags(CLI::App& cmd, ExpertArgs& args);

// Parses "model=PATH,weight=0.5,size=512x512,cfg=7,controlnet=DIR,control-image=FILE,
// control-scale=0.8,from-t=1000,to-t=0" (every key optional). Error{Usage} naming the key;
// the control image FILE is read here (Error{Input} when it cannot be).
Expert parse_expert_spec(const std::string& spec);

// Fills request.experts and request.styles from the flags.
void apply_expert_flags(const ExpertArgs& args, Request& request);

}  // namespace pangu_draw::cli
