// clip_text.cpp: CLIP text transformer modules, config parsing and loading;
// mirrors transformers CLIPTextModel / CLIPTextModelWithProjection (modeling_clip.py).
#include "text_encoders/clip_text.h"

#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/log.h"
#include "core/tensor_check.h"
#include "io/model_layout.h"
#include "io/safetensors.h"

namespace pangu_draw::text_encoders {

namespace {

int64_t positive_int(const io::JsonConfig& json, const std::string& key) {
  const int64_t v = json.get_int(key);
  PD_CHECK(v > 0, Input, json.origin() << ": '" << key << "' must be > 0, got " << v);
  return v;
}

PoolingRule pooling_rule_for(int64_t eos_token_id, int64_t vocab_size) {
  const bool eos_in_vocab = eos_token_id >= 0 && eos_token_id < vocab_size;
  return eos_in_vocab && eos_token_id != 2 ? PoolingRule::FirstEos : PoolingRule::ArgmaxId;
}

}  // namespace

CLIPTextConfig CLIPTextConfig::from_json(const io::JsonConfig& json) {
  CLIPTextConfig c;
  c.vocab_size = positive_int(json, "vocab_size");
  c.hidden_size = positive_int(json, "hidden_size");
  c.intermediate_size = positive_int(json, "intermediate_size");
  c.num_hidden_layers = positive_int(json, "num_hidden_layers");
  c.num_attention_heads = positive_int(json, "num_attention_heads");
  c.max_position_embeddings = positive_int(json, "max_position_embeddings");
  c.hidden_act = json.get_string("hidden_act", "quick_gelu");
  PD_CHECK(c.hidden_act == "quick_gelu" || c.hidden_act == "gelu", Input,
           json.origin() << ": 'hidden_act' must be \"quick_gelu\" or \"gelu\", got \""
                         << c.hidden_act << "\"");
  c.layer_norm_eps = json.get_double("layer_norm_eps", 1e-5);
  c.projection_dim = json.get_int("projection_dim", c.hidden_size);
  c.eos_token_id = json.get_int("eos_token_id", 2);
  PD_CHECK(c.hidden_size % c.num_attention_heads == 0, Input,
           json.origin() << ": 'hidden_size' (" << c.hidden_size
                         << ") must be divisible by 'num_attention_heads' ("
                         << c.num_attention_heads << ")");
  if (json.has("architectures")) {
    const auto arch = json.get_string_list("architectures");
    c.with_projection = !arch.empty() && arch[0] == "CLIPTextModelWithProjection";
  }
  if (c.with_projection) {
    PD_CHECK(c.projection_dim > 0, Input,
             json.origin() << ": 'projection_dim' must be > 0, got " << c.projection_dim);
  }
  c.pooling = pooling_rule_for(c.eos_token_id, c.vocab_size);
  c.causal = json.get_bool("causal_attention", true);
  return c;
}

CLIPAttentionImpl::CLIPAttentionImpl(int64_t width, int64_t heads, const nn::ParamOptions& p)
    : heads_(heads) {
  q_proj = register_module("q_proj", nn::Linear(width, width, true, p));
  k_proj = register_module("k_proj", nn::Linear(width, width, true, p));
  v_proj = register_module("v_proj", nn::Linear(width, width, true, p));
  out_proj = register_module("out_proj", nn::Linear(width, width, true, p));
}

torch::Tensor CLIPAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& mask) {
  const int64_t b = x.size(0), n = x.size(1), w = x.size(2), d = w / heads_;
  auto split = [&](const torch::Tensor& t) {  // [B, N, W] -> [B, heads, N, d]
    return t.view({b, n, heads_, d}).transpose(1, 2);
  };
  const auto q = split(q_proj(x) * (1.0 / std::sqrt(static_cast<double>(d))));
  const auto k = split(k_proj(x));
  const auto v = split(v_proj(x));
  auto scores = torch::matmul(q, k.transpose(-1, -2)) + mask;  // [B, heads, N, N]
  auto out = torch::matmul(torch::softmax(scores, -1), v);     // [B, heads, N, d]
  return out_proj(out.transpose(1, 2).reshape({b, n, w}));
}

CLIPMLPImpl::CLIPMLPImpl(int64_t width, int64_t inner, std::string act, const nn::ParamOptions& p)
    : act_(std::move(act)) {
  fc1 = register_module("fc1", nn::Linear(width, inner, true, p));
  fc2 = register_module("fc2", nn::Linear(inner, width, true, p));
}

