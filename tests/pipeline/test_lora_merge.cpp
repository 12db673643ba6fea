// test_lora_merge.cpp: LoRA / LyCORIS adapters merged into the sd1 fixture against the peers
// (tests/pipeline/make_lora_references.py: diffusers' load_lora_weights + fuse_lora for kohya,
// LoCon, PEFT and the older diffusers format; LyCORIS' math for LoHa / LoKr): merged weights, the
// UNet output and the text encoder's hidden states; key formats and ldm <-> diffusers names.
#include <gtest/gtest.h>

#include <cstdio>
#include <set>

#include "io/key_map_ldm.h"
#include "io/lora_file.h"
#include "pipeline/lora.h"
#include "support/fixtures.h"

namespace pt = pangu_draw::testing;
namespace io = pangu_draw::io;
namespace pl = pangu_draw::pipeline;

namespace {

const std::string kData = PD_LORA_DATA_DIR;

std::shared_ptr<const io::LoraFile> lora_file(const std::string& name) {
  auto file = io::SafetensorsFile::open(kData + "/" + name);
  return std::make_shared<const io::LoraFile>(io::parse_lora(*file));
}

// PD_EXPECT_CLOSE that also prints the max error relative to the reference's max magnitude.
void expect_close(const torch::Tensor& actual, const torch::Tensor& expected, double tol,
                  const std::string& what) {
  const double scale = expected.abs().max().item<double>();
  const double err = (actual.to(torch::kFloat) - expected).abs().max().item<double>();
  std::printf("  %-90s max rel. error %.2e\n", what.c_str(), scale > 0 ? err / scale : err);
  PD_EXPECT_CLOSE(actual, expected, tol, what);
}

std::shared_ptr<const pl::ModelBundle> sd1() {
  return pl::load_bundle(pt::model_dir("sd1"), pl::LoadSettings{});
}

std::map<std::string, torch::Tensor> params(const torch::nn::Module& m) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& item : m.named_parameters()) out[item.key()] = item.value();
  return out;
}

torch::Tensor prompt0_ids() {
  const auto tokens = pt::tokens("sd1");
  const std::string prompt = tokens["prompts"][0];
  std::vector<int64_t> ids = tokens["token_ids"][prompt][0];
  return torch::tensor(ids).unsqueeze(0);
}

// Every reference tensor of `c`: merged weights (1e-5 of their max), the UNet output and the text
// encoder's last hidden state (1e-4, the fixtures' module tolerance).
void expect_case(const pl::ModelBundle& model, const io::SafetensorsFile& ref,
                 const std::string& c) {
  torch::InferenceMode guard;
  const auto unet = params(*model.unet);
  const auto te = params(*model.conditioner->encoders().at(0));
  int weights = 0;
  for (const auto& key : ref.names()) {
    if (key.rfind(c + ".unet.", 0) == 0) {
      expect_close(unet.at(key.substr(c.size() + 6)), ref.load(key), 1e-5, key);
      ++weights;
    } else if (key.rfind(c + ".te.", 0) == 0) {
      expect_close(te.at(key.substr(c.size() + 4)), ref.load(key), 1e-5, key);
      ++weights;
    }
  }
  EXPECT_GE(weights, 2) << c;
  pt::Reference fixture("sd1");
  auto unet_module = model.unet;  // a holder copy: forward() is not const
  auto encoder = model.conditioner->encoders().at(0);
  auto out = unet_module->forward(fixture.get("unet.input").unsqueeze(0), torch::tensor({500}),
                                  fixture.get("context.prompt0").unsqueeze(0));
  expect_close(out[0], ref.load(c + ".unet_out"), 1e-4, c + " UNet output");
  auto hidden = encoder->forward(prompt0_ids()).last_hidden;
  expect_close(hidden[0], ref.load(c + ".te_hidden"), 1e-4, c + " text encoder hidden state");
}

std::map<std::string, torch::Tensor> snapshot(const pl::ModelBundle& model) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& [k, v] : params(*model.unet)) out["unet." + k] = v.clone();
  for (const auto& [k, v] : params(*model.conditioner->encoders().at(0)))
    out["te." + k] = v.clone();
  return out;
}

int count_changed(const pl::ModelBundle& model, const std::map<std::string, torch::Tensor>& before,
                  const std::string& part) {
  int changed = 0;
  for (const auto& [k, v] : snapshot(model)) {
    if (k.rfind(part, 0) == 0 && !torch::equal(v, before.at(k))) ++changed;
  }
  return changed;
}

}  // namespace

