// Coop-Diffusion and time-decoupled experts on the fixtures: one expert is bit-identical to the
// plain pipeline, identical experts fuse to one, two copies of a model as structure + texture
// give the single-model run, the bridging formulas match an independent tensor computation, and
// low -> high resolution plans run.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "coop/coop_run.h"
#include "coop/latent_bridge.h"
#include "core/error.h"
#include "io/safetensors.h"
#include "pangu_draw/pangu_draw.h"
#include "pipeline/txt2img.h"
#include "support/fixtures.h"
#include "support/latents.h"

namespace pt = pangu_draw::testing;
namespace coop = pangu_draw::coop;
using pangu_draw::Pipeline;
using pangu_draw::Request;

namespace {

// The two fixture sets with different VAEs and prediction types used for bridging (sd1, sd2).
std::string set_a() { return "sd1"; }
std::string set_b() { return "sd2"; }

torch::Tensor latent_of(const Pipeline& pipe, Request r) {
  return pt::final_latent(pipe, r);
}

Request base_request(const std::string& sampler) {
  Request r;
  r.prompt = "a photo of an astronaut riding a horse on the moon";
  r.steps = 6;
  r.seed = 5;
  r.sampler = sampler;
  r.cfg_scale = 5.0f;
  return r;
}

std::shared_ptr<const pangu_draw::pipeline::ModelBundle> bundle(const std::string& set) {
  return pangu_draw::pipeline::load_bundle(pt::model_dir(set), {});
}

namespace fs = std::filesystem;

// A copy of `set`'s model whose UNet weights are scaled by `scale` (a different, compatible UNet)
// in `unet_folder`; with `plan`, model_index.json declares it as the texture generator.
std::string model_with_unet(const std::string& set, const std::string& unet_folder, double scale,
                            const nlohmann::json& plan) {
  const std::string dir = pt::temp_dir("plan") + "/model";
  fs::copy(pt::model_dir(set), dir, fs::copy_options::recursive);
  if (unet_folder != "unet") fs::copy(dir + "/unet", dir + "/" + unet_folder, fs::copy_options::recursive);
  auto file = pangu_draw::io::SafetensorsFile::open(dir + "/unet/diffusion_pytorch_model.safetensors");
  pangu_draw::io::NamedTensors scaled;
  for (const auto& name : file->names()) scaled.emplace_back(name, file->load(name) * scale);
  pangu_draw::io::save_safetensors(dir + "/" + unet_folder + "/diffusion_pytorch_model.safetensors", scaled);
  if (!plan.is_null()) {
    nlohmann::json index = nlohmann::json::parse(std::ifstream(dir + "/model_index.json"));
    index["time_decoupled"] = plan;
    std::ofstream(dir + "/model_index.json") << index.dump(1);
  }
  return dir;
}

}  // namespace

TEST(Coop, OneExpertIsBitIdenticalToThePlainPipeline) {
  auto pipe = Pipeline::load(pt::model_dir(set_a()), pt::trusting());
  for (const char* sampler : {"euler", "dpmpp_2m", "heun"}) {
    auto r = base_request(sampler);
    auto plain = latent_of(pipe, r);
    r.experts = {pangu_draw::Expert{}};
    EXPECT_TRUE(torch::equal(plain, latent_of(pipe, r))) << sampler;
  }
}

TEST(Coop, TwoIdenticalExpertsAtHalfWeightEqualOne) {
  auto pipe = Pipeline::load(pt::model_dir(set_a()), pt::trusting());
  auto r = base_request("dpmpp_2m");
  auto plain = latent_of(pipe, r);
  pangu_draw::Expert half;
  half.weight = 0.5f;
  r.experts = {half, half};
  EXPECT_TRUE(torch::equal(plain, latent_of(pipe, r)));
}

TEST(TimeDecoupled, TwoCopiesOfOneModelGiveTheSingleModelRun) {
  for (const auto& set : pt::fixture_sets()) {
    auto pipe = Pipeline::load(pt::model_dir(set), pt::trusting());
    auto r = base_request("dpmpp_2m");  // multistep: the history must survive the hand-over
    auto plain = latent_of(pipe, r);
    pangu_draw::Expert structure, texture;
    structure.to_t = 500;
    texture.from_t = 500;
    texture.model_path = pt::model_dir(set) + "/";  // a second load of the same files
    r.experts = {structure, texture};
    EXPECT_TRUE(torch::equal(plain, latent_of(pipe, r))) << set;
  }
}

