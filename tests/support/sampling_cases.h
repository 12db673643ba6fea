// sampling_cases.h: the fixtures' full text-to-image runs (cases.json "sampling_cases") as
// requests, shared by the library-API and CLI parity tests.
#pragma once

#include <string>
#include <vector>

#include "pangu_draw/pangu_draw.h"
#include "support/fixtures.h"

namespace pangu_draw::testing {

struct SamplingCase {
  std::string set;          // fixture set, e.g. "sd1"
  std::string key;          // reference key prefix, e.g. "sample.ddim.steps8.cfg7.5"
  std::string sampler;      // engine sampler name
  std::string schedule;     // default | karras
  int steps = 0;
  float cfg = 0;
  std::string prompt, negative_prompt;
  std::string controlnet, control_image;  // absolute paths or empty
  float control_scale = 1.0f;
  int width = 0, height = 0;
};

std::vector<SamplingCase> sampling_cases();

// Writes the reference's sample.noise to <dir>/noise.safetensors and returns the path.
std::string write_reference_noise(const std::string& set, const std::string& dir);

// A Request for the case with the reference's initial noise as data.
Request to_request(const SamplingCase& c);

// max |ours - reference| in 1/255 units, reference image in [-1, 1] (CHW).
double image_diff_255(const Image& ours, const torch::Tensor& reference_chw);

}  // namespace pangu_draw::testing
