// ldm_unet_layout.cpp: the config -> ldm block index table of ldm_unet_layout.h.
#include "io/ldm_unet_layout.h"

#include <set>
#include <sstream>

#include "core/error.h"

namespace pangu_draw::io {

namespace {

bool has_attention(const std::string& block_type) { return block_type.rfind("CrossAttn", 0) == 0; }

std::string join(const std::vector<int64_t>& v) {
  std::ostringstream os;
  for (size_t i = 0; i < v.size(); ++i) os << (i ? "," : "") << v[i];
  return os.str();
}

void add_down_blocks(LdmUNetLayout& lay, const std::vector<int64_t>& layers,
                     const std::vector<std::string>& types) {
  const size_t n = layers.size();
  lay.input.emplace_back();  // input_blocks.0: conv_in
  for (size_t b = 0; b < n; ++b) {
    const std::string block = "down_blocks." + std::to_string(b) + ".";
    for (int64_t l = 0; l < layers[b]; ++l) {
      LdmBlockSlot slot;
      slot.resnet = block + "resnets." + std::to_string(l) + ".";
      if (has_attention(types[b])) slot.attention = block + "attentions." + std::to_string(l) + ".";
      lay.input.push_back(slot);
    }
    if (b + 1 == n) continue;
    LdmBlockSlot down;
    down.sampler = block + "downsamplers.0.conv.";
    lay.input.push_back(down);
  }
}

void add_up_blocks(LdmUNetLayout& lay, const std::vector<int64_t>& layers,
                   const std::vector<std::string>& types) {
  const size_t n = layers.size();
  for (size_t j = 0; j < n; ++j) {
    const std::string block = "up_blocks." + std::to_string(j) + ".";
    const int64_t count = layers[n - 1 - j] + 1;
    const bool attn = has_attention(types[j]);
    for (int64_t l = 0; l < count; ++l) {
      LdmBlockSlot slot;
      slot.resnet = block + "resnets." + std::to_string(l) + ".";
      if (attn) slot.attention = block + "attentions." + std::to_string(l) + ".";
      if (l + 1 == count && j + 1 != n) {
        slot.sampler = block + "upsamplers.0.";
        slot.sampler_sub = attn ? 2 : 1;
      }
      lay.output.push_back(slot);
    }
  }
}

}  // namespace

LdmUNetLayout ldm_unet_layout(const JsonConfig& config) {
  const size_t n = config.get_int_list("block_out_channels").size();
  const auto down = config.get_string_list("down_block_types");
  PD_CHECK(n > 0 && down.size() == n, Input,
           config.origin() << ": block_out_channels and down_block_types must have the same, "
                              "non-zero length");
  const std::vector<int64_t> layers = config.get_int_or_list("layers_per_block", n, 2);
  for (int64_t l : layers) {
    PD_CHECK(l > 0 && l <= 64, Input,
             config.origin() << ": layers_per_block must be in [1, 64], got " << l);
  }
  LdmUNetLayout lay;
  add_down_blocks(lay, layers, down);
  std::vector<int64_t> attention;
  for (const auto& t : down) attention.push_back(has_attention(t) ? 1 : 0);
  lay.summary = "layers_per_block [" + join(layers) + "], attention [" + join(attention) + "]";
  if (config.has("up_block_types")) {
    const auto up = config.get_string_list("up_block_types");
    PD_CHECK(up.size() == n, Input,
             config.origin() << ": up_block_types must have as many entries as down_block_types");
    add_up_blocks(lay, layers, up);
  }
  const size_t m = config.has("conditioning_embedding_out_channels")
                       ? config.get_int_list("conditioning_embedding_out_channels").size()
                       : 4;  // diffusers' default (16, 32, 96, 256)
  lay.hint_last = 4 * static_cast<int64_t>(m) - 2;
  return lay;
}

void check_input_block_count(const SafetensorsFile& file, const std::string& prefix,
                             const LdmUNetLayout& layout, const JsonConfig& config) {
  const std::string group = prefix + "input_blocks.";
  std::set<int64_t> seen;
  for (const auto& name : file.names()) {
    if (name.compare(0, group.size(), group) != 0) continue;
    const size_t dot = name.find('.', group.size());
    const std::string digits = name.substr(group.size(), dot - group.size());
    if (digits.empty() || digits.size() > 6 || digits.find_first_not_of("0123456789") != std::string::npos)
      continue;
    seen.insert(std::stoll(digits));
  }
  if (seen.empty()) return;  // no UNet here: the missing tensors are reported by the loader
  const auto expected = static_cast<int64_t>(layout.input.size());
  PD_CHECK(*seen.rbegin() + 1 == expected && static_cast<int64_t>(seen.size()) == expected, Input,
           file.path() << ": the checkpoint's UNet has " << seen.size() << " input blocks ("
                       << group << "0.." << *seen.rbegin() << "), but " << config.origin()
                       << " (" << layout.summary << ") describes " << expected
                       << ": that config is of another architecture; pass --config DIR with this "
                          "model's own diffusers configs");
}

}  // namespace pangu_draw::io
