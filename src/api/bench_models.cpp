// bench_models.cpp: builds or loads the models of a benchmark and the conditioning tensors the
// UNet is timed with.
#include "api/bench_models.h"

#include "core/error.h"
#include "io/json_config.h"
#include "nn/init.h"
#include "text_encoders/clip_text.h"
#include "unet/unet_config.h"
#include "vae/vae_config.h"

namespace pangu_draw::api {

namespace {

constexpr uint64_t kSeed = 0;  // random weights are the same in every run

double count_params_millions(torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return static_cast<double>(n) / 1e6;
}

io::JsonConfig builtin_config(const nlohmann::json& j, const std::string& arch,
                              const std::string& file) {
  return io::JsonConfig(j, "built-in " + arch + " " + file);
}

// Runs every encoder once on `ids`; fills the UNet conditioning the way the model reads it.
void text_conditioning(std::vector<text_encoders::CLIPTextModel>& encoders,
                       const pipeline::BuiltinArch& arch, const torch::Tensor& ids,
                       BenchModels& m) {
  std::vector<torch::Tensor> contexts;
  for (size_t i = 0; i < encoders.size(); ++i) {
    auto out = encoders[i]->forward(ids);
    const bool penultimate = arch.text_encoders[i].penultimate;
    contexts.push_back(penultimate ? out.penultimate_hidden : out.last_hidden);
    m.pooled = out.pooled_projected;  // the last encoder's (SDXL: OpenCLIP bigG projection)
  }
  m.context = torch::cat(contexts, -1);  // [1, 77, C]
  if (arch.time_ids == 0) {
    m.pooled = torch::Tensor();
    return;
  }
  const double s = static_cast<double>(arch.native_size);
  m.time_ids = torch::tensor({s, s, 0.0, 0.0, s, s}, torch::kFloat).narrow(0, 0, arch.time_ids)
                   .unsqueeze(0);
}

}  // namespace

text_encoders::CLIPTextModel random_text_encoder(const pipeline::BuiltinArch& arch, size_t i,
                                                 const nn::ParamOptions& p) {
  std::string file = "text_encoder";
  if (i > 0) file.append("_").append(std::to_string(i + 1));
  file += "/config.json";
  text_encoders::CLIPTextModel e(text_encoders::CLIPTextConfig::from_json(
                                     builtin_config(arch.text_encoders[i].config, arch.name, file)),
                                 p);
  nn::init_parameters(*e, kSeed + 1 + i);
  return e;
}

unet::UNet2DConditionModel random_unet(const pipeline::BuiltinArch& arch,
                                       const nn::ParamOptions& p) {
  unet::UNet2DConditionModel u(
      unet::UNetConfig::from_json(builtin_config(arch.unet, arch.name, "unet/config.json")), p);
  nn::init_parameters(*u, kSeed);
  return u;
}

vae::AutoencoderKL random_vae(const pipeline::BuiltinArch& arch, const nn::ParamOptions& p) {
  vae::AutoencoderKL v(
      vae::VAEConfig::from_json(builtin_config(arch.vae, arch.name, "vae/config.json")), p);
  nn::init_parameters(*v, kSeed + 100);
  return v;
}

BenchModels build_random_models(const pipeline::BuiltinArch& arch, torch::ScalarType dtype) {
  torch::NoGradGuard no_grad;
  BenchModels m;
  m.description = arch.name + " (random weights)";
  const nn::ParamOptions p{dtype, torch::kCPU};
  std::vector<text_encoders::CLIPTextModel> encoders;
  for (size_t i = 0; i < arch.text_encoders.size(); ++i) {
    encoders.emplace_back(random_text_encoder(arch, i, p));
  }
  m.unet = random_unet(arch, p);
  m.vae = random_vae(arch, p);
  for (auto& e : encoders) m.params_millions += count_params_millions(*e);
  m.params_millions += count_params_millions(*m.unet) + count_params_millions(*m.vae);
  m.unet->eval();
  m.vae->eval();
  if (!m.vae->channels_last()) m.vae->use_channels_last();  // as load_vae does
  const int64_t vocab = encoders.front()->config().vocab_size;
  auto ids = torch::randint(0, vocab - 1, {1, 77}, torch::kLong);
  text_conditioning(encoders, arch, ids, m);
  m.encode_text = [encoders, ids]() mutable {
    torch::InferenceMode guard;
    for (int branch = 0; branch < 2; ++branch) {
      for (auto& e : encoders) e->forward(ids);
    }
  };
  m.native_width = m.native_height = arch.native_size;
  return m;
}

BenchModels load_bench_models(const std::string& path, torch::ScalarType dtype, int64_t width,
                              int64_t height) {
  pipeline::LoadSettings settings;
  settings.dtype = dtype;
  BenchModels m;
  m.bundle = pipeline::load_bundle(path, settings);
  m.description = path;
  m.unet = m.bundle->unet;
  m.vae = m.bundle->vae;
  m.native_width = m.bundle->native_width;
  m.native_height = m.bundle->native_height;
  const int64_t w = width > 0 ? width : m.native_width, h = height > 0 ? height : m.native_height;
  auto cond = m.bundle->conditioner->encode("a photograph of an astronaut riding a horse", w, h);
  m.context = cond.context;
  m.pooled = cond.pooled;
  m.time_ids = cond.time_ids;
  m.encode_text = [bundle = m.bundle, w, h] {
    bundle->conditioner->encode_negative("", w, h);
    bundle->conditioner->encode("a photograph of an astronaut riding a horse", w, h);
  };
  m.params_millions = count_params_millions(*m.unet) + count_params_millions(*m.vae);
  return m;
}

}  // namespace pangu_draw::api
