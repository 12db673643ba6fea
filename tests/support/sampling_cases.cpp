// sampling_cases.cpp: the fixtures' sampling cases (sampler, steps, cfg, seed) read from
// cases.json.
#include "support/sampling_cases.h"

#include "io/png.h"
#include "io/safetensors.h"
#include "support/fixtures.h"
#include "support/latents.h"

namespace pangu_draw::testing {

std::vector<SamplingCase> sampling_cases() {
  std::vector<SamplingCase> out;
  for (const auto& set : fixture_sets()) {
    const auto c = cases(set);
    const auto& size = c.at("image_size");
    for (const auto& s : c.at("sampling_cases")) {
      SamplingCase sc;
      sc.set = set;
      sc.key = s.at("key").get<std::string>();
      std::string sampler = s.at("sampler").get<std::string>();
      const std::string karras = "_karras";
      sc.schedule = "default";
      if (sampler.size() > karras.size() &&
          sampler.compare(sampler.size() - karras.size(), karras.size(), karras) == 0) {
        sampler = sampler.substr(0, sampler.size() - karras.size());
        sc.schedule = "karras";
      }
      sc.sampler = sampler;
      sc.steps = s.at("steps").get<int>();
      sc.cfg = s.at("cfg").get<float>();
      sc.prompt = s.at("prompt").get<std::string>();
      sc.negative_prompt = s.at("negative_prompt").get<std::string>();
      const std::string root = fixtures_root() + "/" + set + "/";
      if (s.contains("controlnet")) {
        sc.controlnet = root + s.at("controlnet").get<std::string>();
        sc.control_image = root + s.at("control_image").get<std::string>();
        sc.control_scale = s.at("control_scale").get<float>();
      }
      sc.width = size.at(1).get<int>();
      sc.height = size.at(0).get<int>();
      out.push_back(sc);
    }
  }
  return out;
}

std::string write_reference_noise(const std::string& set, const std::string& dir) {
  const std::string path = dir + "/noise_" + set + ".safetensors";
  io::save_safetensors(path, {{"noise", Reference(set).get("sample.noise")}});
  return path;
}

Request to_request(const SamplingCase& c) {
  Request r;
  r.prompt = c.prompt;
  r.negative_prompt = c.negative_prompt;
  r.sampler = c.sampler;
  r.schedule = c.schedule;
  r.steps = c.steps;
  r.cfg_scale = c.cfg;
  r.width = c.width;
  r.height = c.height;
  r.seed = 0;
  r.init_noise = from_torch(Reference(c.set).get("sample.noise"));
  r.controlnet_path = c.controlnet;
  if (!c.control_image.empty()) r.control_image = io::read_image(c.control_image);
  r.control_scale = c.control_scale;
  return r;
}

double image_diff_255(const Image& ours, const torch::Tensor& reference_chw) {
  auto ref = ((reference_chw / 2 + 0.5).clamp(0, 1) * 255).permute({1, 2, 0}).contiguous();
  auto mine = torch::from_blob(const_cast<uint8_t*>(ours.rgb.data()),
                               {ours.height, ours.width, 3}, torch::kUInt8).to(torch::kFloat);
  if (mine.sizes() != ref.sizes()) return 1e9;
  return (mine - ref).abs().max().item<double>();
}

}  // namespace pangu_draw::testing