// One run engine: a time-decoupled run whose texture generator is the model itself equals the
// plain run exactly, for every feature a plain run has — stochastic samplers (one noise stream
// across the hand-over), DDIM with eta, dynamic thresholding (the plan's x0 post-processing),
// custom styles and a ControlNet on both generators. (Dynamic thresholding used to be dropped in
// every expert run: 22x off.)
TEST(TimeDecoupled, SameModelAsTextureGeneratorEqualsThePlainRunForEveryFeature) {
  auto pipe = Pipeline::load(pt::model_dir(set_a()), pt::trusting());
  const auto all = pt::cases(set_a());
  std::vector<std::pair<std::string, Request>> runs;
  for (const char* sampler : {"euler", "euler_a", "lcm", "ddim"}) runs.emplace_back(sampler, base_request(sampler));
  runs[3].second.eta = 0.5f;
  Request dyn = base_request("euler_a");
  dyn.dynamic_threshold = 0.9f;
  dyn.dynamic_threshold_max = 1.5f;
  runs.emplace_back("dynamic threshold", dyn);
  Request styled = base_request("dpmpp_2m");
  styled.styles = {{"ink painting, ", 3.0f}, {"watercolor, ", 1.5f}};
  runs.emplace_back("styles", styled);
  for (const auto& c : all.at("sampling_cases")) {
    if (!c.contains("controlnet")) continue;
    const std::string root = pt::fixtures_root() + "/" + set_a() + "/";
    Request controlled = base_request("euler_a");
    controlled.controlnet_path = root + c.at("controlnet").get<std::string>();
    controlled.control_image = pangu_draw::read_image(root + c.at("control_image").get<std::string>());
    runs.emplace_back("controlnet", controlled);
    break;
  }
  for (auto& [name, r] : runs) {
    const auto plain = latent_of(pipe, r);
    r.texture_model_path = pt::model_dir(set_a());
    r.switch_t = 500;
    EXPECT_TRUE(torch::equal(plain, latent_of(pipe, r))) << name;
    r.texture_model_path.clear();
    r.dynamic_threshold = 0.0f;  // and each feature changes the run (not vacuous)
    if (name == "dynamic threshold") {
      EXPECT_FALSE(torch::equal(plain, latent_of(pipe, r))) << name;
    }
  }
}

// A model folder that declares its structure -> texture plan in model_index.json runs it by
// default: the same latents as the explicit two-model run (--texture-model), and the plain
// structure run with the plan turned off.
TEST(TimeDecoupled, PlanDeclaredInModelIndexEqualsTheExplicitTwoModelRun) {
  const nlohmann::json plan = {{"texture_unet", "unet_texture"}, {"switch_t", 500}};
  const std::string planned_dir = model_with_unet(set_a(), "unet_texture", 0.9, plan);
  const std::string texture_dir = model_with_unet(set_a(), "unet", 0.9, nullptr);
  auto planned = Pipeline::load(planned_dir, pt::trusting());
  auto plain = Pipeline::load(pt::model_dir(set_a()), pt::trusting());
  auto r = base_request("dpmpp_2m");
  const auto by_plan = latent_of(planned, r);
  pangu_draw::Expert structure, texture;
  structure.to_t = 500;
  texture.from_t = 500;
  texture.model_path = texture_dir;
  Request explicit_r = r;
  explicit_r.experts = {structure, texture};
  EXPECT_TRUE(torch::equal(by_plan, latent_of(plain, explicit_r)));
  Request by_path = r;  // the library's form of --texture-model: default hand-over 500
  by_path.texture_model_path = texture_dir;
  EXPECT_TRUE(torch::equal(by_plan, latent_of(plain, by_path)));
  by_path.experts = {structure};
  EXPECT_THROW(latent_of(plain, by_path), pangu_draw::Error);  // one or the other
  const auto structure_only = latent_of(plain, r);
  EXPECT_FALSE(torch::equal(by_plan, structure_only));
  r.time_decoupled = false;
  EXPECT_TRUE(torch::equal(structure_only, latent_of(planned, r)));
  r.time_decoupled = true;
  r.switch_t = 200;  // overrides the model's hand-over
  explicit_r.experts[0].to_t = explicit_r.experts[1].from_t = 200;
  EXPECT_TRUE(torch::equal(latent_of(planned, r), latent_of(plain, explicit_r)));
}

