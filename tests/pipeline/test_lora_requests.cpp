// test_lora_requests.cpp: LoRAs through the public API: <lora:name:w> tags, weights changed
// between requests of one Pipeline equal a fresh load, no LoRA restores the loaded model bit for
// bit, the one unknown-keys warning, and the errors (a tag naming no LoRA, another architecture).
#include <gtest/gtest.h>

#include <thread>

#include "api/lora_apply.h"
#include "io/safetensors.h"
#include "support/fixtures.h"

namespace pt = pangu_draw::testing;
using pangu_draw::Error;
using pangu_draw::ErrorKind;
using pangu_draw::Pipeline;
using pangu_draw::Request;

namespace {

const std::string kData = PD_LORA_DATA_DIR;
const std::string kPrompt = "a photo of an astronaut riding a horse on the moon";

pangu_draw::Lora lora(const std::string& name, float weight, const std::string& file = "") {
  return {name, weight,
          pangu_draw::read_file(kData + "/" + (file.empty() ? name : file) + ".safetensors")};
}

pangu_draw::Lora lora_bytes(const std::string& name, const pangu_draw::io::NamedTensors& tensors) {
  const std::string b = pangu_draw::io::safetensors_bytes(tensors);
  return {name, 1.0f, std::make_shared<const std::vector<uint8_t>>(b.begin(), b.end())};
}

Request request(const std::string& prompt, std::vector<pangu_draw::Lora> loras = {}) {
  Request r;
  r.prompt = prompt;
  r.steps = 2;
  r.seed = 7;
  r.return_latents = true;
  r.loras = std::move(loras);
  return r;
}

std::vector<float> latent(const Pipeline& pipe, const Request& r) {
  return pipe.generate(r).latents.at(0).data;
}

Error error_of(const Pipeline& pipe, const Request& r) {
  try {
    pipe.generate(r);
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no error for prompt '" << r.prompt << "'";
  return Error(ErrorKind::Runtime, "");
}

}  // namespace

TEST(LoraRequests, WeightsChangeBetweenRequestsAndNoLoraRestoresBitForBit) {
  auto pipe = Pipeline::load(pt::model_dir("sd1"));
  const auto base = latent(pipe, request(kPrompt));
  const auto half =
      latent(pipe, request(kPrompt + " <lora:kohya_ldm:0.5>", {lora("kohya_ldm", 0)}));
  const auto two = request(kPrompt + " <lora:kohya_ldm:0.25:1> <lora:loha:0.9>",
                           {lora("kohya_ldm", 0.75f), lora("loha", 0), lora("lokr", 0)});
  const auto both = latent(pipe, two);
  EXPECT_NE(half, base);
  EXPECT_NE(both, half);
  EXPECT_EQ(latent(pipe, request(kPrompt)), base) << "no LoRA after LoRAs: the loaded weights";
  auto fresh = Pipeline::load(pt::model_dir("sd1"));
  EXPECT_EQ(latent(fresh, two), both) << "the same set on a fresh load";
  // The tags' weights and Request::loras weights are one sum: <lora:x:0.5> == weight 0.5.
  EXPECT_EQ(latent(fresh, request(kPrompt, {lora("kohya_ldm", 0.5f)})), half);
  // The parameters text keeps the prompt as written, tags included.
  const auto result =
      pipe.generate(request(kPrompt + " <lora:kohya_ldm:0.5>", {lora("kohya_ldm", 0)}));
  EXPECT_EQ(result.latents.at(0).data, half);
  EXPECT_EQ(result.parameters.at(0).rfind(kPrompt + " <lora:kohya_ldm:0.5>\n", 0), 0u)
      << result.parameters.at(0);
}

TEST(LoraRequests, TagsAreRemovedFromTheEncodedPrompt) {
  auto pipe = Pipeline::load(pt::model_dir("sd1"));
  // A LoRA at weight 0 merges nothing: only the tag's removal is left.
  EXPECT_EQ(latent(pipe, request("a photo of an astronaut <lora:peft:0> riding a horse on the moon",
                                 {lora("peft", 0)})),
            latent(pipe, request("a photo of an astronaut  riding a horse on the moon")));
}

TEST(LoraRequests, TagNamingNoLoraIsAnInputError) {
  auto pipe = Pipeline::load(pt::model_dir("sd1"));
  const Error e = error_of(pipe, request(kPrompt + " <lora:nothere:0.8>", {lora("peft", 1)}));
  EXPECT_EQ(e.kind, ErrorKind::Input);
  EXPECT_NE(std::string(e.what()).find("nothere"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("--lora-dir"), std::string::npos) << e.what();
  const Error bad = error_of(pipe, request(kPrompt + " <lora:peft:strong>", {lora("peft", 0)}));
  EXPECT_EQ(bad.kind, ErrorKind::Input);
  EXPECT_NE(std::string(bad.what()).find("not a number"), std::string::npos) << bad.what();
}

TEST(LoraRequests, AnotherArchitectureIsAnInputErrorAndLeavesNoLora) {
  auto pipe = Pipeline::load(pt::model_dir("sd1"));
  const auto base = latent(pipe, request(kPrompt));
  // Keys of layers this model lacks (an SDXL-only block) ...
  auto none = lora_bytes(
      "xl_only",
      {{"lora_unet_down_blocks_3_attentions_0_proj_in.lora_down.weight", torch::ones({2, 8})},
       {"lora_unet_down_blocks_3_attentions_0_proj_in.lora_up.weight", torch::ones({8, 2})}});
  Error e = error_of(pipe, request(kPrompt, {none}));
  EXPECT_EQ(e.kind, ErrorKind::Input);
  EXPECT_NE(std::string(e.what()).find("another architecture"), std::string::npos) << e.what();
  // ... and a layer it has, in another width (a LoRA for a wider model), after a valid one.
  auto wide = lora_bytes("wide", {{"lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight",
                                   torch::ones({2, 64, 1, 1})},
                                  {"lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight",
                                   torch::ones({64, 2, 1, 1})}});
  e = error_of(pipe, request(kPrompt, {lora("kohya_ldm", 1), wide}));
  EXPECT_EQ(e.kind, ErrorKind::Input);
  EXPECT_NE(std::string(e.what()).find("another architecture"), std::string::npos) << e.what();
  EXPECT_EQ(latent(pipe, request(kPrompt)), base) << "a failed merge leaves the loaded weights";
}

TEST(LoraRequests, UnknownKeysAreListedInOneWarning) {
  auto pipe = Pipeline::load(pt::model_dir("sd1"));
  auto file = pangu_draw::io::SafetensorsFile::open(kData + "/peft.safetensors");
  pangu_draw::io::NamedTensors tensors;
  for (const auto& name : file->names()) tensors.emplace_back(name, file->load(name));
  tensors.emplace_back("unet.no_such_block.lora_A.weight", torch::ones({2, 2}));
  tensors.emplace_back("unet.no_such_block.lora_B.weight", torch::ones({2, 2}));
  tensors.emplace_back("optimizer_state", torch::ones({1}));
  std::vector<std::string> warnings;
  pangu_draw::set_log_callback([&](const std::string& level, const std::string& message) {
    if (level == "warn") warnings.push_back(message);
  });
  const auto with_junk = latent(pipe, request(kPrompt, {lora_bytes("peft", tensors)}));
  pangu_draw::set_log_callback({});
  ASSERT_EQ(warnings.size(), 1u);
  for (const char* key : {"unet.no_such_block.lora_A.weight", "optimizer_state"}) {
    EXPECT_NE(warnings[0].find(key), std::string::npos) << warnings[0];
  }
  EXPECT_EQ(with_junk, latent(pipe, request(kPrompt, {lora("peft", 1)})))
      << "the known keys applied";
}

// Concurrent requests with different LoRA sets on one Pipeline: each thread's results equal the
// same requests run alone (a set change waits for the runs using the current set).
TEST(LoraRequests, ConcurrentRequestsWithDifferentSetsKeepTheirOwnWeights) {
  auto pipe = Pipeline::load(pt::model_dir("sd1"));
  const std::vector<Request> sets = {request(kPrompt), request(kPrompt, {lora("kohya_ldm", 0.8f)}),
                                     request(kPrompt, {lora("lokr", 1.0f), lora("peft", 0.5f)})};
  std::vector<std::vector<float>> alone;
  for (const auto& r : sets) alone.push_back(latent(pipe, r));
  std::vector<std::vector<std::vector<float>>> got(sets.size());
  std::vector<std::thread> threads;
  for (size_t t = 0; t < sets.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 3; ++i) got[t].push_back(latent(pipe, sets[t]));
    });
  }
  for (auto& th : threads) th.join();
  for (size_t t = 0; t < sets.size(); ++t) {
    for (const auto& l : got[t]) EXPECT_EQ(l, alone[t]) << "set " << t;
  }
}

