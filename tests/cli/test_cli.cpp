// The CLI tested as a process, as a user or a batch script runs it: parity on one sampling case
// per fixture set, PNG metadata, determinism, and the promised exit codes with no partial files.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "io/atomic_file.h"
#include "io/png.h"
#include "io/safetensors.h"
#include "support/cli_runner.h"
#include "support/fixtures.h"
#include "support/sampling_cases.h"

namespace fs = std::filesystem;
namespace pt = pangu_draw::testing;

namespace {

using pt::run_cli;

std::vector<std::string> case_args(const pt::SamplingCase& c, const std::string& noise) {
  std::vector<std::string> a = {"generate", "--model", pt::model_dir(c.set), "--prompt", c.prompt,
                                "--negative-prompt", c.negative_prompt, "--sampler", c.sampler,
                                "--schedule", c.schedule, "--steps", std::to_string(c.steps),
                                "--cfg-scale", std::to_string(c.cfg), "--width", std::to_string(c.width),
                                "--height", std::to_string(c.height), "--init-noise", noise, "-q"};
  return a;
}

// One plain (no ControlNet) case per fixture set.
std::map<std::string, pt::SamplingCase> one_case_per_set() {
  std::map<std::string, pt::SamplingCase> out;
  for (const auto& c : pt::sampling_cases()) {
    if (c.controlnet.empty() && !out.count(c.set)) out[c.set] = c;
  }
  return out;
}

}  // namespace

TEST(Cli, OneCasePerModelMatchesTheReference) {
  for (const auto& [set, c] : one_case_per_set()) {
    const auto dir = pt::temp_dir("cli");
    auto args = case_args(c, pt::write_reference_noise(set, dir));
    for (const auto& extra : {"--output", "a.png", "--save-latent", "z.safetensors"}) args.push_back(extra);
    args[args.size() - 3] = dir + "/a.png";
    args[args.size() - 1] = dir + "/z.safetensors";
    auto o = run_cli(args);
    ASSERT_EQ(o.code, 0) << o.output;
    pt::Reference ref(set);
    auto latent = pangu_draw::io::SafetensorsFile::open(dir + "/z.safetensors")->load("latent");
    PD_EXPECT_CLOSE(latent[0], ref.get(c.key + ".latent"), 1e-3, set + " CLI latent");
    auto img = pangu_draw::io::read_image(dir + "/a.png");
    EXPECT_LE(pt::image_diff_255(img, ref.get(c.key + ".image")), 2.0) << set;
    const auto params = pangu_draw::io::png_text(pangu_draw::io::read_file(dir + "/a.png"), "parameters");
    EXPECT_EQ(params.rfind(c.prompt + "\n", 0), 0u) << params;
    EXPECT_NE(params.find("Steps: " + std::to_string(c.steps)), std::string::npos) << params;
    EXPECT_NE(params.find("Size: " + std::to_string(c.width) + "x" + std::to_string(c.height)),
              std::string::npos) << params;
  }
}

TEST(Cli, SameSeedGivesIdenticalPngBytes) {
  const auto dir = pt::temp_dir("cli_seed");
  const auto model = pt::model_dir(pt::fixture_sets().front());
  auto gen = [&](const std::string& out, const std::string& seed) {
    return run_cli({"generate", "--model", model, "--prompt", "a cat", "--steps", "3", "--seed", seed,
                    "--output", dir + "/" + out, "-q"});
  };
  ASSERT_EQ(gen("a.png", "5").code, 0);
  ASSERT_EQ(gen("b.png", "5").code, 0);
  ASSERT_EQ(gen("c.png", "6").code, 0);
  const auto a = pangu_draw::io::read_file(dir + "/a.png");
  EXPECT_EQ(a, pangu_draw::io::read_file(dir + "/b.png"));
  EXPECT_NE(a, pangu_draw::io::read_file(dir + "/c.png"));
}

