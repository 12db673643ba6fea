// clip_text.h: the CLIP text transformer (token ids -> hidden states, pooled state, projection);
// mirrors transformers CLIPTextModel / CLIPTextModelWithProjection (modeling_clip.py).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "io/json_config.h"
#include "io/state_dict.h"
#include "nn/layers.h"

namespace pangu_draw::text_encoders {

// Which position of a row the pooled state is read from.
enum class PoolingRule {
  ArgmaxId,  // the position of the largest id (openai CLIP: EOS is the largest BPE id)
  FirstEos,  // the first position holding eos_token_id (transformers)
};

struct CLIPTextConfig {
  int64_t vocab_size = 49408;
  int64_t hidden_size = 768;
  int64_t intermediate_size = 3072;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 12;
  int64_t max_position_embeddings = 77;
  std::string hidden_act = "quick_gelu";  // quick_gelu | gelu (exact, erf)
  double layer_norm_eps = 1e-5;
  int64_t projection_dim = 768;
  int64_t eos_token_id = 2;
  bool with_projection = false;  // architectures[0] == "CLIPTextModelWithProjection"
  // Derived from eos_token_id and vocab_size: FirstEos when the EOS id is a real vocabulary id
  // other than 2 (transformers treats eos_token_id == 2 as a legacy config and uses argmax);
  // ArgmaxId otherwise. A vocabulary without that EOS id (the PanGu WordPiece encoder: 21128
  // ids, eos_token_id 49407) thus pools at its largest id, as the openai CLIP code it was
  // converted from does.
  PoolingRule pooling = PoolingRule::ArgmaxId;
  // Causal self-attention (every CLIP checkpoint). "causal_attention": false in config.json (a
  // field of this engine, absent from transformers' configs) makes every token see the whole
  // prompt: the project's own bilingual encoder, whose outputs at a position depend on words
  // that Chinese and English put in different orders.
  bool causal = true;

  // Error{Input} naming the file and the field for missing, mistyped or unsupported values.
  static CLIPTextConfig from_json(const io::JsonConfig& json);
};

// Which hidden state a caller reads: transformers' hidden_states[-from_end] (hidden_states[0] =
// the embeddings, [i] = the output of layer i), passed through final_layer_norm when final_norm.
// {1, true} is last_hidden_state; {2, false} the penultimate layer as SDXL reads it; {2, true}
// A1111's "Clip skip: 2" on SD 1.x (diffusers' clip_skip = 1).
struct HiddenSelection {
  int64_t from_end = 1;
  bool final_norm = true;
};

struct CLIPTextOutput {
  torch::Tensor last_hidden;         // [B, N, W] after final_layer_norm
  torch::Tensor penultimate_hidden;  // [B, N, W] output of the second-to-last layer (no final LN)
  torch::Tensor selected;            // [B, N, W] the HiddenSelection asked for (encode with one)
  torch::Tensor pooled;              // [B, W] final-LN state at the pooling position
  torch::Tensor pooled_projected;    // [B, P] pooled @ text_projection^T (== pooled without one)
};

struct CLIPAttentionImpl : torch::nn::Module {
  CLIPAttentionImpl(int64_t width, int64_t heads, const nn::ParamOptions& p);
  // x [B, N, W], mask [N, N] additive -> [B, N, W]
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask);

  nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr};

 private:
  int64_t heads_;
};
TORCH_MODULE(CLIPAttention);

struct CLIPMLPImpl : torch::nn::Module {
  CLIPMLPImpl(int64_t width, int64_t inner, std::string act, const nn::ParamOptions& p);
  torch::Tensor forward(const torch::Tensor& x);  // [B, N, W] -> [B, N, W]

  nn::Linear fc1{nullptr}, fc2{nullptr};

 private:
  std::string act_;
};
TORCH_MODULE(CLIPMLP);

