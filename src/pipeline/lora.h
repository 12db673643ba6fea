// lora.h: LoRA / LyCORIS adapters merged into a loaded model's weights: the change dW of each
// adapter module (LoRA / LoCon, LoHa, LoKr, full differences), which parameter of the model it
// patches (diffusers, ldm and transformers module names, '.' or '_' separated), and the patcher
// that keeps each patched parameter's original so that another set restores and re-merges.
#pragma once

#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "io/lora_file.h"
#include "pipeline/model_bundle.h"

namespace pangu_draw::pipeline {

// dW of module `m` in float32 on `device`, shaped `shape` (the patched weight's), with the
// file's scale (alpha / rank; 1 without alpha) and without the user's weight. LoRA: up @ down
// (LoCon: down [r, in, kh, kw], up [out, r, 1, 1]); LoHa: (w1a @ w1b) * (w2a @ w2b); LoKr:
// kron(w1, w2), each factor whole or a product of two (scale 1 when neither is a product).
// Error{Input} naming `what` when the change does not fit `shape`.
torch::Tensor lora_delta(const io::LoraModule& m, at::IntArrayRef shape, torch::Device device,
                         const std::string& what);

// Every weight an adapter may patch in one model: its UNet and its text encoders.
class LoraTargets {
 public:
  struct Target {
    std::string name;      // "unet.<param>" / "text_encoder.<param>" / "text_encoder_2.<param>"
    torch::Tensor weight;  // the model's parameter itself
  };
  explicit LoraTargets(const ModelBundle& model);
  // The weight module `m` patches; nullptr when the model has no such layer.
  const Target* find(const io::LoraModule& m) const;

 private:
  void add(int part, const std::string& module, const std::string& alias, const Target& t);
  // Per part: "d:<dotted module>" and "f:<flat module>" (diffusers and ldm spellings) -> weight.
  std::map<std::string, Target> targets_[3];
};

// One adapter of a set, merged in the order given.
struct LoraUse {
  std::string name;  // for messages
  std::shared_ptr<const io::LoraFile> file;
  double unet_weight = 1.0;
  double te_weight = 1.0;  // both text encoders
};

// Merges sets of adapters into one model's own weights (not its texture UNet or other
// experts'). Not thread-safe: the caller serialises apply() against runs of the model.
class LoraPatcher {
 public:
  explicit LoraPatcher(const ModelBundle& model) : targets_(model), device_(model.device) {}
  // Restores every patched weight, then merges `set`: W = W0 + sum_i w_i * dW_i computed in
  // float32, stored in the model's dtype. Keys no layer takes are listed in one warning per
  // adapter; an adapter that fits no layer, or whose change does not fit a layer's shape, is an
  // Error{Input} (a LoRA for another architecture), after which no adapter is merged.
  void apply(const std::vector<LoraUse>& set);
  // Parameters that differ from the loaded model now.
  size_t patched() const { return saved_.size(); }

 private:
  struct PlanEntry {
    const LoraTargets::Target* target = nullptr;
    std::vector<std::pair<const io::LoraModule*, double>> terms;  // (module, user weight)
  };
  using Plan = std::map<std::string, PlanEntry>;  // by target name
  Plan plan(const std::vector<LoraUse>& set) const;
  void restore();

  LoraTargets targets_;
  torch::Device device_;
  std::map<std::string, std::pair<torch::Tensor, torch::Tensor>> saved_;  // name -> (param, W0)
};

}  // namespace pangu_draw::pipeline
