// bench_save.cpp: save_random_model: random-weight built-in architectures as diffusers folders.
#include "api/bench_save.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "api/bench_models.h"
#include "core/error.h"
#include "core/log.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"

namespace pangu_draw::api {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

void write_json(const fs::path& path, const json& j) {
  io::write_file_atomic(path.string(), j.dump(2) + "\n");
}

// The module's parameters under their checkpoint names, in fp16, to `folder`/`file`.
void write_weights(torch::nn::Module& module, const fs::path& folder, const std::string& file) {
  io::NamedTensors tensors;
  for (const auto& p : module.named_parameters()) {
    tensors.emplace_back(p.key(), p.value().detach());
  }
  io::save_safetensors((folder / file).string(), tensors);
}

// openai CLIP's bytes_to_unicode: printable bytes stand for themselves, the others for
// code points from 256 on; each symbol in UTF-8.
std::vector<std::string> byte_symbols() {
  std::vector<int> bytes, points;
  auto printable = [](int b) {
    return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
  };
  for (int b = 0; b < 256; ++b) {
    if (printable(b)) bytes.push_back(b), points.push_back(b);
  }
  int extra = 0;
  for (int b = 0; b < 256; ++b) {
    if (!printable(b)) bytes.push_back(b), points.push_back(256 + extra++);
  }
  std::vector<std::string> out;
  for (int cp : points) {
    std::string s;
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
    out.push_back(s);
  }
  return out;
}

// A byte-level CLIPTokenizer: every byte symbol (alone and word-final), the merges of two
// lower-case letters at the end of a word, and CLIP's special tokens at CLIP's ids.
void write_tokenizer(const fs::path& folder) {
  fs::create_directories(folder);
  json vocab = json::object();
  int64_t id = 0;
  const auto symbols = byte_symbols();
  for (const auto& s : symbols) vocab[s] = id++;
  for (const auto& s : symbols) vocab[s + "</w>"] = id++;
  std::string merges = "#version: 0.2\n";
  for (char a = 'a'; a <= 'z'; ++a) {
    for (char b = 'a'; b <= 'z'; ++b) {
      merges += std::string{a, ' ', b} + "</w>\n";
      vocab[std::string{a, b} + "</w>"] = id++;
    }
  }
  vocab["<|startoftext|>"] = 49406;
  vocab["<|endoftext|>"] = 49407;
  write_json(folder / "vocab.json", vocab);
  io::write_file_atomic((folder / "merges.txt").string(), merges);
  write_json(folder / "tokenizer_config.json",
             {{"tokenizer_class", "CLIPTokenizer"}, {"model_max_length", 77},
              {"bos_token", "<|startoftext|>"}, {"eos_token", "<|endoftext|>"},
              {"pad_token", "<|endoftext|>"}, {"unk_token", "<|endoftext|>"},
              {"do_lower_case", true}});
}

std::string suffix(size_t i) {
  std::string s;
  if (i > 0) s.append("_").append(std::to_string(i + 1));
  return s;
}

json model_index(const pipeline::BuiltinArch& arch) {
  const bool xl = arch.text_encoders.size() > 1;
  json j = {{"_class_name", xl ? "StableDiffusionXLPipeline" : "StableDiffusionPipeline"},
            {"_diffusers_version", "0.25.0"},
            {"scheduler", {"diffusers", "EulerDiscreteScheduler"}},
            {"unet", {"diffusers", "UNet2DConditionModel"}},
            {"vae", {"diffusers", "AutoencoderKL"}}};
  if (xl) j["force_zeros_for_empty_prompt"] = true;
  for (size_t i = 0; i < arch.text_encoders.size(); ++i) {
    const auto& archs = arch.text_encoders[i].config.at("architectures");
    j["text_encoder" + suffix(i)] = {"transformers", archs.at(0)};
    j["tokenizer" + suffix(i)] = {"transformers", "CLIPTokenizer"};
  }
  return j;
}

json scheduler_config() {  // both releases: scaled-linear betas, epsilon, 1000 train steps
  return {{"_class_name", "EulerDiscreteScheduler"}, {"beta_start", 0.00085},
          {"beta_end", 0.012}, {"beta_schedule", "scaled_linear"},
          {"num_train_timesteps", 1000}, {"prediction_type", "epsilon"},
          {"steps_offset", 1}, {"timestep_spacing", "leading"}};
}

}  // namespace

void save_random_model(const pipeline::BuiltinArch& arch, const std::string& dir) {
  const fs::path root(dir);
  PD_CHECK(!fs::exists(root / "model_index.json"), Usage,
           dir << " already holds a model (model_index.json); choose an empty folder");
  torch::NoGradGuard no_grad;
  const nn::ParamOptions fp16{torch::kHalf, torch::kCPU};
  fs::create_directories(root / "scheduler");
  write_json(root / "model_index.json", model_index(arch));
  write_json(root / "scheduler" / "scheduler_config.json", scheduler_config());
  for (size_t i = 0; i < arch.text_encoders.size(); ++i) {
    write_tokenizer(root / ("tokenizer" + suffix(i)));
    const fs::path folder = root / ("text_encoder" + suffix(i));
    fs::create_directories(folder);
    write_json(folder / "config.json", arch.text_encoders[i].config);
    write_weights(*random_text_encoder(arch, i, fp16), folder, "model.safetensors");
    logger().info("wrote {}", folder.string());
  }
  fs::create_directories(root / "unet");
  write_json(root / "unet" / "config.json", arch.unet);
  write_weights(*random_unet(arch, fp16), root / "unet", "diffusion_pytorch_model.safetensors");
  logger().info("wrote {}", (root / "unet").string());
  fs::create_directories(root / "vae");
  write_json(root / "vae" / "config.json", arch.vae);
  write_weights(*random_vae(arch, fp16), root / "vae", "diffusion_pytorch_model.safetensors");
  logger().info("wrote {}", (root / "vae").string());
}

}  // namespace pangu_draw::api