TEST(LoraTags, A1111Syntax) {
  std::vector<pangu_draw::api::LoraTag> tags;
  EXPECT_EQ(pangu_draw::api::strip_lora_tags(
                "a <lora:x:0.7:0> b<lora:y>, <lyco:z:te=0.2:unet=0.4> <hypernet:h:1>", &tags),
            "a  b,  <hypernet:h:1>");
  ASSERT_EQ(tags.size(), 3u);
  EXPECT_EQ(tags[0].name, "x");
  EXPECT_DOUBLE_EQ(tags[0].te, 0.7);
  EXPECT_DOUBLE_EQ(tags[0].unet, 0.0);
  EXPECT_DOUBLE_EQ(tags[1].te, 1.0);
  EXPECT_DOUBLE_EQ(tags[1].unet, 1.0);
  EXPECT_DOUBLE_EQ(tags[2].te, 0.2);
  EXPECT_DOUBLE_EQ(tags[2].unet, 0.4);
  EXPECT_EQ(pangu_draw::lora_tag_names("<lora:b:1> x <lora:a> <lora:b:0.5> <lora:broken"),
            (std::vector<std::string>{"b", "a"}));
  EXPECT_THROW(pangu_draw::api::strip_lora_tags("<lora: :1>", nullptr), Error);
}
