// key_map_ldm.cpp: original-checkpoint key -> canonical (diffusers/transformers) name tables.
#include "io/key_map_ldm.h"

#include <optional>
#include <utility>

#include "core/error.h"
#include "io/ldm_unet_layout.h"

namespace pangu_draw::io {

namespace {

using Renames = std::vector<std::pair<std::string, std::string>>;

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }

// Replaces the first matching prefix of `rest` from `table`; unchanged when none matches.
std::string rename_prefix(const std::string& rest, const Renames& table) {
  for (const auto& [from, to] : table) {
    if (starts_with(rest, from)) return to + rest.substr(from.size());
  }
  return rest;
}

// Splits "12.rest.of.key" into (12, "rest.of.key").
std::optional<std::pair<int64_t, std::string>> split_index(const std::string& s) {
  size_t dot = s.find('.');
  if (dot == std::string::npos || dot == 0) return std::nullopt;
  for (size_t i = 0; i < dot; ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
  }
  return std::make_pair(std::stoll(s.substr(0, dot)), s.substr(dot + 1));
}

const Renames kUNetResnet = {{"in_layers.0.", "norm1."},        {"in_layers.2.", "conv1."},
                             {"emb_layers.1.", "time_emb_proj."}, {"out_layers.0.", "norm2."},
                             {"out_layers.3.", "conv2."},        {"skip_connection.", "conv_shortcut."}};

const Renames kUNetTop = {{"time_embed.0.", "time_embedding.linear_1."},
                          {"time_embed.2.", "time_embedding.linear_2."},
                          {"label_emb.0.0.", "add_embedding.linear_1."},
                          {"label_emb.0.2.", "add_embedding.linear_2."},
                          {"input_blocks.0.0.", "conv_in."},
                          {"out.0.", "conv_norm_out."},
                          {"out.2.", "conv_out."},
                          {"middle_block_out.0.", "controlnet_mid_block."}};

std::optional<std::string> map_mid_block(const std::string& rest) {
  auto idx = split_index(rest);
  if (!idx) return std::nullopt;
  if (idx->first == 1) return "mid_block.attentions.0." + idx->second;
  if (idx->first != 0 && idx->first != 2) return std::nullopt;
  const int64_t resnet = idx->first == 0 ? 0 : 1;
  return "mid_block.resnets." + std::to_string(resnet) + "." +
         rename_prefix(idx->second, kUNetResnet);
}

// input_blocks.<i>.<sub>.<rest> -> diffusers name, from the slot the config puts at <i>.
std::optional<std::string> map_input_block(const LdmUNetLayout& lay, int64_t i, const std::string& rest) {
  auto sub = split_index(rest);
  if (!sub || i <= 0 || i >= static_cast<int64_t>(lay.input.size())) return std::nullopt;
  const LdmBlockSlot& slot = lay.input[static_cast<size_t>(i)];
  if (!slot.sampler.empty()) {  // a downsampler: input_blocks.<i>.0.op.*
    if (sub->first != 0 || !starts_with(sub->second, "op.")) return std::nullopt;
    return slot.sampler + sub->second.substr(3);
  }
  if (sub->first == 0) return slot.resnet + rename_prefix(sub->second, kUNetResnet);
  if (sub->first == 1 && !slot.attention.empty()) return slot.attention + sub->second;
  return std::nullopt;
}

// output_blocks.<i>.<sub>.<rest>: resnet (0), attention (1, attention blocks only), upsampler
// (in a block's last layer: 1 without attention, 2 with it).
std::optional<std::string> map_output_block(const LdmUNetLayout& lay, int64_t i, const std::string& rest) {
  auto sub = split_index(rest);
  if (!sub || i < 0 || i >= static_cast<int64_t>(lay.output.size())) return std::nullopt;
  const LdmBlockSlot& slot = lay.output[static_cast<size_t>(i)];
  if (sub->first == 0) return slot.resnet + rename_prefix(sub->second, kUNetResnet);
  if (sub->first == 1 && !slot.attention.empty()) return slot.attention + sub->second;
  if (sub->first == slot.sampler_sub && !slot.sampler.empty()) return slot.sampler + sub->second;
  return std::nullopt;
}

// ControlNet's hint encoder: input_hint_block.{0, 2, ..., 4m-2} -> conv_in, blocks.0..2m-3,
// conv_out (m = len(conditioning_embedding_out_channels); odd indices are SiLUs, no weights).
std::optional<std::string> map_hint_block(const LdmUNetLayout& lay, int64_t k, const std::string& rest) {
  const std::string base = "controlnet_cond_embedding.";
  if (k == 0) return base + "conv_in." + rest;
  if (k == lay.hint_last) return base + "conv_out." + rest;
  if (k % 2 != 0 || k < 0 || k > lay.hint_last) return std::nullopt;
  return base + "blocks." + std::to_string(k / 2 - 1) + "." + rest;
}

std::optional<std::string> map_unet_key(const std::string& rest, const LdmUNetLayout& lay) {
  std::string renamed = rename_prefix(rest, kUNetTop);
  if (renamed != rest) return renamed;
  const std::pair<const char*, int> groups[] = {
      {"input_blocks.", 0}, {"output_blocks.", 1}, {"input_hint_block.", 2}, {"zero_convs.", 3}};
  for (const auto& [group, kind] : groups) {
    if (!starts_with(rest, group)) continue;
    auto idx = split_index(rest.substr(std::string(group).size()));
    if (!idx) return std::nullopt;
    if (kind == 0) return map_input_block(lay, idx->first, idx->second);
    if (kind == 1) return map_output_block(lay, idx->first, idx->second);
    if (kind == 2) return map_hint_block(lay, idx->first, idx->second);
    if (!starts_with(idx->second, "0.") || idx->first >= static_cast<int64_t>(lay.input.size()))
      return std::nullopt;
    return "controlnet_down_blocks." + std::to_string(idx->first) + "." + idx->second.substr(2);
  }
  if (starts_with(rest, "middle_block.")) return map_mid_block(rest.substr(13));
  return std::nullopt;
}

}  // namespace

