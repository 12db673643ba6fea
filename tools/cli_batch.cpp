// cli_batch.cpp: prompts file -> items -> images + manifest.jsonl, resumable.
// An item is done once its manifest line is written; that line is appended and fsync'ed only
// after its PNGs were renamed into place, so a kill at any moment loses no finished item and
// leaves at most one item to redo (its PNG, if already there, is rewritten with the same bytes).
#include "cli_batch.h"

#include "batch_items.h"
#include "batch_lock.h"
#include "batch_merge.h"
#include "batch_shard.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace pangu_draw::cli {

namespace {

using nlohmann::json;

std::atomic<bool> g_interrupted{false};

extern "C" void on_sigint(int) { g_interrupted = true; }

using Item = BatchItem;

std::string item_output(const std::string& dir, int line, int index, int count) {
  char name[64];
  if (count == 1) std::snprintf(name, sizeof name, "%05d.png", line);
  else std::snprintf(name, sizeof name, "%05d_%d.png", line, index);
  return dir + "/" + name;
}

bool file_exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

// The manifest's valid lines by item line number; a torn last line (kill during a write) is
// dropped, and the file rewritten without it, so later appends stay well-formed.
std::map<int, json> load_manifest(const std::string& path) {
  std::map<int, json> done;
  std::ifstream in(path);
  std::string kept;
  for (std::string l; std::getline(in, l);) {
    try {
      json entry = json::parse(l);
      done[entry.at("line").get<int>()] = entry;
      kept += l + "\n";
    } catch (const std::exception&) {
    }
  }
  in.close();
  if (file_exists(path)) {
    std::ofstream(path + ".tmp", std::ios::trunc) << kept;
    std::rename((path + ".tmp").c_str(), path.c_str());
  }
  return done;
}

void append_manifest(const std::string& path, const json& entry) {
  const std::string line = entry.dump() + "\n";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(ErrorKind::Runtime, path + ": cannot write the manifest");
  const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) throw Error(ErrorKind::Runtime, path + ": cannot write the manifest (disk full?)");
}

bool finished(const json& entry, bool retry_failed) {
  if (entry.value("status", "") == "error") return !retry_failed;
  for (const auto& out : entry.value("outputs", json::array())) {
    if (!file_exists(out.get<std::string>())) return false;
  }
  return entry.value("status", "") == "ok";
}

}  // namespace

CLI::App* add_batch(CLI::App& app, BatchArgs& a) {
  auto* cmd = app.add_subcommand("batch", "Generate images for every prompt of a file (resumable)");
  add_request_flags(*cmd, a.defaults, false);
  cmd->get_option("--model")->required(false);  // --merge draws nothing: checked in run_batch
  cmd->add_option("--prompts", a.prompts_file, "JSON Lines (one request per line, generate flags as keys) "
                  "or plain text (one prompt per line); required unless --merge")->group("Batch");
  cmd->add_option("--output-dir", a.output_dir, "Folder for the images and manifest.jsonl")
      ->capture_default_str()->group("Batch");
  cmd->add_flag("--retry-failed", a.retry_failed, "Redo items that failed in an earlier run")->group("Batch");
  cmd->add_option("--shard", a.shard,
                  "K/N: do only shard K of N (0-based; item i goes to shard i mod N), with its own "
                  "manifest.shard-K-of-N.jsonl. Unset: from SLURM_ARRAY_TASK_ID/_MIN/_COUNT, or "
                  "JOB_COMPLETION_INDEX and PANGU_DRAW_SHARD_COUNT; 0/1 turns that off")
      ->group("Batch");
  cmd->add_option("--merge", a.merge_dir,
                  "Join this folder's shard manifests into its manifest.jsonl, print the summary; "
                  "exit 2 when an item is missing, failed or done twice")
      ->group("Batch");
  cmd->add_flag("--no-lock", a.no_lock,
                "Do not lock the output folder and shard (file systems without flock); two runs "
                "on one shard then draw the same items twice")
      ->group("Batch");
  return cmd;
}

