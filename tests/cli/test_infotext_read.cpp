// Reading A1111 recipes without a model: tools/infotext_read.cpp against A1111's own rules run by
// Python's `re` (a1111_infotext_reference.py) on texts from A1111, Civitai and pangu-draw with
// quoted values, escapes, repeated and empty keys, multi-line prompts, and on 2000 seeded random
// texts; and the batch prompts file's recipe keys (prompt_syntax, clip_skip, lora) in
// tools/batch_items.cpp.
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <nlohmann/json.hpp>

#include "batch_items.h"
#include "infotext_read.h"
#include "support/fixtures.h"
#include "support/process.h"

namespace cli = pangu_draw::cli;
namespace pt = pangu_draw::testing;
using nlohmann::json;

namespace {

const std::vector<std::string> kTexts = {
    // A1111's own docstring example
    "girl with an artist's beret, determined, blue eyes, desert scene, ((eyeshadow)), (coquettish)\n"
    "Negative prompt: ugly, fat, (((deformed))), [blurry], bad anatomy\n"
    "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 965400086, Size: 512x512, Model hash: 45dee52b",
    // A Civitai recipe of A1111 1.10: Schedule type, quoted hashes, Lora tags, TI embeddings
    "masterpiece, best quality, (red circle:1.2), [blue square], <lora:tiny_style:0.8>\n"
    "Negative prompt: tiny_neg, (blurry:1.4), lowres\n"
    "Steps: 28, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6.5, Seed: 3518569843, "
    "Size: 512x768, Model hash: 6ce0161689, Model: dreamshaper_8, Denoising strength: 0.45, "
    "Clip skip: 2, Hires upscale: 2, Hires steps: 10, Hires upscaler: 4x-UltraSharp, "
    "Lora hashes: \"tiny_style: 0a1b2c3d4e5f, other: 123456789abc\", TI hashes: \"tiny_neg: 9f8e7d6c5b4a\", "
    "Emphasis: Original, Version: v1.10.1",
    // ours: quoted values with commas, colons, quotes, newlines; Chinese; leading spaces
    "  a cat, \"sitting\": on a mat\n\xe4\xb8\x80\xe5\x8f\xaa\xe7\x8c\xab  \n"
    "Negative prompt: blurry\nsecond negative line\n"
    "Steps: 4, Sampler: DPM++ 2M Karras, CFG scale: 5.5, Seed: 11, Size: 64x48, Model: tiny, "
    "Clip skip: 2, Style: \"cartoon 2\", Expert 1: tiny w1 t[500,-1), Expert 2: tiny/unet_texture w1 t[-1,500), "
    "Original prompt: \"x, y:\\n\\\"z\\\"\", Lora weights: \"tiny_style: 0.6\", Version: pangu-draw",
    // fewer than 3 settings: the last line is prompt; an empty value; a repeated key
    "just a prompt\nSteps: 20, Seed: 1",
    "p\nSteps: 20, Sampler: , Seed: 1, Seed: 2, CFG scale: 7",
    // a broken quote, a lone quote, an unterminated quote, spaces around keys and values
    "p\nSteps:  20 , Model: \"abc, Size: 8x8, Note: \", Other: \"a\\\"b\"",
    "p\nSteps: 20, Sampler: Euler, Odd key-name/x: 3, 1bad: 4, :no key, Seed: \"12\"",
    "",
};

// Seeded random texts over the characters the pattern cares about, each with a settings line.
std::vector<std::string> random_texts(size_t count) {
  const std::vector<std::string> alphabet = {"a", "b", " ", ",", ":", "\"", "\\", "\n", "x", "1",
                                             "-", "/", "_", "\xc3\xa9", "N", "e", "g"};  // é
  std::mt19937 rng(19);
  auto piece = [&](size_t max_len) {
    std::string s;
    for (size_t n = rng() % (max_len + 1); n > 0; --n) s += alphabet[rng() % alphabet.size()];
    return s;
  };
  std::vector<std::string> out;
  for (size_t i = 0; i < count; ++i) out.push_back(piece(40) + "\nA: 1, B: 2, " + piece(30));
  return out;
}

json reference(const std::vector<std::string>& texts) {
  const std::string dir = pt::temp_dir("infotext_ref");
  std::ofstream(dir + "/texts.json") << json(texts).dump();
  const auto o = pt::run_command("python3 " PD_RECIPE_SCRIPT_DIR "/a1111_infotext_reference.py '" + dir +
                                 "/texts.json' 2>&1");
  if (o.code != 0) return json();
  return json::parse(o.output);
}

}  // namespace

