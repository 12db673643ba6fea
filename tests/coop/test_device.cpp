// The CUDA path guarded without a GPU: the fixtures' modules moved to the "meta" device (shapes
// only, no data) run the pieces of a run — conditioning, the guided UNet with a ControlNet, a
// sampler step, a Coop step across latent spaces and sizes, the VAE decode, tiled and untiled.
// A tensor created on the CPU in the middle of a run meets a meta tensor and throws, exactly as
// it would meet a CUDA tensor.
#include <gtest/gtest.h>

#include "coop/coop_run.h"
#include "coop/fused_denoiser.h"
#include "pipeline/denoiser.h"
#include "support/fixtures.h"
#include "vae/tiled_decode.h"

namespace pt = pangu_draw::testing;
namespace coop = pangu_draw::coop;
namespace pl = pangu_draw::pipeline;

namespace {

const torch::Device kMeta(torch::kMeta);

// The fixture `set` loaded on the CPU, then every module moved to the meta device.
std::shared_ptr<pl::ModelBundle> meta_bundle(const std::string& set) {
  auto loaded = pl::load_bundle(pt::model_dir(set), {});
  auto b = std::make_shared<pl::ModelBundle>(*loaded);  // shares the (local) modules
  b->unet->to(kMeta);
  b->vae->to(kMeta);
  b->conditioner->to(kMeta);
  b->device = kMeta;
  return b;
}

void expect_meta(const torch::Tensor& t, const std::vector<int64_t>& shape) {
  EXPECT_EQ(t.device(), kMeta);
  EXPECT_EQ(t.sizes().vec(), shape);
}

coop::Expert expert(std::shared_ptr<const pl::ModelBundle> m, int64_t size, std::vector<pl::ControlInput> controls = {}) {
  coop::Expert e;
  e.model = m;
  auto cond = pl::guided_conditioning(*m, "a red cube", "", {}, {7.5, {}}, size, size);
  e.denoiser = pl::make_denoiser(m, std::move(cond), std::move(controls));
  e.latent_shape = m->latent_shape(size, size);
  return e;
}

}  // namespace

TEST(MetaDevice, ConditioningGuidedUNetAndSamplerStepStayOnTheModelsDevice) {
  auto m = meta_bundle("sd1");
  const int64_t size = m->native_width;
  auto cond = pl::guided_conditioning(*m, "a red cube", "blurry", {}, {7.5, {}}, size, size);
  EXPECT_EQ(cond.batched.context.device(), kMeta);
  auto e = expert(m, size);
  for (const char* name : {"euler_a", "dpmpp_2m", "ddim", "lcm"}) {
    SCOPED_TRACE(name);
    pangu_draw::schedulers::SamplerOptions o;
    o.steps = 4;
    o.eta = 0.5;
    o.seed = 1;
    auto sampler = pangu_draw::schedulers::make_sampler(name, m->scheduler, o);
    auto x = torch::zeros(e.latent_shape, torch::TensorOptions().device(kMeta));
    expect_meta(sampler->sample(x, e.denoiser, 0, 2), e.latent_shape);
  }
}

TEST(MetaDevice, ControlNetResidualsAreMadeOnTheModelsDevice) {
  auto m = meta_bundle("sd1");
  const int64_t size = m->native_width;
  pl::ControlInput control;
  control.net = pangu_draw::unet::load_controlnet(pt::model_dir("sd1") + "/controlnet", torch::kFloat);
  control.net->to(kMeta);
  control.hint = torch::zeros({1, 3, size, size}, torch::TensorOptions().device(kMeta));
  auto e = expert(m, size, {control});
  pangu_draw::schedulers::StepInfo step;
  step.timestep = 500;
  step.alpha_bar = 0.5;
  auto x = torch::zeros(e.latent_shape, torch::TensorOptions().device(kMeta));
  expect_meta(e.denoiser(x, step), e.latent_shape);
}

TEST(MetaDevice, CoopStepAcrossLatentSpacesAndSizesStaysOnTheDevice) {
  auto a = meta_bundle("sd1");
  auto b = meta_bundle("sd2");
  auto ea = expert(a, a->native_width);
  auto eb = expert(b, 2 * b->native_width);  // another VAE, twice the size
  auto sampler = pangu_draw::schedulers::make_sampler("euler", a->scheduler, {});
  auto fused = coop::make_fused_denoiser({ea, eb}, ea, a->scheduler, 3);
  auto x = torch::zeros(ea.latent_shape, torch::TensorOptions().device(kMeta));
  expect_meta(fused(x, sampler->step_info(0)), ea.latent_shape);
  expect_meta(fused(x, sampler->step_info(1)), ea.latent_shape);  // mirrored state path
  coop::CoopSettings settings;
  expect_meta(coop::hand_over(x, ea, eb, *sampler, 2, settings), eb.latent_shape);
}

TEST(MetaDevice, VaeDecodeTiledAndUntiledStaysOnTheDevice) {
  auto m = meta_bundle("sd1");
  auto z = torch::zeros({1, 4, 24, 24}, torch::TensorOptions().device(kMeta));
  const int64_t f = m->vae->downscale();
  pangu_draw::vae::AutoencoderKL vae = m->vae;
  expect_meta(pangu_draw::vae::decode_tiled(vae, z, 0), {1, 3, 24 * f, 24 * f});
  expect_meta(pangu_draw::vae::decode_tiled(vae, z, 16), {1, 3, 24 * f, 24 * f});
}