namespace {

// Generates one item; returns its manifest entry.
json run_item(const Pipeline& pipe, const Item& item, const BatchArgs& a, bool show) {
  json entry{{"line", item.line}, {"request", item.spec}};
  const auto start = std::chrono::steady_clock::now();
  try {
    if (!item.error.empty()) throw Error(ErrorKind::Usage, item.error);
    GenerateArgs args = a.defaults;
    ItemFiles files{args.control_image, args.init_noise, args.init_image, args.mask_image};
    args.request = item_request(item.spec, a.defaults.request, &files);
    args.control_image = files.control_image;
    args.init_noise = files.init_noise;
    args.init_image = files.init_image;
    args.mask_image = files.mask_image;
    Request r = resolve_request(args, show);
    if (r.seed < 0 && !item.spec.contains("seed")) r.seed = item.line;  // reproducible on resume
    ProgressFn print = progress_printer(show);
    Result res = pipe.generate(r, [&](int s, int n) { return !g_interrupted && print(s, n); });
    json outputs = json::array();
    for (size_t i = 0; i < res.images.size(); ++i) {
      const std::string path = item_output(a.output_dir, item.line, static_cast<int>(i),
                                           static_cast<int>(res.images.size()));
      write_png(path, res.images[i], res.parameters[i], true);
      outputs.push_back(path);
    }
    entry["status"] = "ok";
    entry["seed"] = res.seeds.front();
    entry["outputs"] = outputs;
  } catch (const Error& e) {
    if (g_interrupted) throw;
    entry["status"] = "error";
    entry["error"] = e.what();
    std::fprintf(stderr, "line %d: error: %s\n", item.line, e.what());
  }
  entry["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return entry;
}

}  // namespace

namespace {

std::vector<const Item*> pending(const std::vector<const Item*>& mine, const std::string& manifest,
                                 bool retry_failed) {
  const auto done = load_manifest(manifest);
  std::vector<const Item*> todo;
  for (const Item* item : mine) {
    auto it = done.find(item->line);
    if (it == done.end() || !finished(it->second, retry_failed)) todo.push_back(item);
  }
  return todo;
}

int draw_items(const BatchArgs& a, const std::vector<const Item*>& todo,
               const std::string& manifest, bool show_progress) {
  set_compute_threads(a.defaults.threads);
  Pipeline pipe = Pipeline::load(a.defaults.model_path, a.defaults.load);
  std::signal(SIGINT, on_sigint);
  std::signal(SIGTERM, on_sigint);
  int failed = 0;
  for (size_t i = 0; i < todo.size(); ++i) {
    if (show_progress) std::fprintf(stderr, "[%zu/%zu] line %d\n", i + 1, todo.size(), todo[i]->line);
    json entry;
    try {
      entry = run_item(pipe, *todo[i], a, show_progress);
    } catch (const Error&) {
      std::fprintf(stderr, "interrupted; run the same command again to resume\n");
      return 130;
    }
    append_manifest(manifest, entry);
    failed += entry["status"] == "error";
  }
  return failed > 0 ? 2 : 0;
}

}  // namespace

int run_batch(const BatchArgs& args, bool show_progress) {
  if (!args.merge_dir.empty()) return run_merge(args.merge_dir, args.prompts_file);
  if (args.prompts_file.empty() || args.defaults.model_path.empty()) {
    throw Error(ErrorKind::Usage,
                "batch needs --model and --prompts FILE (or --merge OUTDIR to join shard manifests)");
  }
  BatchArgs a = args;
  apply_expert_flags(a.defaults.experts, a.defaults.request);
  const Shard shard = resolve_shard(a.shard);
  const auto items = read_items(a.prompts_file);
  ::mkdir(a.output_dir.c_str(), 0755);
  if (!file_exists(a.output_dir)) throw Error(ErrorKind::Runtime, a.output_dir + ": cannot create the folder");
  const std::string manifest = a.output_dir + "/" + manifest_name(shard);
  std::unique_ptr<FolderLock> lock;  // before the manifest is read (load_manifest rewrites it)
  if (!a.no_lock) {
    const std::string what = a.output_dir + (shard.sharded() ? ", shard " + shard.text() : "");
    lock = std::make_unique<FolderLock>(manifest + ".lock", what);
  }
  if (shard.sharded()) write_plan(a.output_dir, shard, a.prompts_file, items);
  const auto mine = shard_items(items, shard);
  const auto todo = pending(mine, manifest, a.retry_failed);
  if (show_progress) {
    if (shard.sharded()) {
      std::fprintf(stderr, "shard %s (from %s) of %zu items: ", shard.text().c_str(),
                   shard.source.c_str(), items.size());
    }
    std::fprintf(stderr, "%zu items, %zu already done, %zu to do\n", mine.size(),
                 mine.size() - todo.size(), todo.size());
  }
  if (todo.empty()) return 0;
  return draw_items(a, todo, manifest, show_progress);
}

}  // namespace pangu_draw::cli
