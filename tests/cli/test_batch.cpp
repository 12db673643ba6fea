// The batch subcommand as a process: plain-text and JSON Lines prompt files, bad lines reported
// in the manifest without stopping the others, and resumption after kill -9 with no image lost
// or duplicated and a consistent manifest.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "io/atomic_file.h"
#include "support/cli_runner.h"
#include "support/fixtures.h"

namespace fs = std::filesystem;
namespace pt = pangu_draw::testing;
using nlohmann::json;

namespace {

std::vector<json> manifest(const std::string& dir) {
  std::vector<json> out;
  std::ifstream in(dir + "/manifest.jsonl");
  for (std::string l; std::getline(in, l);) out.push_back(json::parse(l));
  return out;
}

std::vector<std::string> batch_args(const std::string& prompts, const std::string& out, int steps) {
  return {"batch", "--model", pt::model_dir(pt::fixture_sets().front()), "--prompts", prompts,
          "--output-dir", out, "--steps", std::to_string(steps), "-q"};
}

}  // namespace

TEST(Batch, PlainTextPromptsAndResumeSkipsFinishedItems) {
  const auto dir = pt::temp_dir("batch_txt");
  std::ofstream(dir + "/p.txt") << "a red circle\n# a comment\n\n两个蓝色的正方形\na green triangle\n";
  auto o = pt::run_cli(batch_args(dir + "/p.txt", dir + "/out", 2));
  ASSERT_EQ(o.code, 0) << o.output;
  EXPECT_EQ(o.output, "") << "-q prints errors only";
  auto m = manifest(dir + "/out");
  ASSERT_EQ(m.size(), 3u);
  for (const auto& e : m) {
    EXPECT_EQ(e["status"], "ok") << e.dump();
    EXPECT_TRUE(fs::exists(e["outputs"][0].get<std::string>()));
  }
  EXPECT_EQ(m[1]["line"], 4);
  const auto before = fs::last_write_time(m[0]["outputs"][0].get<std::string>());
  auto loud = batch_args(dir + "/p.txt", dir + "/out", 2);
  loud.pop_back();  // without -q: the summary says what is left
  o = pt::run_cli(loud);
  ASSERT_EQ(o.code, 0) << o.output;
  EXPECT_NE(o.output.find("3 items, 3 already done, 0 to do"), std::string::npos) << o.output;
  EXPECT_EQ(manifest(dir + "/out").size(), 3u);
  EXPECT_EQ(fs::last_write_time(m[0]["outputs"][0].get<std::string>()), before);
}

TEST(Batch, BadLinesAreReportedAndDoNotStopTheOthers) {
  const auto dir = pt::temp_dir("batch_jsonl");
  std::ofstream(dir + "/p.jsonl") << R"({"prompt": "a red circle", "seed": 3})" "\n"
                                  << R"({"prompt": "broken)" "\n"
                                  << R"({"prompt": "x", "colour": "red"})" "\n"
                                  << R"({"prompt": "x", "steps": 0})" "\n"
                                  << R"({"prompt": "a blue square", "negative-prompt": "blur", "cfg_scale": 3})" "\n";
  auto o = pt::run_cli(batch_args(dir + "/p.jsonl", dir + "/out", 2));
  EXPECT_EQ(o.code, 2) << o.output;
  auto m = manifest(dir + "/out");
  ASSERT_EQ(m.size(), 5u);
  std::map<int, json> by_line;
  for (const auto& e : m) by_line[e["line"].get<int>()] = e;
  EXPECT_EQ(by_line[1]["status"], "ok");
  EXPECT_EQ(by_line[1]["seed"], 3);
  EXPECT_EQ(by_line[5]["status"], "ok");
  EXPECT_NE(by_line[2]["error"].get<std::string>().find("invalid JSON"), std::string::npos);
  EXPECT_NE(by_line[3]["error"].get<std::string>().find("colour"), std::string::npos);
  EXPECT_NE(by_line[4]["error"].get<std::string>().find("--steps"), std::string::npos);
}

TEST(Batch, KilledMidwayAndResumedLosesAndDuplicatesNothing) {
  const auto dir = pt::temp_dir("batch_kill");
  {
    std::ofstream p(dir + "/p.txt");
    for (int i = 0; i < 8; ++i) p << "prompt number " << i << "\n";
  }
  const int steps = 25;
  auto args = batch_args(dir + "/p.txt", dir + "/out", steps);
  const pid_t pid = pt::start_cli(args);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (manifest(dir + "/out").size() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  const size_t done_before = manifest(dir + "/out").size();
  ASSERT_GE(done_before, 2u);
  ASSERT_LT(done_before, 8u) << "the batch finished before it could be killed";
  auto o = pt::run_cli(args);
  ASSERT_EQ(o.code, 0) << o.output;
  auto m = manifest(dir + "/out");
  ASSERT_EQ(m.size(), 8u);
  std::set<int> lines;
  for (const auto& e : m) {
    EXPECT_EQ(e["status"], "ok");
    EXPECT_TRUE(lines.insert(e["line"].get<int>()).second) << "line " << e["line"] << " twice";
  }
  // Every image equals the one an uninterrupted run makes.
  auto clean = pt::run_cli(batch_args(dir + "/p.txt", dir + "/clean", steps));
  ASSERT_EQ(clean.code, 0) << clean.output;
  for (const auto& e : manifest(dir + "/clean")) {
    const std::string name = fs::path(e["outputs"][0].get<std::string>()).filename();
    EXPECT_EQ(pangu_draw::io::read_file(dir + "/out/" + name), pangu_draw::io::read_file(dir + "/clean/" + name))
        << name;
  }
  size_t pngs = 0;
  for (const auto& f : fs::directory_iterator(dir + "/out")) pngs += f.path().extension() == ".png";
  EXPECT_EQ(pngs, 8u);
}
