// serve_info.h: the answers of the small A1111 endpoints: sd-models, samplers, schedulers,
// options (get and set) and progress.
#pragma once

#include "serve_a1111.h"
#include "serve_fields.h"
#include "serve_jobs.h"

namespace pangu_draw::serve {

json sd_models(const Settings& settings);
json samplers();    // A1111's SamplerItem list: the A1111 name, our name among the aliases
json schedulers();  // A1111's SchedulerItem list
json options(const Settings& settings);
// Applies the known options of `body` (validated first: all or nothing); others are ignored.
void set_options(const json& body, Settings& settings);
json progress(const Progress& p);

}  // namespace pangu_draw::serve
