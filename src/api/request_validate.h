// request_validate.h: every user-facing check of a Request in one place, before any work or
// large allocation. Errors are Error{Usage} naming the CLI flag.
#pragma once

#include "pangu_draw/pangu_draw.h"

namespace pangu_draw::api {

// Upper bounds that keep a bad request from exhausting memory.
constexpr int kMaxSide = 8192;
constexpr int kMaxSteps = 1000;
constexpr int kMaxBatchCount = 100000;
constexpr size_t kMaxPromptBytes = 64 * 1024;
constexpr size_t kMaxExperts = 16;  // each is a model evaluation per step
constexpr size_t kMaxStyles = 16;   // each is a UNet branch per step

// Throws Error{Usage} for the first invalid field; `native_*` replace a 0 width/height.
void validate_request(const Request& request, int native_width, int native_height);

// A1111 display name of a sampler ("euler_a" -> "Euler a"; karras adds " Karras").
std::string sampler_display_name(const std::string& sampler, const std::string& schedule);

}  // namespace pangu_draw::api