TEST(Cli, BadInputGivesOneLineErrorNonZeroExitAndNoFile) {
  const auto dir = pt::temp_dir("cli_bad");
  const auto model = pt::model_dir(pt::fixture_sets().front());
  const std::string out = dir + "/x.png";
  struct Bad {
    std::vector<std::string> extra;
    int code;
    std::string needle;
  };
  const std::vector<Bad> cases = {
      {{"--width", "100"}, 1, "multiple of 8"},
      {{"--height=-8"}, 1, "--height"},
      {{"--steps", "0"}, 1, "--steps"},
      {{"--cfg-scale", "nan"}, 1, "finite"},
      {{"--cfg-scale", "inf"}, 1, "finite"},
      {{"--sampler", "nope"}, 1, "euler"},
      {{"--width", "100000", "--height", "100000"}, 1, "at most"},
      {{"--init-noise", dir + "/missing.safetensors"}, 2, "missing.safetensors"},
  };
  for (const auto& b : cases) {
    std::vector<std::string> args = {"generate", "--model", model, "--prompt", "x", "--steps", "2",
                                     "--output", out};
    args.insert(args.end(), b.extra.begin(), b.extra.end());
    auto o = run_cli(args);
    EXPECT_EQ(o.code, b.code) << o.output;
    EXPECT_NE(o.output.find(b.needle), std::string::npos) << o.output;
    EXPECT_FALSE(fs::exists(out)) << "partial output left by " << b.extra.front();
  }
  auto missing = run_cli({"generate", "--model", dir + "/nope", "--prompt", "x", "--output", out});
  EXPECT_EQ(missing.code, 2) << missing.output;
  // A missing output folder is found before the model loads and the steps run (it used to fail
  // only when the finished image was written, losing the work).
  auto unwritable = run_cli({"generate", "--model", model, "--prompt", "x", "--steps", "1",
                             "--output", "/nonexistent/dir/x.png"});
  EXPECT_EQ(unwritable.code, 1) << unwritable.output;
  EXPECT_NE(unwritable.output.find("/nonexistent/dir/x.png: the folder /nonexistent/dir does not exist"),
            std::string::npos) << unwritable.output;
  EXPECT_EQ(unwritable.output.find("loaded"), std::string::npos) << unwritable.output;
  auto latent = run_cli({"generate", "--model", model, "--prompt", "x", "--steps", "1", "--output",
                         out, "--save-latent", "/nonexistent/z.safetensors"});
  EXPECT_EQ(latent.code, 1) << latent.output;
  EXPECT_NE(latent.output.find("--save-latent"), std::string::npos) << latent.output;
  EXPECT_FALSE(fs::exists(out));
  auto no_prompt = run_cli({"generate", "--model", model});
  EXPECT_EQ(no_prompt.code, 1) << no_prompt.output;
}

TEST(Cli, ControlImageProblemsAreClearErrors) {
  for (const auto& c : pt::sampling_cases()) {
    if (c.controlnet.empty()) continue;
    const auto dir = pt::temp_dir("cli_ctl");
    const std::string out = dir + "/x.png";
    std::ofstream(dir + "/bad.png") << "garbage";
    auto base = std::vector<std::string>{"generate", "--model", pt::model_dir(c.set), "--prompt", "x",
                                         "--steps", "1", "--controlnet", c.controlnet,
                                         "--output", out, "--control-image"};
    auto unreadable = base;
    unreadable.push_back(dir + "/bad.png");
    auto o = run_cli(unreadable);
    EXPECT_EQ(o.code, 2) << o.output;
    EXPECT_NE(o.output.find("bad.png"), std::string::npos) << o.output;
    auto wrong_size = base;
    wrong_size.push_back(c.control_image);
    wrong_size.insert(wrong_size.end(), {"--width", std::to_string(c.width * 2)});
    o = run_cli(wrong_size);
    EXPECT_EQ(o.code, 1) << o.output;
    EXPECT_NE(o.output.find("control image is"), std::string::npos) << o.output;
    EXPECT_FALSE(fs::exists(out));
    return;
  }
  GTEST_SKIP() << "no fixture set has a ControlNet case";
}

TEST(Cli, ExistingOutputIsKeptUnlessOverwrite) {
  const auto dir = pt::temp_dir("cli_ow");
  const std::string out = dir + "/x.png";
  std::ofstream(out) << "precious";
  const auto model = pt::model_dir(pt::fixture_sets().front());
  auto o = run_cli({"generate", "--model", model, "--prompt", "x", "--steps", "1", "--output", out});
  EXPECT_EQ(o.code, 1) << o.output;
  EXPECT_EQ(pangu_draw::io::read_file(out), "precious");
  o = run_cli({"generate", "--model", model, "--prompt", "x", "--steps", "1", "--output", out,
               "--overwrite", "-q"});
  EXPECT_EQ(o.code, 0) << o.output;
  EXPECT_EQ(o.output, "") << "-q prints errors only";
  EXPECT_NE(pangu_draw::io::read_file(out), "precious");
}
