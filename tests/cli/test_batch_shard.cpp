// `batch` spread over processes, run as the CLI with models/tiny: --shard K/N and the Slurm /
// Kubernetes variables pick a deterministic share (shards together = the unsharded run, byte for
// byte), --merge joins the shard manifests and reports missing and duplicated items, and the
// folder lock makes a second run of the same folder and shard (or a merge) refuse while the first
// holds it.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "support/cli_runner.h"

namespace fs = std::filesystem;
namespace pt = pangu_draw::testing;
using nlohmann::json;

namespace {

// The tests choose the shard themselves: a test run inside a Slurm array task sees no variables.
const std::string kNoSchedulerEnv = "env -u SLURM_ARRAY_TASK_ID -u JOB_COMPLETION_INDEX";

std::string temp_dir(const std::string& tag) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/pd_" + tag + "_XXXXXX";
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::vector<json> entries(const std::string& path) {
  std::vector<json> out;
  std::ifstream in(path);
  for (std::string l; std::getline(in, l);) out.push_back(json::parse(l));
  return out;
}

std::set<int> lines_of(const std::string& path) {
  std::set<int> lines;
  for (const auto& e : entries(path)) lines.insert(e["line"].get<int>());
  return lines;
}

std::vector<std::string> batch_args(const std::string& prompts, const std::string& out,
                                    int steps = 2) {
  return {"batch",     "--model",   PD_TINY_MODEL,
          "--prompts", prompts,     "--output-dir",
          out,         "--steps",   std::to_string(steps),
          "--width",   "32",        "--height",
          "32",        "--threads", "1",
          "-q"};
}

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

// Five prompts with a comment and a blank line between: items are lines 1, 2, 4, 6, 7.
std::string write_prompts(const std::string& dir) {
  std::ofstream(dir + "/p.txt") << "a red circle\na blue square\n# comment\ntwo green triangles\n\n"
                                << "a yellow star\nstripes\n";
  return dir + "/p.txt";
}

std::set<std::string> pngs(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& f : fs::directory_iterator(dir)) {
    if (f.path().extension() == ".png") names.insert(f.path().filename().string());
  }
  return names;
}

// A background CLI process, killed when the test leaves (also on a failed assertion).
struct Background {
  pid_t pid;
  explicit Background(const std::vector<std::string>& args) : pid(pt::start_cli(args)) {}
  ~Background() {
    if (pid <= 0) return;  // never kill(-1): that signals every process
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
  }
};

// Whether the lock file names `pid` (its holder writes itself in; a clean exit empties it).
bool names_holder(const std::string& lock_file, pid_t pid) {
  return slurp(lock_file).find("\"pid\":" + std::to_string(pid)) != std::string::npos;
}