// --controlnet with a model that declares its own plan guides both generators: the same latents
// as the explicit two-expert run with the ControlNet on each expert (it was dropped before), and
// not those of the plan without it. With explicit experts it is a usage error (each expert names
// its own ControlNet), not silently ignored.
TEST(TimeDecoupled, ControlNetOfTheRequestGuidesBothGeneratorsOfThePlan) {
  const auto all = pt::cases(set_a());
  for (const auto& c : all.at("sampling_cases")) {
    if (!c.contains("controlnet")) continue;
    const std::string root = pt::fixtures_root() + "/" + set_a() + "/";
    const nlohmann::json plan = {{"texture_unet", "unet_texture"}, {"switch_t", 500}};
    const std::string planned_dir = model_with_unet(set_a(), "unet_texture", 0.9, plan);
    const std::string texture_dir = model_with_unet(set_a(), "unet", 0.9, nullptr);
    auto planned = Pipeline::load(planned_dir, pt::trusting());
    auto r = base_request("euler");
    const auto without = latent_of(planned, r);
    r.controlnet_path = root + c.at("controlnet").get<std::string>();
    r.control_image = pangu_draw::read_image(root + c.at("control_image").get<std::string>());
    r.control_scale = 0.7f;
    const auto with = latent_of(planned, r);
    EXPECT_FALSE(torch::equal(with, without));
    pangu_draw::Expert structure, texture;
    structure.to_t = texture.from_t = 500;
    texture.model_path = texture_dir;
    for (auto* e : {&structure, &texture}) {
      e->controlnet_path = r.controlnet_path;
      e->control_image = r.control_image;
      e->control_scale = r.control_scale;
    }
    Request explicit_r = base_request("euler");
    explicit_r.experts = {structure, texture};
    EXPECT_TRUE(torch::equal(with, latent_of(Pipeline::load(pt::model_dir(set_a()), pt::trusting()), explicit_r)));
    explicit_r.controlnet_path = r.controlnet_path;
    explicit_r.control_image = r.control_image;
    EXPECT_THROW(latent_of(planned, explicit_r), pangu_draw::Error);
    return;
  }
  GTEST_SKIP() << "no ControlNet fixture";
}

TEST(TimeDecoupled, BadPlanInModelIndexIsAnInputError) {
  const nlohmann::json plan = {{"texture_unet", "unet_texture"}, {"switch_t", 5000}};
  EXPECT_THROW(Pipeline::load(model_with_unet(set_a(), "unet_texture", 1.0, plan), pt::trusting()), pangu_draw::Error);
  const nlohmann::json missing = {{"texture_unet", "no_such_unet"}, {"switch_t", 500}};
  EXPECT_THROW(Pipeline::load(model_with_unet(set_a(), "unet_texture", 1.0, missing), pt::trusting()), pangu_draw::Error);
}

TEST(LatentBridge, FormulasMatchAnIndependentComputation) {
  auto a = bundle(set_a()), b = bundle(set_b());
  auto x0 = torch::randn({1, 4, 8, 8});
  auto eps = torch::randn({1, 4, 8, 8});
  const double ab = 0.3;
  auto z = coop::noised(x0, eps, ab);
  PD_EXPECT_CLOSE(z, std::sqrt(ab) * x0 + std::sqrt(1 - ab) * eps, 1e-6, "noised");
  PD_EXPECT_CLOSE(coop::x0_from_eps(eps, z, ab), x0, 1e-5, "x0_from_eps");
  PD_EXPECT_CLOSE(coop::eps_from_x0(x0, z, ab), eps, 1e-5, "eps_from_x0");
  // B's clean latent -> pixels -> A's clean latent, by hand with the VAE modules.
  torch::InferenceMode guard;
  pangu_draw::vae::AutoencoderKL va = a->vae, vb = b->vae;
  auto image = vb->decode(x0 / vb->config().scaling_factor);
  auto expect = va->encode(image.clamp(-1, 1)).mean * va->config().scaling_factor;
  PD_EXPECT_CLOSE(coop::map_clean_latent(x0, *b, *a, {1, 4, 8, 8}), expect, 1e-5, "map_clean_latent");
  EXPECT_FALSE(coop::same_latent_space(*a, *b));
  EXPECT_TRUE(coop::same_latent_space(*a, *bundle(set_a())));
}

TEST(LatentBridge, HandOverBetweenDifferentVAEsIsDecodeEncodeRenoise) {
  auto a = bundle(set_a()), b = bundle(set_b());
  coop::Expert from, to;
  from.model = a;
  from.latent_shape = {1, 4, 8, 8};
  to.model = b;
  to.latent_shape = {1, 4, 8, 8};
  auto eps_out = torch::randn({1, 4, 8, 8});
  pangu_draw::schedulers::Denoiser outgoing = [&](const torch::Tensor&, const pangu_draw::schedulers::StepInfo&) {
    return eps_out;
  };
  pangu_draw::schedulers::SamplerOptions options;
  options.steps = 10;
  auto sampler = pangu_draw::schedulers::make_sampler("euler", a->scheduler, options);
  coop::CoopSettings settings;
  settings.seed = 17;
  auto x_vp = torch::randn({1, 4, 8, 8});
  const int i = 4;
  from.denoiser = outgoing;  // the outgoing expert's own prediction is what crosses over
  auto got = coop::hand_over(x_vp, from, to, *sampler, i, settings);
  // Independent: x̂0 from the eps prediction, decode with A, encode with B, re-noise.
  torch::InferenceMode guard;
  pangu_draw::vae::AutoencoderKL va = a->vae, vb = b->vae;
  const double ab = sampler->step_info(i).alpha_bar;
  auto x0 = (x_vp - std::sqrt(1 - ab) * eps_out) / std::sqrt(ab);
  auto image = va->decode(x0 / va->config().scaling_factor).clamp(-1, 1);
  auto z0 = vb->encode(image).mean * vb->config().scaling_factor;
  auto expect = std::sqrt(ab) * z0 + std::sqrt(1 - ab) * coop::hand_over_noise({1, 4, 8, 8}, 17, i);
  PD_EXPECT_CLOSE(got, expect, 1e-5, "hand-over");
}