bool is_ldm_checkpoint(const SafetensorsFile& file) {
  for (const auto& name : file.names()) {
    if (starts_with(name, LdmPrefixes::kUNet)) return true;
  }
  return false;
}

std::map<std::string, WeightEntry> map_ldm_unet(const SafetensorsFile& file,
                                                const std::string& prefix,
                                                const JsonConfig& config) {
  const LdmUNetLayout lay = ldm_unet_layout(config);
  check_input_block_count(file, prefix, lay, config);
  std::map<std::string, WeightEntry> out;
  for (const auto& name : file.names()) {
    if (!starts_with(name, prefix)) continue;
    auto canonical = map_unet_key(name.substr(prefix.size()), lay);
    // Keys without a canonical name stay visible (and are reported as unexpected).
    out[canonical ? *canonical : "<unmapped>." + name].key = name;
  }
  return out;
}

namespace {

// Prefix pairs (diffusers, ldm) of every UNet slot of `lay`; `resnet`: the tail takes kUNetResnet.
struct SlotPrefix {
  std::string diffusers, ldm;
  bool resnet = false;
};

std::vector<SlotPrefix> unet_slot_prefixes(const LdmUNetLayout& lay) {
  std::vector<SlotPrefix> out = {{"mid_block.resnets.0.", "middle_block.0.", true},
                                 {"mid_block.attentions.0.", "middle_block.1.", false},
                                 {"mid_block.resnets.1.", "middle_block.2.", true}};
  for (const auto& [ldm, diffusers] : kUNetTop) out.push_back({diffusers, ldm, false});
  for (size_t i = 1; i < lay.input.size(); ++i) {
    const LdmBlockSlot& s = lay.input[i];
    const std::string at = "input_blocks." + std::to_string(i) + ".";
    if (!s.sampler.empty()) out.push_back({s.sampler, at + "0.op.", false});
    if (!s.resnet.empty()) out.push_back({s.resnet, at + "0.", true});
    if (!s.attention.empty()) out.push_back({s.attention, at + "1.", false});
  }
  for (size_t i = 0; i < lay.output.size(); ++i) {
    const LdmBlockSlot& s = lay.output[i];
    const std::string at = "output_blocks." + std::to_string(i) + ".";
    out.push_back({s.resnet, at + "0.", true});
    if (!s.attention.empty()) out.push_back({s.attention, at + "1.", false});
    if (!s.sampler.empty()) out.push_back({s.sampler, at + std::to_string(s.sampler_sub) + ".", false});
  }
  return out;
}

}  // namespace