torch::Tensor CLIPMLPImpl::forward(const torch::Tensor& x) {
  auto h = fc1(x);                                         // [B, N, inner]
  h = act_ == "gelu" ? torch::gelu(h) : h * torch::sigmoid(1.702 * h);  // quick_gelu
  return fc2(h);
}

CLIPEncoderLayerImpl::CLIPEncoderLayerImpl(const CLIPTextConfig& c, const nn::ParamOptions& p) {
  self_attn =
      register_module("self_attn", CLIPAttention(c.hidden_size, c.num_attention_heads, p));
  layer_norm1 = register_module("layer_norm1", nn::LayerNorm(c.hidden_size, c.layer_norm_eps, p));
  mlp = register_module("mlp", CLIPMLP(c.hidden_size, c.intermediate_size, c.hidden_act, p));
  layer_norm2 = register_module("layer_norm2", nn::LayerNorm(c.hidden_size, c.layer_norm_eps, p));
}

torch::Tensor CLIPEncoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& mask) {
  auto h = x + self_attn(layer_norm1(x), mask);
  return h + mlp(layer_norm2(h));
}

CLIPTextEmbeddingsImpl::CLIPTextEmbeddingsImpl(const CLIPTextConfig& c,
                                               const nn::ParamOptions& p) {
  token_embedding =
      register_module("token_embedding", nn::Embedding(c.vocab_size, c.hidden_size, p));
  position_embedding = register_module(
      "position_embedding", nn::Embedding(c.max_position_embeddings, c.hidden_size, p));
}

torch::Tensor CLIPTextEmbeddingsImpl::forward(const torch::Tensor& ids) {
  const int64_t n = ids.size(1);
  auto positions = torch::arange(n, ids.options());  // [N]
  return token_embedding(ids) + position_embedding(positions).unsqueeze(0);
}

torch::Tensor CLIPTextEmbeddingsImpl::forward_tokens(const torch::Tensor& token_embeds) {
  const int64_t n = token_embeds.size(1);
  auto positions = torch::arange(n, token_embeds.options().dtype(torch::kLong));  // [N]
  return token_embeds + position_embedding(positions).unsqueeze(0);
}

CLIPEncoderImpl::CLIPEncoderImpl(const CLIPTextConfig& c, const nn::ParamOptions& p) {
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layers->push_back(CLIPEncoderLayer(c, p));
}

CLIPTextTransformerImpl::CLIPTextTransformerImpl(const CLIPTextConfig& c,
                                                 const nn::ParamOptions& p) {
  embeddings = register_module("embeddings", CLIPTextEmbeddings(c, p));
  encoder = register_module("encoder", CLIPEncoder(c, p));
  final_layer_norm =
      register_module("final_layer_norm", nn::LayerNorm(c.hidden_size, c.layer_norm_eps, p));
}

CLIPTextModelImpl::CLIPTextModelImpl(const CLIPTextConfig& config, const nn::ParamOptions& p)
    : config_(config) {
  text_model = register_module("text_model", CLIPTextTransformer(config_, p));
  if (config_.with_projection) {
    text_projection = register_module(
        "text_projection", nn::Linear(config_.hidden_size, config_.projection_dim, false, p));
  }
}

CLIPTextModelImpl::CLIPTextModelImpl(CLIPTextConfig config, bool with_projection,
                                     const nn::ParamOptions& p)
    : CLIPTextModelImpl(
          [&] {
            config.with_projection = with_projection;
            return config;
          }(),
          p) {}

torch::Tensor CLIPTextModelImpl::pooling_positions(const torch::Tensor& ids) const {
  if (config_.pooling == PoolingRule::ArgmaxId) return ids.argmax(-1);  // first max per row
  // First EOS; a row without one pools at position 0, as transformers does.
  return (ids == config_.eos_token_id).to(torch::kInt).argmax(-1);
}

CLIPTextOutput CLIPTextModelImpl::forward(const torch::Tensor& ids) {
  torch::NoGradGuard no_grad;  // inference only; callers may add InferenceMode
  return encode(ids);
}

CLIPTextOutput CLIPTextModelImpl::encode(const torch::Tensor& ids) {
  return encode(ids, {}, HiddenSelection{});
}