// One loaded model goes through every case in turn: each apply() restores the previous set's
// weights before merging its own, so every case also checks the restore.
TEST(LoraMerge, EveryFormatMatchesThePeers) {
  const auto model = sd1();
  const auto before = snapshot(*model);
  pl::LoraPatcher patcher(*model);
  const auto cases = pt::read_json(kData + "/cases.json");
  auto ref = io::SafetensorsFile::open(kData + "/references.safetensors");
  for (const auto& [c, spec] : cases.items()) {
    std::vector<pl::LoraUse> uses;
    for (const auto& l : spec["loras"]) {
      const double w = l["weight"];
      const std::string file = l["file"];
      uses.push_back({file, lora_file(file), w, w});
    }
    SCOPED_TRACE(c + " (" + std::string(spec["peer"]) + ")");
    patcher.apply(uses);
    expect_case(*model, *ref, c);
  }
  patcher.apply({});
  EXPECT_EQ(count_changed(*model, before, ""), 0) << "no LoRA: every weight as loaded, bit for bit";
}

// <lora:name:w_te:w_unet> with w_unet 0: the text encoder at the peer's numbers for w_te, the UNet
// untouched.
TEST(LoraMerge, TextEncoderAndUNetWeightsApart) {
  const auto model = sd1();
  const auto before = snapshot(*model);
  pl::LoraPatcher patcher(*model);
  patcher.apply({{"kohya_ldm", lora_file("kohya_ldm.safetensors"), 0.0, 0.7}});
  EXPECT_EQ(count_changed(*model, before, "unet."), 0);
  EXPECT_EQ(count_changed(*model, before, "te."), 2);
  auto ref = io::SafetensorsFile::open(kData + "/references.safetensors");
  const auto te = params(*model->conditioner->encoders().at(0));
  for (const auto& key : ref->names()) {
    if (key.rfind("kohya_ldm.te.", 0) == 0) {
      expect_close(te.at(key.substr(13)), ref->load(key), 1e-5, key);
    }
  }
}

// SDXL: a kohya LoRA with SGM UNet names, lora_te1_ and lora_te2_ (make_lora_xl_references.py):
// merged weights of both encoders and the UNet, each encoder's hidden states and the UNet output
// with SDXL's added conditioning, against diffusers' SDXL load_lora_weights + fuse_lora.
TEST(LoraMerge, SdxlBothTextEncodersAndUNet) {
  const auto model = pl::load_bundle(pt::model_dir("xl"), pl::LoadSettings{});
  pl::LoraPatcher patcher(*model);
  patcher.apply({{"xl_kohya", lora_file("xl_kohya.safetensors"), 0.8, 0.8}});
  torch::InferenceMode guard;
  auto ref = io::SafetensorsFile::open(kData + "/xl_references.safetensors");
  auto te = model->conditioner->encoders().at(0), te2 = model->conditioner->encoders().at(1);
  const std::map<std::string, std::map<std::string, torch::Tensor>> parts = {
      {"unet", params(*model->unet)}, {"te", params(*te)}, {"te2", params(*te2)}};
  int weights = 0;
  for (const auto& [part, table] : parts) {
    for (const auto& key : ref->names()) {
      const std::string prefix = "xl_kohya." + part + ".";
      if (key.rfind(prefix, 0) != 0) continue;
      expect_close(table.at(key.substr(prefix.size())), ref->load(key), 1e-5, key);
      ++weights;
    }
  }
  EXPECT_EQ(weights, 8);
  pt::Reference fixture("xl");
  pangu_draw::unet::UNetExtra extra;
  extra.text_embeds = fixture.get("pooled.prompt0").unsqueeze(0);
  extra.time_ids = torch::tensor({{64.0f, 64.0f, 0.0f, 0.0f, 64.0f, 64.0f}});
  auto unet = model->unet;
  auto out = unet->forward(fixture.get("unet.input").unsqueeze(0), torch::tensor({500}),
                           fixture.get("context.prompt0").unsqueeze(0), extra);
  expect_close(out[0], ref->load("xl_kohya.unet_out"), 1e-4, "xl UNet output");
  const auto tokens = pt::tokens("xl");
  const std::string prompt = tokens["prompts"][0];
  for (int e = 0; e < 2; ++e) {
    std::vector<int64_t> ids = tokens["token_ids"][prompt][e];
    auto hidden = (e == 0 ? te : te2)->forward(torch::tensor(ids).unsqueeze(0)).last_hidden;
    expect_close(hidden[0], ref->load(e == 0 ? "xl_kohya.te_hidden" : "xl_kohya.te2_hidden"), 1e-4,
                 "xl text encoder " + std::to_string(e + 1));
  }
}