std::optional<std::string> ldm_unet_name(const std::string& diffusers_name, const LdmUNetLayout& lay) {
  for (const SlotPrefix& slot : unet_slot_prefixes(lay)) {
    if (slot.diffusers.empty() || !starts_with(diffusers_name, slot.diffusers)) continue;
    std::string tail = diffusers_name.substr(slot.diffusers.size());
    if (slot.resnet) {
      for (const auto& [ldm, diffusers] : kUNetResnet) {
        if (starts_with(tail, diffusers)) {
          tail = ldm + tail.substr(diffusers.size());
          break;
        }
      }
    }
    return slot.ldm + tail;
  }
  return std::nullopt;
}

namespace {

const Renames kVAEResnet = {{"nin_shortcut.", "conv_shortcut."}};
const Renames kVAEAttention = {{"norm.", "group_norm."}, {"q.", "to_q."}, {"k.", "to_k."},
                               {"v.", "to_v."},          {"proj_out.", "to_out.0."}};

std::optional<std::string> map_vae_stack(const std::string& rest, bool decoder, int64_t nb) {
  // rest: "down.2.block.1.conv1.weight" / "up.0.upsample.conv.bias"
  auto idx = split_index(rest.substr(decoder ? 3 : 5));
  if (!idx) return std::nullopt;
  const int64_t block = decoder ? nb - 1 - idx->first : idx->first;
  const std::string base = std::string(decoder ? "up_blocks." : "down_blocks.") +
                           std::to_string(block) + ".";
  const std::string& tail = idx->second;
  if (starts_with(tail, "block.")) {
    auto r = split_index(tail.substr(6));
    if (!r) return std::nullopt;
    return base + "resnets." + std::to_string(r->first) + "." + rename_prefix(r->second, kVAEResnet);
  }
  if (starts_with(tail, "downsample.")) return base + "downsamplers.0." + tail.substr(11);
  if (starts_with(tail, "upsample.")) return base + "upsamplers.0." + tail.substr(9);
  return std::nullopt;
}

std::optional<std::string> map_vae_key(const std::string& key, int64_t nb) {
  for (const char* part : {"encoder.", "decoder."}) {
    if (!starts_with(key, part)) continue;
    const bool decoder = part[0] == 'd';
    const std::string rest = key.substr(8);
    if (starts_with(rest, "norm_out.")) return part + ("conv_norm_out." + rest.substr(9));
    if (starts_with(rest, "mid.block_1.")) return part + ("mid_block.resnets.0." + rename_prefix(rest.substr(12), kVAEResnet));
    if (starts_with(rest, "mid.block_2.")) return part + ("mid_block.resnets.1." + rename_prefix(rest.substr(12), kVAEResnet));
    if (starts_with(rest, "mid.attn_1.")) return part + ("mid_block.attentions.0." + rename_prefix(rest.substr(11), kVAEAttention));
    if (starts_with(rest, decoder ? "up." : "down.")) {
      auto mapped = map_vae_stack(rest, decoder, nb);
      if (mapped) return part + *mapped;
      return std::nullopt;
    }
    return key;  // conv_in, conv_out
  }
  return key;  // quant_conv, post_quant_conv
}

}  // namespace

