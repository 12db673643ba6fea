// lora_file.cpp: LoRA / LyCORIS key formats -> LoraModule (part, module name, role tensors).
#include "io/lora_file.h"

#include <set>
#include <tuple>
#include <utility>

#include "core/error.h"

namespace pangu_draw::io {

namespace {

bool starts_with(const std::string& s, const std::string& p) {
  return s.compare(0, p.size(), p) == 0;
}
bool ends_with(const std::string& s, const std::string& p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

// One key split into its module and the role of its tensor ("" = a role we do not support).
struct KeyParts {
  LoraPart part = LoraPart::UNet;
  std::string name;
  bool flat = true;
  std::string role;
};

// kohya / LyCORIS: "lora_unet_<flat module>.<suffix>".
std::optional<KeyParts> parse_kohya(const std::string& key) {
  static const std::pair<const char*, LoraPart> kPrefixes[] = {
      {"lora_unet_", LoraPart::UNet},
      {"lora_te1_", LoraPart::TextEncoder1},
      {"lora_te2_", LoraPart::TextEncoder2},
      {"lora_te_", LoraPart::TextEncoder1}};
  static const std::map<std::string, std::string> kRoles = {
      {"lora_down.weight", "down"}, {"lora_up.weight", "up"},
      {"alpha", "alpha"},           {"hada_w1_a", "hada_w1_a"},
      {"hada_w1_b", "hada_w1_b"},   {"hada_w2_a", "hada_w2_a"},
      {"hada_w2_b", "hada_w2_b"},   {"lokr_w1", "lokr_w1"},
      {"lokr_w1_a", "lokr_w1_a"},   {"lokr_w1_b", "lokr_w1_b"},
      {"lokr_w2", "lokr_w2"},       {"lokr_w2_a", "lokr_w2_a"},
      {"lokr_w2_b", "lokr_w2_b"},   {"diff", "diff"}};
  for (const auto& [prefix, part] : kPrefixes) {
    if (!starts_with(key, prefix)) continue;
    const size_t dot = key.find('.');
    const std::string p(prefix);
    if (dot == std::string::npos || dot <= p.size()) return std::nullopt;
    KeyParts out{part, key.substr(p.size(), dot - p.size()), true, ""};
    auto role = kRoles.find(key.substr(dot + 1));
    if (role != kRoles.end()) out.role = role->second;
    return out;
  }
  return std::nullopt;
}

// diffusers' attention-processor names without their "_lora": "<block>.attn1.processor.to_q" ->
// "<block>.attn1.to_q" (UNet) or "<layer>.self_attn.to_q" -> "<layer>.self_attn.q_proj" (text
// encoders).
std::string processor_module(std::string module, LoraPart part) {
  const std::string processor = ".processor.";
  const size_t at = module.find(processor);
  if (at != std::string::npos) module.replace(at, processor.size(), ".");
  static const std::map<std::string, std::string> kUNet = {{"to_out", "to_out.0"}};
  static const std::map<std::string, std::string> kText = {
      {"to_q", "q_proj"}, {"to_k", "k_proj"}, {"to_v", "v_proj"}, {"to_out", "out_proj"}};
  const size_t last = module.rfind('.') + 1;
  const auto& table = part == LoraPart::UNet ? kUNet : kText;
  auto it = table.find(module.substr(last));
  if (it != table.end()) module = module.substr(0, last) + it->second;
  return module;
}

// diffusers / PEFT: "unet.<dotted module>.lora_A.weight" and the older spellings.
std::optional<KeyParts> parse_diffusers(const std::string& key) {
  static const std::pair<const char*, LoraPart> kParts[] = {
      {"unet.", LoraPart::UNet},
      {"text_encoder.", LoraPart::TextEncoder1},
      {"text_encoder_2.", LoraPart::TextEncoder2}};
  static const std::pair<const char*, const char*> kSuffixes[] = {
      {".lora_A.weight", "down"},
      {".lora_B.weight", "up"},
      {".lora.down.weight", "down"},
      {".lora.up.weight", "up"},
      {".lora_linear_layer.down.weight", "down"},
      {".lora_linear_layer.up.weight", "up"},
      {"_lora.down.weight", "down"},
      {"_lora.up.weight", "up"},
      {".alpha", "alpha"}};
  for (const auto& [prefix, part] : kParts) {
    if (!starts_with(key, prefix)) continue;
    const std::string rest = key.substr(std::string(prefix).size());
    for (const auto& [suffix, role] : kSuffixes) {
      if (!ends_with(rest, suffix)) continue;
      std::string module = rest.substr(0, rest.size() - std::string(suffix).size());
      if (suffix[0] == '_') module = processor_module(module, part);
      return KeyParts{part, module, false, role};
    }
    return KeyParts{part, rest, false, ""};
  }
  return std::nullopt;
}

double scalar(const torch::Tensor& t, const std::string& key) {
  PD_CHECK(t.numel() == 1, Input,
           "LoRA key '" << key << "' must hold one number (alpha), has shape " << t.sizes());
  return t.to(torch::kDouble).item<double>();
}

bool has(const LoraModule& m, const char* role) { return m.tensors.count(role) != 0; }

// Which kind a module's roles make up; nullopt when incomplete.
std::optional<LoraKind> kind_of(const LoraModule& m) {
  if (has(m, "down") && has(m, "up")) return LoraKind::LoRA;
  if (has(m, "hada_w1_a") && has(m, "hada_w1_b") && has(m, "hada_w2_a") && has(m, "hada_w2_b"))
    return LoraKind::LoHa;
  const bool w1 = has(m, "lokr_w1") || (has(m, "lokr_w1_a") && has(m, "lokr_w1_b"));
  const bool w2 = has(m, "lokr_w2") || (has(m, "lokr_w2_a") && has(m, "lokr_w2_b"));
  if (w1 && w2) return LoraKind::LoKr;
  if (has(m, "diff")) return LoraKind::Full;
  return std::nullopt;
}

}  // namespace

LoraFile parse_lora(const SafetensorsFile& file) {
  using Id = std::tuple<int, bool, std::string>;
  std::map<Id, LoraModule> modules;
  std::map<Id, std::vector<std::string>> keys;
  std::set<Id> unsupported;  // a module with a role we cannot apply (Tucker, DoRA, bias diff)
  LoraFile out;
  for (const std::string& key : file.names()) {
    auto parts = parse_kohya(key);
    if (!parts) parts = parse_diffusers(key);
    if (!parts) {
      out.unknown_keys.push_back(key);
      continue;
    }
    const Id id{static_cast<int>(parts->part), parts->flat, parts->name};
    keys[id].push_back(key);
    if (parts->role.empty()) {
      unsupported.insert(id);
      continue;
    }
    LoraModule& m = modules[id];
    m.part = parts->part;
    m.name = parts->name;
    m.flat = parts->flat;
    m.keys.push_back(key);
    if (parts->role == "alpha")
      m.alpha = scalar(file.load(key, torch::kFloat), key);
    else
      m.tensors[parts->role] = file.load(key, torch::kFloat);
  }
  for (auto& [id, m] : modules) {
    auto kind = kind_of(m);
    if (!kind || unsupported.count(id)) continue;
    m.kind = *kind;
    out.modules.push_back(std::move(m));
    keys.erase(id);
  }
  for (const auto& [id, list] : keys)
    out.unknown_keys.insert(out.unknown_keys.end(), list.begin(), list.end());
  return out;
}

LoraFile parse_lora_bytes(const std::vector<std::uint8_t>& bytes, const std::string& origin) {
  auto file = SafetensorsFile::from_bytes(std::string(bytes.begin(), bytes.end()), origin);
  return parse_lora(*file);
}

}  // namespace pangu_draw::io
