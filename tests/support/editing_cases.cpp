// editing_cases.cpp: the editing cases (see editing_cases.h) read from the two cases.json files.
#include "support/editing_cases.h"

#include <cctype>
#include <filesystem>
#include <sstream>

#include "io/png.h"
#include "io/safetensors.h"
#include "support/fixtures.h"

namespace pangu_draw::testing {

namespace {

std::string extra_dir() { return PD_EDITING_DATA_DIR; }

std::string number(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

EditCase parse(const nlohmann::json& j, const std::string& origin) {
  const std::string sd1 = fixtures_root() + "/sd1/";
  EditCase c;
  c.origin = origin;
  c.key = j.at("key").get<std::string>();
  c.sampler = j.at("sampler").get<std::string>();
  c.steps = j.at("steps").get<int>();
  c.cfg = j.at("cfg").get<float>();
  c.seed = j.at("seed").get<int64_t>();
  c.strength = j.value("strength", 1.0f);
  c.prompt = j.value("prompt", std::string("a photo of an astronaut riding a horse on the moon"));
  c.negative_prompt = j.value("negative_prompt", std::string());
  c.width = j.at("width").get<int>();
  c.height = j.at("height").get<int>();
  c.model = sd1 + j.value("model", std::string("model"));
  if (j.contains("init_image")) c.init_image = sd1 + j.at("init_image").get<std::string>();
  if (j.contains("mask_image")) c.mask_image = sd1 + j.at("mask_image").get<std::string>();
  if (j.contains("outpaint")) {
    for (size_t i = 0; i < 4; ++i) c.outpaint[i] = j.at("outpaint").at(i).get<int>();
  }
  if (j.contains("controlnet")) {
    c.controlnet = sd1 + j.at("controlnet").get<std::string>();
    c.control_image = sd1 + j.at("control_image").get<std::string>();
    c.control_scale = j.at("control_scale").get<float>();
  }
  c.has_image = origin == "fixture" || j.contains("outpaint");
  return c;
}

}  // namespace

std::vector<EditCase> editing_cases() {
  std::vector<EditCase> out;
  const std::string fixture = fixtures_root() + "/sd1/pipelines/cases.json";
  for (const auto& [path, origin] :
       {std::pair{fixture, "fixture"}, std::pair{extra_dir() + "/editing_cases.json", "extra"}}) {
    if (!std::filesystem::exists(path)) continue;
    const nlohmann::json all = read_json(path);  // kept: the loop walks a part of it
    for (const auto& j : all.at("cases")) out.push_back(parse(j, origin));
  }
  return out;
}

torch::Tensor edit_reference(const EditCase& c, const std::string& what) {
  const std::string path = c.origin == "fixture"
                               ? fixtures_root() + "/sd1/pipelines/reference.safetensors"
                               : extra_dir() + "/editing_references.safetensors";
  return io::SafetensorsFile::open(path)->load(c.key + "." + what).to(torch::kFloat);
}

Request edit_request(const EditCase& c) {
  Request r;
  r.prompt = c.prompt;
  r.negative_prompt = c.negative_prompt;
  r.sampler = c.sampler;
  r.steps = c.steps;
  r.cfg_scale = c.cfg;
  r.seed = c.seed;
  if (!c.controlnet.empty()) {
    r.controlnet_path = c.controlnet;
    r.control_image = io::read_image(c.control_image);
    r.control_scale = c.control_scale;
  }
  if (c.init_image.empty()) {
    r.width = c.width;
    r.height = c.height;
    return r;
  }
  r.init_image = io::read_image(c.init_image);
  r.strength = c.strength;
  if (!c.mask_image.empty()) r.mask_image = io::read_image(c.mask_image);
  r.outpaint = {c.outpaint[0], c.outpaint[1], c.outpaint[2], c.outpaint[3]};
  return r;
}

std::vector<std::string> edit_cli_args(const EditCase& c) {
  std::vector<std::string> a = {"generate",
                                "--model",
                                c.model,
                                "--prompt",
                                c.prompt,
                                "--negative-prompt",
                                c.negative_prompt,
                                "--sampler",
                                c.sampler,
                                "--steps",
                                std::to_string(c.steps),
                                "--cfg-scale",
                                number(c.cfg),
                                "--seed",
                                std::to_string(c.seed),
                                "-q"};
  if (!c.controlnet.empty()) {
    a.insert(a.end(), {"--controlnet", c.controlnet, "--control-image", c.control_image,
                       "--control-scale", number(c.control_scale)});
  }
  if (c.init_image.empty()) {
    a.insert(a.end(), {"--width", std::to_string(c.width), "--height", std::to_string(c.height)});
    return a;
  }
  a.insert(a.end(), {"--init-image", c.init_image, "--strength", number(c.strength)});
  if (!c.mask_image.empty()) {
    a.push_back("--mask-image");
    a.push_back(c.mask_image);
  }
  if (c.outpaint != std::array<int, 4>{}) {
    a.push_back("--outpaint");
    a.push_back(std::to_string(c.outpaint[0]) + "," + std::to_string(c.outpaint[1]) + "," +
                std::to_string(c.outpaint[2]) + "," + std::to_string(c.outpaint[3]));
  }
  return a;
}

std::string edit_case_name(const EditCase& c) {
  std::string name = c.origin + "_" + c.key;
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

}  // namespace pangu_draw::testing