CLIPTextOutput CLIPTextModelImpl::encode(const torch::Tensor& ids_in, const torch::Tensor& token_embeds,
                                         HiddenSelection select) {
  PD_CHECK(ids_in.defined() && ids_in.dim() == 2 && ids_in.size(1) >= 1 &&
               ids_in.size(1) <= config_.max_position_embeddings,
           Input, "CLIP text encoder: ids must be [B, N] with 1 <= N <= "
                      << config_.max_position_embeddings << ", got "
                      << (ids_in.defined() ? core::shape_str(ids_in.sizes()) : "undefined"));
  PD_CHECK(!ids_in.is_floating_point() && !ids_in.is_complex(), Input,
           "CLIP text encoder: ids must be integers, got " << ids_in.scalar_type());
  const int64_t layer_count = static_cast<int64_t>(text_model->encoder->layers->size());
  PD_CHECK(select.from_end >= 1 && select.from_end <= layer_count + 1, Usage,
           "clip skip " << select.from_end << " asks for a hidden state this text encoder lacks: it has "
                        << layer_count << " layers (clip skip 1.." << layer_count + 1 << ")");
  const auto ids = ids_in.to(torch::kLong);  // [B, N]
  const int64_t lo = ids.min().item<int64_t>(), hi = ids.max().item<int64_t>();
  PD_CHECK(lo >= 0 && hi < config_.vocab_size, Input,
           "CLIP text encoder: token id " << (lo < 0 ? lo : hi) << " is outside the vocabulary [0, "
                                          << config_.vocab_size
                                          << "): does the tokenizer match the text encoder?");
  PD_CHECK(!token_embeds.defined() ||
               (token_embeds.dim() == 3 && token_embeds.size(0) == ids.size(0) &&
                token_embeds.size(1) == ids.size(1) && token_embeds.size(2) == config_.hidden_size),
           Input, "CLIP text encoder: token embeddings must be [B, N, " << config_.hidden_size << "]");
  const int64_t n = ids.size(1);
  auto h = token_embeds.defined() ? text_model->embeddings->forward_tokens(token_embeds)
                                  : text_model->embeddings(ids);  // [B, N, W]
  // Causal mask: a token attends to itself and earlier tokens only (or to every token).
  auto mask = config_.causal
                  ? torch::full({n, n}, -std::numeric_limits<float>::infinity(), h.options()).triu(1)
                  : torch::zeros({n, n}, h.options());
  CLIPTextOutput out;
  const auto& layers = *text_model->encoder->layers;
  out.penultimate_hidden = h;  // with one layer, the embeddings (transformers hidden_states[-2])
  if (select.from_end == layer_count + 1) out.selected = h;
  for (size_t i = 0; i < layers.size(); ++i) {
    h = layers[i]->as<CLIPEncoderLayerImpl>()->forward(h, mask);
    if (i + 2 == layers.size()) out.penultimate_hidden = h;
    if (static_cast<int64_t>(i) + select.from_end == layer_count) out.selected = h;
  }
  out.last_hidden = text_model->final_layer_norm(h);
  if (select.final_norm) {
    out.selected = select.from_end == 1 ? out.last_hidden : text_model->final_layer_norm(out.selected);
  }
  const auto rows = torch::arange(ids.size(0), ids.options());
  out.pooled = out.last_hidden.index({rows, pooling_positions(ids)});  // [B, W]
  out.pooled_projected = text_projection ? text_projection(out.pooled) : out.pooled;
  return out;
}

CLIPTextModel load_clip_text(const io::JsonConfig& config, const io::WeightSource& weights,
                             torch::ScalarType dtype, torch::Device device) {
  torch::NoGradGuard no_grad;
  const CLIPTextConfig c = CLIPTextConfig::from_json(config);
  logger().debug("{}: CLIP text encoder: vocab {}, width {}, {} layers, {} heads, mlp {} ({}), "
                 "projection {}, pooling {}",
                 config.origin(), c.vocab_size, c.hidden_size, c.num_hidden_layers,
                 c.num_attention_heads, c.intermediate_size, c.hidden_act,
                 c.with_projection ? c.projection_dim : 0,
                 c.pooling == PoolingRule::FirstEos ? "first eos" : "argmax id");
  CLIPTextModel model(c, nn::ParamOptions{dtype, device});
  io::load_into(*model, weights, "text encoder", dtype, device, {"position_ids"});
  model->eval();
  return model;
}

CLIPTextModel load_clip_text(const std::string& folder, torch::ScalarType dtype,
                             torch::Device device) {
  const auto config = io::JsonConfig::load(folder + "/config.json");
  const io::WeightSource weights(io::SafetensorsFile::open(io::find_weights_file(folder)));
  return load_clip_text(config, weights, dtype, device);
}

}  // namespace pangu_draw::text_encoders
