// plan.cpp: the time-decoupled structure -> texture plan (see plan.h).
#include "coop/plan.h"

#include "core/error.h"

namespace pangu_draw::coop {

double switch_timestep(const Request& r, const pipeline::ModelBundle& model) {
  const double n = static_cast<double>(model.scheduler.num_train_timesteps);
  if (r.switch_t >= 0) return r.switch_t;
  if (r.switch_frac >= 0) return n * (1.0 - r.switch_frac);
  if (model.texture) return model.switch_t;
  return n * (1.0 - kDefaultSwitchFrac);
}

Request time_decoupled_plan(const Request& r, const pipeline::ModelBundle& model) {
  if (!r.experts.empty()) return r;
  const bool own_plan = model.texture && r.time_decoupled;
  if (r.texture_model_path.empty() && !own_plan) return r;
  const double n = static_cast<double>(model.scheduler.num_train_timesteps);
  const double t = switch_timestep(r, model);
  PD_CHECK(t >= 0 && t <= n, Usage,
           "the hand-over timestep must be in [0, " << n << "] for " << model.name << ", got " << t);
  Request planned = r;
  Expert structure, texture;
  structure.to_t = static_cast<float>(t);  // t >= T: layout, the early noisy steps
  texture.model_path = r.texture_model_path.empty() ? model.texture->path : r.texture_model_path;
  texture.from_t = static_cast<float>(t);  // t < T: detail
  for (Expert* e : {&structure, &texture}) {  // a ControlNet guides both generators' steps
    e->controlnet_path = r.controlnet_path;
    e->control_image = r.control_image;
    e->control_scale = r.control_scale;
  }
  planned.experts = {structure, texture};
  return planned;
}

}  // namespace pangu_draw::coop
