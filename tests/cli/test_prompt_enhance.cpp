// The prompt-enhancement hook of the CLI (tools/prompt_enhance.cpp): the command's output is
// used, failures and timeouts fall back to the prompt, and the PNG records both prompts. The
// library never runs a command: only the CLI does.
#include <gtest/gtest.h>

#include <chrono>

#include "io/png.h"
#include "io/atomic_file.h"
#include "prompt_enhance.h"
#include "support/cli_runner.h"
#include "support/fixtures.h"

namespace pt = pangu_draw::testing;
namespace cli = pangu_draw::cli;

TEST(PromptEnhance, UsesTheCommandsOutputOrFallsBack) {
  auto ok = cli::enhance_prompt("a cat", "tr a-z A-Z", 5000, false);
  EXPECT_TRUE(ok.used);
  EXPECT_EQ(ok.prompt, "A CAT");
  auto failing = cli::enhance_prompt("a cat", "echo nope; exit 3", 5000, false);
  EXPECT_FALSE(failing.used);
  EXPECT_EQ(failing.prompt, "a cat");
  EXPECT_NE(failing.problem.find("status 3"), std::string::npos) << failing.problem;
  auto slow = cli::enhance_prompt("a cat", "sleep 5; echo late", 200, false);
  EXPECT_FALSE(slow.used);
  EXPECT_NE(slow.problem.find("timed out"), std::string::npos) << slow.problem;
  EXPECT_FALSE(cli::enhance_prompt("a cat", "true", 5000, false).used);  // empty output
}

TEST(PromptEnhance, EnhancedPromptIsStoredInTheImageMetadata) {
  const std::string out = pt::temp_dir("enhance") + "/x.png";
  auto o = pt::run_cli({"generate", "--model", pt::model_dir(pt::fixture_sets().front()), "--prompt",
                        "a cat", "--steps", "1", "--enhance-cmd", "sed 's/$/, highly detailed/'",
                        "--output", out, "-q"});
  ASSERT_EQ(o.code, 0) << o.output;
  const std::string params = pangu_draw::io::png_text(pangu_draw::io::read_file(out, 1 << 26), "parameters");
  EXPECT_EQ(params.rfind("a cat, highly detailed\n", 0), 0u) << params;
  EXPECT_NE(params.find("Original prompt: a cat"), std::string::npos) << params;
}
