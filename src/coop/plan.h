// plan.h: PanGu-Draw's time-decoupled plan — the one place it is built. A request without
// experts becomes two: the model as the structure generator for t >= T and a texture generator
// for t < T (the model's own declared texture UNet, or Request::texture_model_path).
#pragma once

#include "pangu_draw/pangu_draw.h"
#include "pipeline/model_bundle.h"

namespace pangu_draw::coop {

inline constexpr double kDefaultSwitchFrac = 0.5;  // the paper's T_s = 500 of 1000

// The hand-over timestep T: Request::switch_t, else switch_frac of the model's own train
// timesteps (T = N (1 - frac)), else the model's declared plan's, else N / 2.
double switch_timestep(const Request& r, const pipeline::ModelBundle& model);

// `r` with its time-decoupled plan as two experts when it names none and a texture generator
// is given (r.texture_model_path) or declared by the model (unless r.time_decoupled is false);
// otherwise `r` unchanged. A ControlNet of `r` guides both generators.
Request time_decoupled_plan(const Request& r, const pipeline::ModelBundle& model);

}  // namespace pangu_draw::coop
