// editing_cases.h: the seed-parity and image-editing cases against diffusers' own pipelines —
// the shared fixture's sd1/pipelines/cases.json and this repository's extra cases
// (tests/pipeline/data, made by tests/pipeline/make_editing_references.py) — as library requests
// and as CLI flags, shared by tests/pipeline and tests/cli.
#pragma once

#include <torch/torch.h>

#include <array>
#include <string>
#include <vector>

#include "pangu_draw/pangu_draw.h"

namespace pangu_draw::testing {

struct EditCase {
  std::string origin;  // "fixture" (shared sd1/pipelines) or "extra" (tests/pipeline/data)
  std::string key;     // reference key prefix, e.g. "img2img.euler.strength0.6"
  std::string sampler;
  int steps = 0;
  float cfg = 0;
  int64_t seed = 0;
  float strength = 1.0f;  // meaningful with an init image
  std::string prompt, negative_prompt;
  int width = 0, height = 0;              // the output's size
  std::string model;                      // absolute folder
  std::string init_image, mask_image;     // absolute paths or empty
  std::array<int, 4> outpaint{};          // L, T, R, B
  std::string controlnet, control_image;  // absolute paths or empty
  float control_scale = 1.0f;
  bool has_image = false;  // the reference holds {key}.image
};

// Every case of both sets (the extra set is skipped when its data folder is absent).
std::vector<EditCase> editing_cases();
// The reference tensor {key}.{what} ("latent" [4, h, w] or "image" [3, H, W]).
torch::Tensor edit_reference(const EditCase& c, const std::string& what);
// The case as a library Request (images read from their files, the seed alone: no init noise).
Request edit_request(const EditCase& c);
// The case as `pangu-draw generate` flags (without --output).
std::vector<std::string> edit_cli_args(const EditCase& c);
// A gtest-safe name: "fixture_img2img_euler_strength0_6".
std::string edit_case_name(const EditCase& c);

}  // namespace pangu_draw::testing
