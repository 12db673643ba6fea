// arch_detect.cpp: the family signatures (tensor name -> exact shape, names that must be absent,
// the UNet's tensor count) and the prediction-type rules of arch_detect.h.
#include "io/arch_detect.h"

#include <algorithm>
#include <cctype>
#include <sstream>
#include <vector>

#include "core/error.h"

namespace pangu_draw::io {

namespace {

struct Expect {
  const char* key;
  std::vector<int64_t> shape;
};

struct Family {
  const char* name;
  const char* text_prefix;  // the text encoder that tells the family
  size_t unet_tensors;      // model.diffusion_model.* count (layers, depths, attention blocks)
  std::vector<Expect> shapes;
  std::vector<const char*> absent;
};

const char* const kU = "model.diffusion_model.";
const std::vector<Expect> kVAE = {{"first_stage_model.encoder.conv_in.weight", {128, 3, 3, 3}},
                                  {"first_stage_model.encoder.conv_out.weight", {8, 512, 3, 3}},
                                  {"first_stage_model.decoder.conv_in.weight", {512, 4, 3, 3}},
                                  {"first_stage_model.decoder.conv_out.weight", {3, 128, 3, 3}}};

std::vector<Expect> with_vae(std::vector<Expect> v) {
  v.insert(v.end(), kVAE.begin(), kVAE.end());
  return v;
}

// SD 1.x: runwayml/stable-diffusion-v1-5; SD 2.x: stabilityai/stable-diffusion-2-1(-base);
// SDXL: stabilityai/stable-diffusion-xl-base-1.0 (UNet names below are under kU).
const std::vector<Family>& families() {
  static const std::vector<Family> all = {
      {"SD 1.x", "cond_stage_model.transformer.", 686,
       with_vae({{"input_blocks.0.0.weight", {320, 4, 3, 3}},
                 {"input_blocks.1.1.proj_in.weight", {320, 320, 1, 1}},
                 {"input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight", {320, 768}},
                 {"input_blocks.11.0.out_layers.3.weight", {1280, 1280, 3, 3}},
                 {"middle_block.1.transformer_blocks.0.attn2.to_k.weight", {1280, 768}},
                 {"output_blocks.11.1.transformer_blocks.0.norm1.bias", {320}},
                 {"out.2.weight", {4, 320, 3, 3}},
                 {"cond_stage_model.transformer.text_model.embeddings.token_embedding.weight", {49408, 768}},
                 {"cond_stage_model.transformer.text_model.encoder.layers.11.mlp.fc2.weight", {768, 3072}}}),
       {"cond_stage_model.transformer.text_model.encoder.layers.12.mlp.fc2.weight"}},
      {"SD 2.x", "cond_stage_model.model.", 686,
       with_vae({{"input_blocks.0.0.weight", {320, 4, 3, 3}},
                 {"input_blocks.1.1.proj_in.weight", {320, 320}},
                 {"input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight", {320, 1024}},
                 {"input_blocks.11.0.out_layers.3.weight", {1280, 1280, 3, 3}},
                 {"middle_block.1.transformer_blocks.0.attn2.to_k.weight", {1280, 1024}},
                 {"output_blocks.11.1.transformer_blocks.0.norm1.bias", {320}},
                 {"out.2.weight", {4, 320, 3, 3}},
                 {"cond_stage_model.model.token_embedding.weight", {49408, 1024}},
                 {"cond_stage_model.model.transformer.resblocks.22.attn.in_proj_weight", {3072, 1024}}}),
       {"cond_stage_model.model.transformer.resblocks.24.attn.in_proj_weight"}},
      {"SDXL base", "conditioner.embedders.1.model.", 1680,
       with_vae({{"input_blocks.0.0.weight", {320, 4, 3, 3}},
                 {"label_emb.0.0.weight", {1280, 2816}},
                 {"input_blocks.4.1.transformer_blocks.1.attn2.to_k.weight", {640, 2048}},
                 {"input_blocks.7.1.transformer_blocks.9.attn2.to_k.weight", {1280, 2048}},
                 {"middle_block.1.transformer_blocks.9.attn2.to_k.weight", {1280, 2048}},
                 {"out.2.weight", {4, 320, 3, 3}},
                 {"conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight", {49408, 768}},
                 {"conditioner.embedders.0.transformer.text_model.encoder.layers.11.mlp.fc2.weight", {768, 3072}},
                 {"conditioner.embedders.1.model.token_embedding.weight", {49408, 1280}},
                 {"conditioner.embedders.1.model.transformer.resblocks.31.attn.in_proj_weight", {3840, 1280}},
                 {"conditioner.embedders.1.model.text_projection", {1280, 1280}}}),
       {"conditioner.embedders.1.model.transformer.resblocks.32.attn.in_proj_weight",
        "conditioner.embedders.2.model.token_embedding.weight"}},
  };
  return all;
}

bool has_prefix(const SafetensorsFile& file, const std::string& prefix) {
  const auto names = file.names();
  return std::any_of(names.begin(), names.end(),
                     [&](const std::string& n) { return n.compare(0, prefix.size(), prefix) == 0; });
}

std::string shape_str(const std::vector<int64_t>& s) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  return os.str() + "]";
}

// Signature names without a component prefix are the UNet's (under kU).
bool is_unet_key(const std::string& key) {
  for (const char* p : {"first_stage_model.", "cond_stage_model.", "conditioner."}) {
    if (key.rfind(p, 0) == 0) return false;
  }
  return true;
}

// What keeps `file` from being `family`: one line per mismatch (empty when it is).
std::vector<std::string> mismatches(const SafetensorsFile& file, const Family& family) {
  std::vector<std::string> out;
  for (const auto& e : family.shapes) {
    const std::string key = (is_unet_key(e.key) ? kU : "") + std::string(e.key);
    if (!file.contains(key)) out.push_back(key + " is missing");
    else if (file.info(key).shape != e.shape)
      out.push_back(key + " is " + shape_str(file.info(key).shape) + ", expected " + shape_str(e.shape));
  }
  for (const char* key : family.absent) {
    if (file.contains(key)) out.push_back(std::string(key) + " is present (more layers)");
  }
  size_t unet = 0;
  const std::string unet_prefix = kU;
  for (const auto& n : file.names()) unet += n.compare(0, unet_prefix.size(), unet_prefix) == 0 ? 1 : 0;
  if (unet != family.unet_tensors) {
    out.push_back("the UNet has " + std::to_string(unet) + " tensors, expected " +
                  std::to_string(family.unet_tensors));
  }
  return out;
}

[[noreturn]] void not_recognised(const SafetensorsFile& file, const std::string& why) {
  PD_FAIL(Usage, file.path() << ": not recognised as a standard SD 1.x, SD 2.x or SDXL base "
                                "checkpoint, so the built-in configs do not describe it ("
                             << why << "); pass --config DIR, a diffusers folder of this model's "
                                "architecture, for its config.json files, tokenizers and scheduler");
}

void reject_unsupported_markers(const SafetensorsFile& file) {
  if (file.contains("edm_mean") || file.contains("edm_vpred.sigma_max"))
    not_recognised(file, "it carries EDM markers (Playground v2.5 / CosXL), an EDM model");
  if (file.contains("ztsnr"))
    not_recognised(file, "it carries the 'ztsnr' marker: zero-terminal-SNR training, whose "
                         "schedule this engine does not implement");
  if (has_prefix(file, "conditioner.embedders.0.model.") && !has_prefix(file, "conditioner.embedders.1."))
    not_recognised(file, "it has only an OpenCLIP bigG encoder: an SDXL refiner");
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Explicit markers: modelspec metadata, then the "v_pred" tensor; empty when none.
std::string marked_prediction(const SafetensorsFile& file, std::string& evidence) {
  const auto& meta = file.metadata();
  if (auto it = meta.find("modelspec.prediction_type"); it != meta.end()) {
    const std::string v = lower(it->second);
    evidence = "metadata modelspec.prediction_type = \"" + it->second + "\"";
    if (v == "v" || v == "v_prediction" || v == "v-prediction" || v == "velocity") return "v_prediction";
    if (v == "epsilon" || v == "eps") return "epsilon";
  }
  if (auto it = meta.find("modelspec.architecture"); it != meta.end()) {
    const std::string a = lower(it->second);
    evidence = "metadata modelspec.architecture = \"" + it->second + "\"";
    if (a.find("768-v") != std::string::npos) return "v_prediction";
    if (a.find("v2-512") != std::string::npos) return "epsilon";
  }
  if (file.contains("v_pred")) {
    evidence = "the 'v_pred' marker tensor";
    return "v_prediction";
  }
  evidence.clear();
  return "";
}

// ComfyUI's SD 2.x rule: std of the last output block's first norm1 bias > 0.09 -> v-prediction.
std::string sd2_prediction_from_weights(const SafetensorsFile& file, std::string& evidence) {
  const std::string key = std::string(kU) + "output_blocks.11.1.transformer_blocks.0.norm1.bias";
  const double sd = file.load(key).std(/*unbiased=*/false).item<double>();
  std::ostringstream os;
  os << "std of " << key << " = " << sd << (sd > 0.09 ? " > 0.09" : " <= 0.09")
     << " (ComfyUI's SD 2.x rule)";
  evidence = os.str();
  return sd > 0.09 ? "v_prediction" : "epsilon";
}

}  // namespace

DetectedModel detect_architecture(const SafetensorsFile& file) {
  reject_unsupported_markers(file);
  const Family* family = nullptr;
  for (const auto& f : families()) {
    if (has_prefix(file, f.text_prefix)) {
      family = &f;
      break;
    }
  }
  if (!family) not_recognised(file, "no text encoder under cond_stage_model.* or conditioner.*");
  const auto bad = mismatches(file, *family);
  if (!bad.empty()) {
    std::string why = "it has " + std::string(family->name) + "'s text encoder but ";
    for (size_t i = 0; i < bad.size() && i < 4; ++i) why += (i ? "; " : "") + bad[i];
    if (bad.size() > 4) why += "; and " + std::to_string(bad.size() - 4) + " more";
    not_recognised(file, why);
  }
  DetectedModel d;
  d.prediction_type = marked_prediction(file, d.evidence);
  const std::string name = family->name;
  if (name == "SD 2.x" && d.prediction_type.empty())
    d.prediction_type = sd2_prediction_from_weights(file, d.evidence);
  if (d.prediction_type.empty()) {
    d.prediction_type = "epsilon";
    d.evidence = "the family's default (no marker)";
  }
  const bool v = d.prediction_type == "v_prediction";
  if (name == "SD 2.x") {
    d.family = v ? "SD 2.x 768 (v-prediction)" : "SD 2.x 512 base";
    d.config_set = v ? "sd21" : "sd21-base";
  } else {
    d.family = name + (v ? " (v-prediction)" : "");
    d.config_set = name == "SD 1.x" ? "sd15" : "sdxl-base";
  }
  return d;
}

}  // namespace pangu_draw::io