TEST(LoraFile, KeyFormatsAndKinds) {
  struct Expect {
    const char* file;
    size_t modules;
    io::LoraKind kind;
    bool flat;
  };
  for (const Expect& e : {Expect{"kohya_ldm.safetensors", 10, io::LoraKind::LoRA, true},
                          Expect{"kohya_diffusers.safetensors", 6, io::LoraKind::LoRA, true},
                          Expect{"peft.safetensors", 3, io::LoraKind::LoRA, false},
                          Expect{"diffusers_old.safetensors", 2, io::LoraKind::LoRA, false},
                          Expect{"loha.safetensors", 3, io::LoraKind::LoHa, true},
                          Expect{"lokr.safetensors", 4, io::LoraKind::LoKr, true}}) {
    auto f = lora_file(e.file);
    EXPECT_EQ(f->modules.size(), e.modules) << e.file;
    EXPECT_TRUE(f->unknown_keys.empty()) << e.file;
    for (const auto& m : f->modules) {
      EXPECT_EQ(m.kind, e.kind) << e.file << " " << m.name;
      EXPECT_EQ(m.flat, e.flat) << e.file << " " << m.name;
    }
  }
  // diffusers' processor names become module paths (to_out -> to_out.0).
  std::set<std::string> names;
  const auto old_format = lora_file("diffusers_old.safetensors");
  for (const auto& m : old_format->modules) names.insert(m.name);
  EXPECT_EQ(names, (std::set<std::string>{
                       "down_blocks.0.attentions.1.transformer_blocks.0.attn2.to_k",
                       "up_blocks.2.attentions.0.transformer_blocks.0.attn1.to_out.0"}));
}

TEST(LoraFile, UnsupportedRolesAndStrayKeysAreUnknown) {
  auto t = torch::ones({2, 4});
  const std::string bytes =
      io::safetensors_bytes({{"lora_unet_a_b.lora_down.weight", t},
                             {"lora_unet_a_b.lora_up.weight", t.t().contiguous()},
                             {"lora_unet_c.lora_down.weight", t},
                             {"lora_unet_c.lora_up.weight", t.t().contiguous()},
                             {"lora_unet_c.dora_scale", t},
                             {"lora_unet_d.lora_down.weight", t},
                             {"model.x", t}});
  auto f = io::parse_lora_bytes(std::vector<uint8_t>(bytes.begin(), bytes.end()), "test");
  ASSERT_EQ(f.modules.size(), 1u);
  EXPECT_EQ(f.modules[0].name, "a_b");
  std::set<std::string> unknown(f.unknown_keys.begin(), f.unknown_keys.end());
  EXPECT_EQ(unknown, (std::set<std::string>{"lora_unet_c.lora_down.weight",
                                            "lora_unet_c.lora_up.weight", "lora_unet_c.dora_scale",
                                            "lora_unet_d.lora_down.weight", "model.x"}));
}

// ldm_unet_name inverts the single-file mapping for every UNet key of the sd1 and xl checkpoints
// in the fixtures (sd1's file; xl's layout from its config).
TEST(LoraNames, LdmNamesInvertTheCheckpointMapping) {
  const std::string single = pt::fixtures_root() + "/sd1/model_single_file.safetensors";
  auto file = io::SafetensorsFile::open(single);
  const auto config = io::JsonConfig::load(pt::model_dir("sd1") + "/unet/config.json");
  const auto layout = io::ldm_unet_layout(config);
  int checked = 0;
  for (const auto& [canonical, entry] : io::map_ldm_unet(*file, io::LdmPrefixes::kUNet, config)) {
    ASSERT_EQ(canonical.rfind("<unmapped>", 0), std::string::npos) << entry.key;
    EXPECT_EQ(io::ldm_unet_name(canonical, layout).value_or("?"),
              entry.key.substr(std::string(io::LdmPrefixes::kUNet).size()));
    ++checked;
  }
  EXPECT_GT(checked, 200);
}