// Pre-LN block: x + attn(ln1(x)), then x + mlp(ln2(x)).
struct CLIPEncoderLayerImpl : torch::nn::Module {
  CLIPEncoderLayerImpl(const CLIPTextConfig& c, const nn::ParamOptions& p);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask);  // [B, N, W]

  CLIPAttention self_attn{nullptr};
  nn::LayerNorm layer_norm1{nullptr}, layer_norm2{nullptr};
  CLIPMLP mlp{nullptr};
};
TORCH_MODULE(CLIPEncoderLayer);

struct CLIPTextEmbeddingsImpl : torch::nn::Module {
  CLIPTextEmbeddingsImpl(const CLIPTextConfig& c, const nn::ParamOptions& p);
  torch::Tensor forward(const torch::Tensor& ids);  // [B, N] -> [B, N, W]
  // Token embeddings given (textual inversion replaces some rows): adds the positions.
  torch::Tensor forward_tokens(const torch::Tensor& token_embeds);  // [B, N, W] -> [B, N, W]

  nn::Embedding token_embedding{nullptr}, position_embedding{nullptr};
};
TORCH_MODULE(CLIPTextEmbeddings);

struct CLIPEncoderImpl : torch::nn::Module {
  CLIPEncoderImpl(const CLIPTextConfig& c, const nn::ParamOptions& p);
  torch::nn::ModuleList layers{nullptr};  // of CLIPEncoderLayer
};
TORCH_MODULE(CLIPEncoder);

// The "text_model." part of the checkpoint.
struct CLIPTextTransformerImpl : torch::nn::Module {
  CLIPTextTransformerImpl(const CLIPTextConfig& c, const nn::ParamOptions& p);

  CLIPTextEmbeddings embeddings{nullptr};
  CLIPEncoder encoder{nullptr};
  nn::LayerNorm final_layer_norm{nullptr};
};
TORCH_MODULE(CLIPTextTransformer);

struct CLIPTextModelImpl : torch::nn::Module {
  // Registers text_projection when config.with_projection. Parameters uninitialised in `p`'s
  // dtype and device (nn/layers.h).
  explicit CLIPTextModelImpl(const CLIPTextConfig& config, const nn::ParamOptions& p = {});
  // The same with config.with_projection replaced by `with_projection`.
  CLIPTextModelImpl(CLIPTextConfig config, bool with_projection, const nn::ParamOptions& p = {});

  // ids [B, N] integer, N <= max_position_embeddings; causal mask (unless config.causal is
  // false), no padding mask. Error{Input} for a wrong shape or an id outside [0, vocab_size).
  // Inference: runs without autograd.
  CLIPTextOutput forward(const torch::Tensor& ids);
  // The same computation with autograd as the caller has it (training the encoder).
  CLIPTextOutput encode(const torch::Tensor& ids);
  // The same with the token embeddings given ([B, N, W], or undefined: token_embedding(ids)),
  // `ids` still naming the pooling position; out.selected = the `select`ed hidden state.
  // Error{Usage} when the encoder has fewer hidden states than `select` asks for.
  CLIPTextOutput encode(const torch::Tensor& ids, const torch::Tensor& token_embeds,
                        HiddenSelection select);
  const CLIPTextConfig& config() const { return config_; }

  CLIPTextTransformer text_model{nullptr};
  nn::Linear text_projection{nullptr};  // no bias; only with projection

 private:
  torch::Tensor pooling_positions(const torch::Tensor& ids) const;  // [B] int64

  CLIPTextConfig config_;
};
TORCH_MODULE(CLIPTextModel);

// Builds from <folder>/config.json and loads <folder>/model.safetensors.
CLIPTextModel load_clip_text(const std::string& folder, torch::ScalarType dtype = torch::kFloat,
                             torch::Device device = torch::kCPU);
// Builds from `config` in `dtype` on `device` and fills every parameter from `weights`
// (canonical transformers names), each tensor converted once on its way from the file.
// A "position_ids" buffer in the weights is ignored.
CLIPTextModel load_clip_text(const io::JsonConfig& config, const io::WeightSource& weights,
                             torch::ScalarType dtype = torch::kFloat,
                             torch::Device device = torch::kCPU);

}  // namespace pangu_draw::text_encoders
