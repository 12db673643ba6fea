// lora.cpp: which weight of a loaded model each adapter module patches, and the patcher that
// merges a set of adapters into those weights (keeping the originals for the next set).
#include "pipeline/lora.h"

#include <algorithm>

#include "core/error.h"
#include "core/log.h"
#include "io/key_map_ldm.h"

namespace pangu_draw::pipeline {

namespace {

const char* const kPartNames[] = {"unet.", "text_encoder.", "text_encoder_2."};

std::string flat(std::string name) {
  std::replace(name.begin(), name.end(), '.', '_');
  return name;
}

bool strip_weight(std::string& name) {
  const std::string suffix = ".weight";
  if (name.size() <= suffix.size() ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return false;
  name.resize(name.size() - suffix.size());
  return true;
}

// The ldm (original checkpoint) layout of `config`'s UNet, for kohya's ldm module names.
io::LdmUNetLayout ldm_layout(const unet::UNetConfig& config) {
  nlohmann::json json = {{"block_out_channels", config.block_out_channels},
                         {"down_block_types", config.down_block_types},
                         {"up_block_types", config.up_block_types},
                         {"layers_per_block", config.layers_per_block}};
  return io::ldm_unet_layout(io::JsonConfig(json, config.origin));
}

std::string join_some(const std::vector<std::string>& keys, size_t most) {
  std::string out;
  for (size_t i = 0; i < keys.size() && i < most; ++i) out += (i ? ", " : "") + keys[i];
  if (keys.size() > most) out += ", ... (" + std::to_string(keys.size() - most) + " more)";
  return out;
}

}  // namespace

void LoraTargets::add(int part, const std::string& module, const std::string& alias,
                      const Target& t) {
  targets_[part]["d:" + module] = t;
  targets_[part]["f:" + flat(module)] = t;
  if (!alias.empty()) targets_[part]["f:" + flat(alias)] = t;
}

LoraTargets::LoraTargets(const ModelBundle& model) {
  const io::LdmUNetLayout layout = ldm_layout(model.unet->config());
  for (const auto& item : model.unet->named_parameters()) {
    std::string module = item.key();
    if (!strip_weight(module)) continue;
    std::string ldm = io::ldm_unet_name(item.key(), layout).value_or("");
    if (!ldm.empty() && !strip_weight(ldm)) ldm.clear();
    add(0, module, ldm, {kPartNames[0] + item.key(), item.value()});
  }
  const auto& encoders = model.conditioner->encoders();
  for (size_t e = 0; e < encoders.size() && e < 2; ++e) {
    for (const auto& item : encoders[e]->named_parameters()) {
      std::string module = item.key();
      if (strip_weight(module))
        add(static_cast<int>(e) + 1, module, "", {kPartNames[e + 1] + item.key(), item.value()});
    }
  }
}

const LoraTargets::Target* LoraTargets::find(const io::LoraModule& m) const {
  const auto& table = targets_[static_cast<int>(m.part)];
  auto it = table.find((m.flat ? "f:" : "d:") + m.name);
  return it == table.end() ? nullptr : &it->second;
}

LoraPatcher::Plan LoraPatcher::plan(const std::vector<LoraUse>& set) const {
  Plan out;
  for (const LoraUse& use : set) {
    std::vector<std::string> unknown = use.file->unknown_keys;
    size_t matched = 0;
    for (const io::LoraModule& m : use.file->modules) {
      const LoraTargets::Target* t = targets_.find(m);
      if (!t) {
        unknown.insert(unknown.end(), m.keys.begin(), m.keys.end());
        continue;
      }
      ++matched;
      const double w = m.part == io::LoraPart::UNet ? use.unet_weight : use.te_weight;
      if (w == 0.0) continue;
      PlanEntry& entry = out[t->name];
      entry.target = t;
      entry.terms.emplace_back(&m, w);
    }
    PD_CHECK(
        matched > 0, Input,
        "LoRA '"
            << use.name << "' fits no layer of this model ("
            << (use.file->modules.size() + use.file->unknown_keys.size() == 0
                    ? std::string("it holds no tensors")
                    : "keys such as '" + (unknown.empty() ? std::string() : unknown.front()) +
                          "' name no layer here")
            << "): a LoRA for another architecture or not a LoRA; use one made for this model");
    if (!unknown.empty()) {
      logger().warn("LoRA '{}': {} of its keys name no layer of this model and are ignored: {}",
                    use.name, unknown.size(), join_some(unknown, 20));
    }
  }
  return out;
}

void LoraPatcher::restore() {
  torch::InferenceMode guard;
  for (auto& [name, saved] : saved_) saved.first.copy_(saved.second);
  saved_.clear();
}

void LoraPatcher::apply(const std::vector<LoraUse>& set) {
  const Plan planned = plan(set);  // errors for unknown architectures before anything changes
  restore();
  torch::InferenceMode guard;
  try {
    for (const auto& [name, entry] : planned) {
      torch::Tensor weight = entry.target->weight;
      torch::Tensor original = weight.clone();
      torch::Tensor merged = original.to(torch::kFloat, /*non_blocking=*/false, /*copy=*/true);
      for (const auto& [module, w] : entry.terms) {
        merged.add_(
            lora_delta(*module, weight.sizes(), device_, "LoRA key '" + module->keys.front() + "'"),
            w);
      }
      saved_.emplace(name, std::make_pair(weight, original));
      weight.copy_(merged);
    }
  } catch (...) {
    restore();
    throw;
  }
  logger().debug("LoRA: {} adapters merged into {} weights", set.size(), saved_.size());
}

}  // namespace pangu_draw::pipeline
