// time_conditioning.cpp: timestep + text_time embeddings.
#include "unet/time_conditioning.h"

#include "core/error.h"

namespace pangu_draw::unet {

namespace {

// [B], [1] or 0-dim -> [B]
torch::Tensor batch_timesteps(const torch::Tensor& t, int64_t batch) {
  PD_CHECK(t.defined() && t.numel() >= 1 && t.dim() <= 1, Runtime,
           "UNet: timesteps must be a scalar or [B], got "
               << (t.defined() ? c10::str(t.sizes()) : std::string("undefined")));
  auto flat = t.reshape({-1});
  if (flat.size(0) == 1) return flat.expand({batch});
  PD_CHECK(flat.size(0) == batch, Runtime,
           "UNet: " << flat.size(0) << " timesteps for a batch of " << batch);
  return flat;
}

// [1, N] or [N] (ids) -> [B, N]; [B, N] stays.
torch::Tensor batch_rows(const torch::Tensor& t, int64_t batch, const char* what) {
  auto rows = t.dim() == 1 ? t.unsqueeze(0) : t;
  PD_CHECK(rows.dim() == 2 && (rows.size(0) == batch || rows.size(0) == 1), Runtime,
           "UNet: " << what << " must be [" << batch << ", N], got " << t.sizes());
  return rows.expand({batch, rows.size(1)});
}

}  // namespace

void register_time_conditioning(torch::nn::Module& owner, const UNetConfig& c,
                                nn::TimestepEmbedding& time_embedding,
                                nn::TimestepEmbedding& add_embedding, const nn::ParamOptions& p) {
  time_embedding = owner.register_module(
      "time_embedding", nn::TimestepEmbedding(c.block_out_channels.at(0), c.time_embed_dim, p));
  if (c.addition_embed_type == "text_time") {
    add_embedding = owner.register_module(
        "add_embedding",
        nn::TimestepEmbedding(c.projection_class_embeddings_input_dim, c.time_embed_dim, p));
  }
}

torch::Tensor time_conditioning(const UNetConfig& c, nn::TimestepEmbedding& time_embedding,
                                nn::TimestepEmbedding& add_embedding,
                                const TimeConditioningInputs& in, int64_t batch,
                                torch::ScalarType dtype) {
  auto t = batch_timesteps(in.timesteps, batch);
  auto t_emb = nn::timestep_embedding(t, c.block_out_channels.at(0), c.flip_sin_to_cos,
                                      c.freq_shift);    // [B, C0]
  auto emb = time_embedding->forward(t_emb.to(dtype));  // [B, time_embed_dim]
  if (!add_embedding) return emb;
  PD_CHECK(in.text_embeds.defined() && in.time_ids.defined(), Runtime,
           c.origin << ": addition_embed_type \"text_time\" needs text_embeds (the pooled text "
                    << "embedding) and time_ids; the caller gave "
                    << (in.text_embeds.defined() ? "" : "no text_embeds ")
                    << (in.time_ids.defined() ? "" : "no time_ids"));
  auto text = batch_rows(in.text_embeds, batch, "text_embeds").to(torch::kFloat);  // [B, P]
  auto ids = batch_rows(in.time_ids, batch, "time_ids").to(torch::kFloat);         // [B, K]
  const int64_t width = text.size(1) + ids.size(1) * c.addition_time_embed_dim;
  PD_CHECK(width == c.projection_class_embeddings_input_dim, Input,
           c.origin << ": projection_class_embeddings_input_dim = "
                    << c.projection_class_embeddings_input_dim << ", but text_embeds has "
                    << text.size(1) << " values and " << ids.size(1) << " time ids x "
                    << "addition_time_embed_dim " << c.addition_time_embed_dim << " make " << width
                    << ": do the text encoder and the UNet belong together?");
  auto id_emb = nn::timestep_embedding(ids.reshape({-1}), c.addition_time_embed_dim,
                                       c.flip_sin_to_cos, c.freq_shift)
                    .reshape({batch, -1});  // [B, K * addition_time_embed_dim]
  auto add = torch::cat({text, id_emb}, -1).to(dtype);
  return emb + add_embedding->forward(add);
}

}  // namespace pangu_draw::unet