// Waits (generously; only to avoid a hang) until `pid` has written itself into the lock file.
bool wait_for_holder(const std::string& lock_file, pid_t pid) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    if (names_holder(lock_file, pid)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace

TEST(BatchShard, TwoShardsMakeExactlyTheUnshardedRunsItemsAndBytes) {
  const auto dir = temp_dir("batch_shards");
  const auto prompts = write_prompts(dir);
  auto whole = pt::run_cli(batch_args(prompts, dir + "/whole"), kNoSchedulerEnv);
  ASSERT_EQ(whole.code, 0) << whole.output;
  for (const char* shard : {"0/2", "1/2"}) {
    auto o =
        pt::run_cli(with(batch_args(prompts, dir + "/split"), {"--shard", shard}), kNoSchedulerEnv);
    ASSERT_EQ(o.code, 0) << shard << ": " << o.output;
  }
  // Item i (in file order) goes to shard i mod 2: lines 1, 4, 7 and lines 2, 6.
  EXPECT_EQ(lines_of(dir + "/split/manifest.shard-0-of-2.jsonl"), (std::set<int>{1, 4, 7}));
  EXPECT_EQ(lines_of(dir + "/split/manifest.shard-1-of-2.jsonl"), (std::set<int>{2, 6}));
  EXPECT_FALSE(fs::exists(dir + "/split/manifest.jsonl")) << "written by --merge only";
  ASSERT_EQ(pngs(dir + "/whole"), pngs(dir + "/split"));
  EXPECT_EQ(pngs(dir + "/whole").size(), 5u);
  for (const auto& name : pngs(dir + "/whole")) {
    EXPECT_EQ(slurp(dir + "/whole/" + name), slurp(dir + "/split/" + name)) << name;
  }
  auto merged = pt::run_cli({"batch", "--merge", dir + "/split"});
  ASSERT_EQ(merged.code, 0) << merged.output;
  EXPECT_NE(merged.output.find("items 5, done 5, failed 0, missing 0, duplicated 0"),
            std::string::npos)
      << merged.output;
  const auto joined = entries(dir + "/split/manifest.jsonl");
  const auto reference = entries(dir + "/whole/manifest.jsonl");
  ASSERT_EQ(joined.size(), reference.size());
  for (size_t i = 0; i < joined.size(); ++i) {
    EXPECT_EQ(joined[i]["line"], reference[i]["line"]);
    EXPECT_EQ(joined[i]["seed"], reference[i]["seed"]);
  }
  // A shard run again finds its items done.
  auto again =
      pt::run_cli(with(batch_args(prompts, dir + "/split"), {"--shard", "1/2"}), kNoSchedulerEnv);
  ASSERT_EQ(again.code, 0) << again.output;
  EXPECT_EQ(entries(dir + "/split/manifest.shard-1-of-2.jsonl").size(), 2u);
}

TEST(BatchShard, SchedulerVariablesPickTheShard) {
  const auto dir = temp_dir("batch_shard_env");
  const auto prompts = write_prompts(dir);
  // A Slurm array --array=6-7: task 7 is the second of two (SLURM_ARRAY_TASK_ID need not start at
  // 0).
  const std::string slurm =
      "env -u JOB_COMPLETION_INDEX SLURM_ARRAY_TASK_MIN=6 SLURM_ARRAY_TASK_MAX=7 "
      "SLURM_ARRAY_TASK_STEP=1 SLURM_ARRAY_TASK_COUNT=2 SLURM_ARRAY_TASK_ID=";
  auto o = pt::run_cli(batch_args(prompts, dir + "/slurm"), slurm + "7");
  ASSERT_EQ(o.code, 0) << o.output;
  EXPECT_EQ(lines_of(dir + "/slurm/manifest.shard-1-of-2.jsonl"), (std::set<int>{2, 6}));
  auto loud = batch_args(prompts, dir + "/slurm");
  loud.pop_back();
  o = pt::run_cli(loud, slurm + "6");
  ASSERT_EQ(o.code, 0) << o.output;
  EXPECT_NE(o.output.find("shard 0/2 (from the Slurm job array)"), std::string::npos) << o.output;
  EXPECT_EQ(lines_of(dir + "/slurm/manifest.shard-0-of-2.jsonl"), (std::set<int>{1, 4, 7}));
  // Kubernetes Indexed Job: JOB_COMPLETION_INDEX of PANGU_DRAW_SHARD_COUNT.
  o = pt::run_cli(batch_args(prompts, dir + "/k8s"),
                  "env -u SLURM_ARRAY_TASK_ID JOB_COMPLETION_INDEX=2 PANGU_DRAW_SHARD_COUNT=3");
  ASSERT_EQ(o.code, 0) << o.output;
  EXPECT_EQ(lines_of(dir + "/k8s/manifest.shard-2-of-3.jsonl"),
            (std::set<int>{4}));  // item 2 of 0..4
  o = pt::run_cli(batch_args(prompts, dir + "/k8s"),
                  "env -u SLURM_ARRAY_TASK_ID JOB_COMPLETION_INDEX=2");
  EXPECT_EQ(o.code, 1) << o.output;
  EXPECT_NE(o.output.find("PANGU_DRAW_SHARD_COUNT"), std::string::npos) << o.output;
  // --shard wins over the variables; 0/1 is the whole file in manifest.jsonl.
  o = pt::run_cli(with(batch_args(prompts, dir + "/whole"), {"--shard", "0/1"}), slurm + "7");
  ASSERT_EQ(o.code, 0) << o.output;
  EXPECT_EQ(lines_of(dir + "/whole/manifest.jsonl"), (std::set<int>{1, 2, 4, 6, 7}));
  // Shards count from 0, and a Slurm list with holes has no place to derive.
  o = pt::run_cli(with(batch_args(prompts, dir + "/bad"), {"--shard", "2/2"}), kNoSchedulerEnv);
  EXPECT_EQ(o.code, 1) << o.output;
  EXPECT_NE(o.output.find("K must be 0..1"), std::string::npos) << o.output;
  o = pt::run_cli(batch_args(prompts, dir + "/bad"),
                  "env SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_MAX=9 SLURM_ARRAY_TASK_COUNT=3 "
                  "SLURM_ARRAY_TASK_ID=5");
  EXPECT_EQ(o.code, 1) << o.output;
  EXPECT_NE(o.output.find("--shard K/N"), std::string::npos) << o.output;
}

TEST(BatchShard, MergeReportsMissingAndDuplicatedItems) {
  const auto dir = temp_dir("batch_merge");
  const auto prompts = write_prompts(dir);
  const std::string out = dir + "/out";
  auto o = pt::run_cli(with(batch_args(prompts, out), {"--shard", "0/2"}), kNoSchedulerEnv);
  ASSERT_EQ(o.code, 0) << o.output;
  // Shard 1 never ran: the plan shard 0 wrote still names its items.
  auto m = pt::run_cli({"batch", "--merge", out});
  EXPECT_EQ(m.code, 2) << m.output;
  EXPECT_NE(m.output.find("items 5, done 3, failed 0, missing 2, duplicated 0"), std::string::npos)
      << m.output;
  EXPECT_NE(m.output.find("missing lines: 2 6"), std::string::npos) << m.output;
  EXPECT_NE(m.output.find("shard 1/2: no manifest"), std::string::npos) << m.output;
  o = pt::run_cli(with(batch_args(prompts, out), {"--shard", "1/2"}), kNoSchedulerEnv);
  ASSERT_EQ(o.code, 0) << o.output;
  m = pt::run_cli({"batch", "--merge", out});
  EXPECT_EQ(m.code, 0) << m.output;
  EXPECT_NE(m.output.find("complete: every item done exactly once"), std::string::npos) << m.output;
  // An orphaned second run of shard 1 (as without the lock) appended line 6 again.
  const auto shard1 = entries(out + "/manifest.shard-1-of-2.jsonl");
  std::ofstream(out + "/manifest.shard-1-of-2.jsonl", std::ios::app)
      << shard1.back().dump() << "\n";
  m = pt::run_cli({"batch", "--merge", out, "--prompts", prompts});
  EXPECT_EQ(m.code, 2) << m.output;
  EXPECT_NE(m.output.find("items 5, done 5, failed 0, missing 0, duplicated 1"), std::string::npos)
      << m.output;
  EXPECT_NE(m.output.find("lines done more than once: 6"), std::string::npos) << m.output;
  EXPECT_EQ(entries(out + "/manifest.jsonl").size(), 5u) << "one entry per item, duplicates folded";
  // Nothing to merge is an input error.
  m = pt::run_cli({"batch", "--merge", dir});
  EXPECT_EQ(m.code, 2) << m.output;
  EXPECT_NE(m.output.find("no shard manifests"), std::string::npos) << m.output;
}

TEST(BatchShard, SecondRunOnALockedFolderRefusesNamingTheHolder) {
  const auto dir = temp_dir("batch_lock");
  const auto prompts = write_prompts(dir);
  const std::string out = dir + "/out";
  fs::create_directories(out);
  Background first(batch_args(prompts, out, 50));
  ASSERT_TRUE(wait_for_holder(out + "/manifest.jsonl.lock", first.pid))
      << "the first run never took the lock";
  ASSERT_EQ(kill(first.pid, SIGSTOP), 0);  // frozen while holding it: no race with its end
  ASSERT_TRUE(names_holder(out + "/manifest.jsonl.lock", first.pid))
      << "the first run ended before it was stopped";
  auto second = pt::run_cli(batch_args(prompts, out), kNoSchedulerEnv);
  EXPECT_EQ(second.code, 3) << second.output;
  EXPECT_NE(
      second.output.find("in use by another pangu-draw batch: pid " + std::to_string(first.pid)),
      std::string::npos)
      << second.output;
  // Other shards of the folder have locks of their own and may run meanwhile.
  auto other = pt::run_cli(with(batch_args(prompts, out), {"--shard", "1/2"}), kNoSchedulerEnv);
  EXPECT_EQ(other.code, 0) << other.output;
  // The lock dies with its process: after kill -9 the next run takes it and finishes the items.
  kill(first.pid, SIGKILL);
  int status = 0;
  waitpid(first.pid, &status, 0);
  first.pid = -1;
  auto after = pt::run_cli(batch_args(prompts, out), kNoSchedulerEnv);
  ASSERT_EQ(after.code, 0) << after.output;
  EXPECT_EQ(lines_of(out + "/manifest.jsonl"), (std::set<int>{1, 2, 4, 6, 7}));
}

TEST(BatchShard, MergeRefusesWhileAShardRuns) {
  const auto dir = temp_dir("batch_merge_busy");
  const auto prompts = write_prompts(dir);
  const std::string out = dir + "/out";
  fs::create_directories(out);
  auto o = pt::run_cli(with(batch_args(prompts, out), {"--shard", "1/2"}), kNoSchedulerEnv);
  ASSERT_EQ(o.code, 0) << o.output;
  Background shard0(with(batch_args(prompts, out, 50), {"--shard", "0/2"}));
  const std::string lock = out + "/manifest.shard-0-of-2.jsonl.lock";
  ASSERT_TRUE(wait_for_holder(lock, shard0.pid)) << "shard 0 never took its lock";
  ASSERT_EQ(kill(shard0.pid, SIGSTOP), 0);
  ASSERT_TRUE(names_holder(lock, shard0.pid)) << "shard 0 ended before it was stopped";
  auto m = pt::run_cli({"batch", "--merge", out});
  EXPECT_EQ(m.code, 3) << m.output;
  EXPECT_NE(m.output.find("shard 0/2 is in use by another pangu-draw batch: pid " +
                          std::to_string(shard0.pid)),
            std::string::npos)
      << m.output;
  EXPECT_FALSE(fs::exists(out + "/manifest.jsonl")) << "no merged manifest while a shard runs";
}