std::map<std::string, WeightEntry> map_ldm_vae(const SafetensorsFile& file,
                                               const std::string& prefix, int64_t num_blocks) {
  std::map<std::string, WeightEntry> out;
  for (const auto& name : file.names()) {
    if (!starts_with(name, prefix)) continue;
    auto canonical = map_vae_key(name.substr(prefix.size()), num_blocks);
    WeightEntry entry;
    entry.key = name;
    const auto& shape = file.info(name).shape;
    // The original mid-block attention uses 1x1 convolutions where diffusers has linear layers:
    // weights [C, C, 1, 1] -> [C, C], biases [C, 1, 1] (as some converters store them) -> [C].
    if (canonical && canonical->find("attentions.0.to_") != std::string::npos && shape.size() > 2) {
      const bool bias = canonical->size() >= 5 && canonical->compare(canonical->size() - 5, 5, ".bias") == 0;
      entry.reshape = bias ? std::vector<int64_t>{shape[0]} : std::vector<int64_t>{shape[0], shape[1]};
    }
    out[canonical ? *canonical : "<unmapped>." + name] = entry;
  }
  return out;
}

std::map<std::string, WeightEntry> map_transformers_clip(const SafetensorsFile& file,
                                                         const std::string& prefix) {
  std::map<std::string, WeightEntry> out;
  for (const auto& name : file.names()) {
    if (starts_with(name, prefix)) out[name.substr(prefix.size())].key = name;
  }
  return out;
}

namespace {

const Renames kOpenCLIPLayer = {{"ln_1.", "layer_norm1."},          {"ln_2.", "layer_norm2."},
                                {"attn.out_proj.", "self_attn.out_proj."},
                                {"mlp.c_fc.", "mlp.fc1."},          {"mlp.c_proj.", "mlp.fc2."}};

// Adds q/k/v entries for a fused in_proj tensor of a layer.
void add_split_qkv(std::map<std::string, WeightEntry>& out, const SafetensorsFile& file,
                   const std::string& key, const std::string& layer, const std::string& suffix) {
  const int64_t rows = file.info(key).shape.at(0);
  PD_CHECK(rows % 3 == 0, Input, file.path() << ": '" << key << "' rows not divisible by 3");
  const char* names[] = {"q_proj.", "k_proj.", "v_proj."};
  for (int i = 0; i < 3; ++i) {
    WeightEntry e;
    e.key = key;
    e.row_begin = i * rows / 3;
    e.row_count = rows / 3;
    out[layer + "self_attn." + names[i] + suffix] = e;
  }
}

}  // namespace

std::map<std::string, WeightEntry> map_open_clip(const SafetensorsFile& file,
                                                 const std::string& prefix) {
  std::map<std::string, WeightEntry> out;
  for (const auto& name : file.names()) {
    if (!starts_with(name, prefix)) continue;
    const std::string rest = name.substr(prefix.size());
    WeightEntry e;
    e.key = name;
    if (rest == "token_embedding.weight") {
      out["text_model.embeddings.token_embedding.weight"] = e;
    } else if (rest == "positional_embedding") {
      out["text_model.embeddings.position_embedding.weight"] = e;
    } else if (rest == "text_projection") {
      e.transpose = true;  // open_clip multiplies x @ P; transformers stores P^T in a Linear
      out["text_projection.weight"] = e;
    } else if (starts_with(rest, "ln_final.")) {
      out["text_model.final_layer_norm." + rest.substr(9)] = e;
    } else if (starts_with(rest, "transformer.resblocks.")) {
      auto idx = split_index(rest.substr(22));
      if (!idx) continue;
      const std::string layer = "text_model.encoder.layers." + std::to_string(idx->first) + ".";
      if (idx->second == "attn.in_proj_weight") add_split_qkv(out, file, name, layer, "weight");
      else if (idx->second == "attn.in_proj_bias") add_split_qkv(out, file, name, layer, "bias");
      else out[layer + rename_prefix(idx->second, kOpenCLIPLayer)] = e;
    } else {
      out["<unmapped>." + name] = e;
    }
  }
  return out;
}

}  // namespace pangu_draw::io