TEST(InfotextRead, ReadsEveryTextAsA1111Does) {
  std::vector<std::string> texts = kTexts;
  for (auto& t : random_texts(2000)) texts.push_back(t);
  const json want = reference(texts);
  if (want.is_null()) GTEST_SKIP() << "python3 is not available to run the A1111 reference";
  ASSERT_EQ(want.size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    const cli::Infotext got = cli::parse_infotext(texts[i]);
    EXPECT_EQ(got.prompt, want[i]["prompt"].get<std::string>()) << texts[i];
    EXPECT_EQ(got.negative_prompt, want[i]["negative"].get<std::string>()) << texts[i];
    json settings = json::array();
    for (const auto& [k, v] : got.settings) settings.push_back({k, v});
    EXPECT_EQ(settings, want[i]["settings"]) << texts[i];
  }
}

TEST(InfotextRead, KnownValuesOfACivitaiRecipe) {
  const cli::Infotext t = cli::parse_infotext(kTexts[1]);
  EXPECT_EQ(t.get("Sampler"), "DPM++ 2M");
  EXPECT_EQ(t.get("Schedule type"), "Karras");
  EXPECT_EQ(t.get("Size"), "512x768");
  EXPECT_EQ(t.get("Lora hashes"), "tiny_style: 0a1b2c3d4e5f, other: 123456789abc");
  EXPECT_EQ(t.get("Clip skip"), "2");
  EXPECT_FALSE(t.has("Hires fix"));
  const cli::Infotext repeated = cli::parse_infotext(kTexts[4]);
  EXPECT_EQ(repeated.get("Seed"), "2");  // the last one wins, as in A1111's dict
  EXPECT_FALSE(repeated.has("Sampler"));  // empty: dropped
  EXPECT_TRUE(cli::parse_infotext(kTexts[3]).settings.empty());
}

TEST(BatchRecipeKeys, PromptSyntaxClipSkipAndLorasComeFromAnItem) {
  pangu_draw::Request defaults;
  defaults.loras.push_back(cli::parse_lora_spec("cmdline.safetensors:0.3", "--lora"));
  const auto r = cli::item_request(
      json{{"prompt", "x"}, {"prompt_syntax", "plain"}, {"clip-skip", 2},
           {"lora", {"a/b.safetensors:0.5", "c.safetensors", "C:\\w\\d.safetensors:-1.25"}}},
      defaults);
  EXPECT_EQ(r.prompt_syntax, "plain");
  EXPECT_EQ(r.clip_skip, 2);
  ASSERT_EQ(r.loras.size(), 3u);  // the item's list replaces the command line's
  EXPECT_EQ(r.loras[0].name, "a/b.safetensors");
  EXPECT_EQ(r.loras[0].weight, 0.5f);
  EXPECT_EQ(r.loras[1].name, "c.safetensors");
  EXPECT_EQ(r.loras[1].weight, 1.0f);
  EXPECT_EQ(r.loras[2].name, "C:\\w\\d.safetensors");
  EXPECT_EQ(r.loras[2].weight, -1.25f);
  EXPECT_FALSE(r.loras[0].safetensors);  // read by the CLI later, never here
  EXPECT_EQ(cli::item_request(json{{"prompt", "x"}, {"lora", "one.safetensors"}}, defaults).loras.size(), 1u);
  EXPECT_EQ(cli::item_request(json{{"prompt", "x"}}, defaults).loras[0].weight, 0.3f);
}

TEST(BatchRecipeKeys, BadValuesAreUsageErrors) {
  const pangu_draw::Request defaults;
  auto fails = [&](const json& spec, const std::string& says) {
    try {
      (void)cli::item_request(spec, defaults);
      ADD_FAILURE() << spec.dump() << " was accepted";
    } catch (const pangu_draw::Error& e) {
      EXPECT_EQ(e.kind, pangu_draw::ErrorKind::Usage);
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
    }
  };
  fails(json{{"prompt", "x"}, {"prompt_syntax", "fancy"}}, "a1111");
  fails(json{{"prompt", "x"}, {"clip_skip", -1}}, "clip_skip");
  fails(json{{"prompt", "x"}, {"clip_skip", "two"}}, "wrong type");
  fails(json{{"prompt", "x"}, {"lora", 3}}, "wrong type");
  fails(json{{"prompt", "x"}, {"lora", ":0.5"}}, "FILE[:weight]");
  fails(json{{"prompt", "x"}, {"lora_dir", "/tmp"}}, "--lora-dir");
  fails(json{{"prompt", "x"}, {"embedding_dir", "/tmp"}}, "--embedding-dir");
}