TEST(TimeDecoupled, HandOverBetweenModelsWithDifferentVAEsRuns) {
  auto pipe = Pipeline::load(pt::model_dir(set_a()), pt::trusting());
  auto r = base_request("euler");
  pangu_draw::Expert structure, texture;
  structure.to_t = 500;
  texture.from_t = 500;
  texture.model_path = pt::model_dir(set_b());
  r.experts = {structure, texture};
  auto fused = latent_of(pipe, r);
  EXPECT_TRUE(torch::isfinite(fused).all().item<bool>());
  EXPECT_FALSE(torch::equal(fused, latent_of(pipe, base_request("euler"))));
}

TEST(Coop, LowToHighResolutionPlanRunsWithBothBridges) {
  auto pipe = Pipeline::load(pt::model_dir(set_a()), pt::trusting());
  for (bool naive : {false, true}) {
    auto r = base_request("euler");
    r.width = r.height = 64;
    pangu_draw::Expert low, high;
    low.width = low.height = 32;
    low.to_t = 500;
    high.from_t = 500;
    if (!naive) high.model_path = pt::model_dir(set_b());  // naive needs one VAE
    r.experts = {low, high};
    r.naive_latent_resize = naive;
    auto result = pipe.generate(r);
    EXPECT_EQ(result.images.at(0).width, 64) << naive;
    EXPECT_EQ(result.images.at(0).height, 64) << naive;
    auto z = latent_of(pipe, r);
    EXPECT_EQ(z.sizes().vec(), (std::vector<int64_t>{1, 4, 8, 8}));
    EXPECT_TRUE(torch::isfinite(z).all().item<bool>());
  }
}

TEST(Coop, TwoModelsWithDifferentLatentSpacesFuseEveryStep) {
  auto pipe = Pipeline::load(pt::model_dir(set_a()), pt::trusting());
  auto r = base_request("euler");
  pangu_draw::Expert a, b;
  a.weight = 0.5f;
  b.weight = 0.5f;
  b.model_path = pt::model_dir(set_b());
  r.experts = {a, b};
  auto z = latent_of(pipe, r);
  EXPECT_TRUE(torch::isfinite(z).all().item<bool>());
  EXPECT_FALSE(torch::equal(z, latent_of(pipe, base_request("euler"))));
}

TEST(Coop, MultiControlExpertsEachWithItsOwnControlNet) {
  const auto all = pt::cases(set_a());  // keep the JSON alive for the loop
  for (const auto& c : all.at("sampling_cases")) {
    if (!c.contains("controlnet")) continue;
    const std::string root = pt::fixtures_root() + "/" + set_a() + "/";
    auto pipe = Pipeline::load(pt::model_dir(set_a()), pt::trusting());
    auto r = base_request("euler");
    pangu_draw::Expert edge, layout;
    edge.controlnet_path = layout.controlnet_path = root + c.at("controlnet").get<std::string>();
    edge.control_image = layout.control_image = pangu_draw::read_image(root + c.at("control_image").get<std::string>());
    edge.control_scale = 0.8f;
    layout.control_scale = 0.3f;
    edge.weight = layout.weight = 0.5f;
    r.experts = {edge, layout};
    auto z = latent_of(pipe, r);
    EXPECT_TRUE(torch::isfinite(z).all().item<bool>());
    EXPECT_FALSE(torch::equal(z, latent_of(pipe, base_request("euler"))));
    return;
  }
  GTEST_SKIP() << "no ControlNet fixture";
}

TEST(Coop, AGapInTheExpertsTimeRangesIsAUsageError) {
  auto pipe = Pipeline::load(pt::model_dir(set_a()), pt::trusting());
  auto r = base_request("euler");
  pangu_draw::Expert early;
  early.to_t = 500;
  r.experts = {early};
  try {
    pipe.generate(r);
    FAIL();
  } catch (const pangu_draw::Error& e) {
    EXPECT_EQ(e.kind, pangu_draw::ErrorKind::Usage);
    EXPECT_NE(std::string(e.what()).find("no expert is active"), std::string::npos) << e.what();
  }
}
