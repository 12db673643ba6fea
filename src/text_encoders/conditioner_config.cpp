// conditioner_config.cpp: how a model's prompts are conditioned (which encoders, layers, pooling,
// time ids), read from its configs.
#include "text_encoders/conditioner_config.h"

#include <algorithm>
#include <sstream>

#include "core/error.h"

namespace pangu_draw::text_encoders {

namespace {

struct PipelineDefaults {
  const char* class_name;
  std::vector<HiddenLayer> layers;  // per encoder
  bool pooled;                      // pooled vector from the last encoder
  TimeIds time_ids;
  bool zeros_for_empty_negative;
};

// Defaults of the pipeline classes whose checkpoints people have (diffusers' behaviour, and the
// PanGu-Draw 3.0 release as described in shared/design/pangu-draw.md §1).
const PipelineDefaults kPipelines[] = {
    {"StableDiffusionPipeline", {HiddenLayer::Last}, false, TimeIds::None, false},
    {"StableDiffusionXLPipeline", {HiddenLayer::Penultimate, HiddenLayer::Penultimate}, true,
     TimeIds::SizeCropTarget, true},
    {"PanGuDrawPipeline", {HiddenLayer::Last, HiddenLayer::Penultimate}, true, TimeIds::SizeBucket,
     false},
};

HiddenLayer parse_layer(const std::string& s, const std::string& origin) {
  if (s == "last") return HiddenLayer::Last;
  if (s == "penultimate") return HiddenLayer::Penultimate;
  PD_FAIL(Input, origin << ": conditioning layer '" << s << "' must be last or penultimate");
}

TimeIds parse_time_ids(const std::string& s, const std::string& origin) {
  if (s == "none") return TimeIds::None;
  if (s == "size_crop_target") return TimeIds::SizeCropTarget;
  if (s == "size_bucket") return TimeIds::SizeBucket;
  PD_FAIL(Input, origin << ": conditioning time_ids '" << s
                        << "' must be none, size_crop_target or size_bucket");
}

const PipelineDefaults& defaults_for(const std::string& class_name) {
  for (const auto& p : kPipelines) {
    if (class_name == p.class_name) return p;
  }
  return kPipelines[0];
}

std::vector<std::pair<int64_t, int64_t>> read_buckets(const io::JsonConfig& index) {
  std::vector<std::pair<int64_t, int64_t>> out;
  if (!index.has("size_buckets")) return out;
  const auto& raw = index.raw().at("size_buckets");
  PD_CHECK(raw.is_array(), Input, index.origin() << ": 'size_buckets' must be a list of [w, h]");
  for (const auto& b : raw) {
    PD_CHECK(b.is_array() && b.size() == 2 && b[0].is_number_integer() && b[1].is_number_integer(),
             Input, index.origin() << ": every size_buckets entry must be [width, height]");
    out.emplace_back(b[0].get<int64_t>(), b[1].get<int64_t>());
  }
  return out;
}

}  // namespace

ConditionerConfig conditioner_config_from(const io::JsonConfig& index,
                                          const std::vector<std::string>& encoder_folders) {
  PD_CHECK(!encoder_folders.empty(), Input, index.origin() << ": the model has no text_encoder folder");
  const auto& d = defaults_for(index.get_string("_class_name", ""));
  ConditionerConfig c;
  std::vector<HiddenLayer> layers = d.layers;
  bool pooled = d.pooled;
  c.time_ids = d.time_ids;
  if (index.has("conditioning")) {  // explicit description carried by the model
    const io::JsonConfig spec = index.get_object("conditioning");
    layers.clear();
    for (const auto& s : spec.get_string_list("context_layers")) layers.push_back(parse_layer(s, spec.origin()));
    pooled = spec.get_bool("pooled", pooled);
    c.time_ids = parse_time_ids(spec.get_string("time_ids", "none"), spec.origin());
  }
  PD_CHECK(layers.size() == encoder_folders.size(), Input,
           index.origin() << ": the model has " << encoder_folders.size()
                          << " text encoders but its conditioning describes " << layers.size());
  for (size_t i = 0; i < encoder_folders.size(); ++i) {
    const std::string suffix = encoder_folders[i].substr(std::string("text_encoder").size());
    c.encoders.push_back({"tokenizer" + suffix, encoder_folders[i], layers[i]});
  }
  c.pooled_from = pooled ? static_cast<int>(c.encoders.size()) - 1 : -1;
  c.size_buckets = read_buckets(index);
  PD_CHECK(c.time_ids != TimeIds::SizeBucket || !c.size_buckets.empty(), Input,
           index.origin() << ": size-bucket conditioning needs a 'size_buckets' list");
  c.zeros_for_empty_negative = index.get_bool("force_zeros_for_empty_prompt", d.zeros_for_empty_negative);
  return c;
}

HiddenSelection hidden_selection(HiddenLayer layer, int clip_skip) {
  PD_CHECK(clip_skip >= 0, Usage, "clip skip must be >= 0 (0 = the model's own), got " << clip_skip);
  if (layer == HiddenLayer::Last) {
    return clip_skip <= 1 ? HiddenSelection{1, true} : HiddenSelection{clip_skip, true};
  }
  return HiddenSelection{std::max(clip_skip, 2), false};
}

int64_t ConditionerConfig::bucket_index(int64_t width, int64_t height) const {
  for (size_t i = 0; i < size_buckets.size(); ++i) {
    if (size_buckets[i].first == width && size_buckets[i].second == height) return static_cast<int64_t>(i);
  }
  std::ostringstream list;
  for (const auto& [w, h] : size_buckets) list << " " << w << "x" << h;
  PD_FAIL(Usage, "this model supports only the sizes (width x height):" << list.str()
                                                                       << "; got " << width << "x"
                                                                       << height);
}

}  // namespace pangu_draw::text_encoders
