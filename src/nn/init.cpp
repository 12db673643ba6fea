// init.cpp: nn::init_parameters.
#include "nn/init.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <set>

#include "core/error.h"
#include "nn/group_norm.h"
#include "nn/layers.h"

namespace pangu_draw::nn {

namespace {

class Initializer {
 public:
  explicit Initializer(uint64_t seed) : gen_(at::make_generator<at::CPUGeneratorImpl>(seed)) {}

  void uniform(torch::Tensor& p, double bound) {
    fill(p, draw(p).uniform_(-bound, bound, gen_));
  }
  void normal(torch::Tensor& p) { fill(p, draw(p).normal_(0.0, 1.0, gen_)); }
  void constant(torch::Tensor& p, double value) {
    if (p.defined()) {
      p.fill_(value);
      done_.insert(p.unsafeGetTensorImpl());
    }
  }
  // weight and bias of a Linear / Conv2d with `fan_in` inputs per output.
  void fan_in(torch::Tensor& weight, torch::Tensor& bias, int64_t fan_in) {
    const double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
    uniform(weight, bound);
    if (bias.defined()) uniform(bias, bound);
  }
  bool initialised(const torch::Tensor& p) const {
    return done_.count(p.unsafeGetTensorImpl()) != 0;
  }

 private:
  static torch::Tensor draw(const torch::Tensor& p) {
    return torch::empty(p.sizes(), torch::kFloat);  // cpu: drawn here, then copied into p
  }
  void fill(torch::Tensor& p, const torch::Tensor& values) {
    p.copy_(values);
    done_.insert(p.unsafeGetTensorImpl());
  }

  at::Generator gen_;
  std::set<const void*> done_;
};

void init_layer(torch::nn::Module& m, Initializer& init) {
  if (auto* l = dynamic_cast<LinearImpl*>(&m)) {
    init.fan_in(l->weight, l->bias, l->weight.size(1));
  } else if (auto* c = dynamic_cast<Conv2dImpl*>(&m)) {
    init.fan_in(c->weight, c->bias, c->weight[0].numel());
  } else if (auto* e = dynamic_cast<EmbeddingImpl*>(&m)) {
    init.normal(e->weight);
  } else if (auto* n = dynamic_cast<LayerNormImpl*>(&m)) {
    init.constant(n->weight, 1.0);
    init.constant(n->bias, 0.0);
  } else if (auto* g = dynamic_cast<GroupNormImpl*>(&m)) {
    init.constant(g->weight, 1.0);
    init.constant(g->bias, 0.0);
  }
}

}  // namespace

void init_parameters(torch::nn::Module& module, uint64_t seed) {
  torch::NoGradGuard no_grad;
  Initializer init(seed);
  init_layer(module, init);
  for (const auto& child : module.modules(/*include_self=*/false)) init_layer(*child, init);
  for (const auto& p : module.named_parameters()) {
    PD_CHECK(init.initialised(p.value()), Runtime,
             "init_parameters: '" << p.key() << "' belongs to no layer of nn/layers.h or "
                                  << "nn/group_norm.h, so it would stay uninitialised");
  }
}

}  // namespace pangu_draw::nn
