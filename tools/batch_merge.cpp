// batch_merge.cpp: shard plans, and `batch --merge`: shard manifests -> manifest.jsonl + summary.
#include "batch_merge.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "batch_lock.h"

namespace pangu_draw::cli {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// FNV-1a over every item's line and request: shards of one prompts file agree on it.
std::string items_hash(const std::vector<BatchItem>& items) {
  uint64_t h = 1469598103934665603ull;
  auto add = [&](const std::string& s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  };
  for (const auto& item : items)
    add(std::to_string(item.line) + "\t" +
        item.spec.dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(h));
  return text;
}

void write_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc | std::ios::binary);
    out << text;
    if (!out.flush()) throw Error(ErrorKind::Runtime, tmp + ": cannot write (disk full?)");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw Error(ErrorKind::Runtime, path + ": cannot write");
}

// The shard count of the folder's shard manifests (one N only) and which K are there.
std::set<int> find_shards(const std::string& dir, int& count) {
  std::map<int, std::set<int>> by_count;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    Shard s;
    if (parse_manifest_name(entry.path().filename().string(), s)) by_count[s.count].insert(s.index);
  }
  if (ec) throw Error(ErrorKind::Input, dir + ": cannot read the folder: " + ec.message());
  if (by_count.empty()) {
    throw Error(ErrorKind::Input,
                dir +
                    ": no shard manifests (manifest.shard-K-of-N.jsonl) to merge; run "
                    "`pangu-draw batch --shard K/N --output-dir " +
                    dir + "` first");
  }
  if (by_count.size() > 1) {
    std::string counts;
    for (const auto& [n, ks] : by_count) counts += (counts.empty() ? "" : ", ") + std::to_string(n);
    throw Error(ErrorKind::Input,
                dir + ": shard manifests of different shard counts (" + counts +
                    ") in one folder; merge runs of one N, each in its own folder");
  }
  count = by_count.begin()->first;
  return by_count.begin()->second;
}

// Every item's line number: from the prompts file when given, else from the shards' plans.
std::vector<int> expected_lines(const std::string& dir, int count,
                                const std::string& prompts_file) {
  std::vector<int> lines;
  if (!prompts_file.empty()) {
    for (const auto& item : read_items(prompts_file)) lines.push_back(item.line);
    return lines;
  }
  std::string hash, hash_from;
  for (int k = 0; k < count; ++k) {
    const std::string path = dir + "/" + plan_name(Shard{k, count, ""});
    std::ifstream in(path);
    if (!in) continue;
    json plan;
    try {
      plan = json::parse(in);
      if (hash.empty()) lines = plan.at("lines").get<std::vector<int>>();
    } catch (const json::exception& e) {
      throw Error(ErrorKind::Input,
                  path + ": unreadable shard plan (" + e.what() + "); pass --prompts FILE");
    }
    if (hash.empty()) hash = plan.value("items_hash", ""), hash_from = path;
    if (plan.value("items_hash", "") != hash) {
      throw Error(ErrorKind::Input,
                  path + " and " + hash_from +
                      " were made from different prompt files; "
                      "rerun the shards on one file (or pass --prompts FILE to merge against it)");
    }
  }
  if (hash.empty())
    throw Error(ErrorKind::Input,
                dir + ": no shard plan (manifest.shard-K-of-N.plan.json); pass --prompts FILE");
  return lines;
}

// Every parseable entry of a shard manifest, in file order (a torn last line is skipped).
std::vector<json> read_entries(const std::string& path) {
  std::vector<json> entries;
  std::ifstream in(path);
  for (std::string l; std::getline(in, l);) {
    try {
      json e = json::parse(l);
      if (e.contains("line") && e["line"].is_number_integer()) entries.push_back(std::move(e));
    } catch (const json::exception&) {
    }
  }
  return entries;
}

// Classifies each item by its entries; returns the merged manifest's text.
std::string classify(const std::vector<int>& lines, const std::map<int, std::vector<json>>& entries,
                     MergeSummary& s) {
  std::string merged;
  const std::set<int> known(lines.begin(), lines.end());
  for (const auto& [line, list] : entries) {
    if (!known.count(line)) ++s.unknown, s.unknown_lines.push_back(line);
  }
  s.items = static_cast<int>(lines.size());
  for (int line : lines) {
    auto it = entries.find(line);
    if (it == entries.end()) {
      ++s.missing, s.missing_lines.push_back(line);
      continue;
    }
    const json* chosen = &it->second.back();  // the last attempt, unless one succeeded
    int ok = 0;
    for (const auto& e : it->second) {
      if (e.value("status", "") == "ok" && ok++ == 0) chosen = &e;
    }
    if (ok > 1) ++s.duplicated, s.duplicated_lines.push_back(line);
    if (ok > 0)
      ++s.done;
    else
      ++s.failed, s.failed_lines.push_back(line);
    merged += chosen->dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  }
  return merged;
}

std::string some(const std::vector<int>& v) {
  std::string text;
  for (size_t i = 0; i < v.size() && i < 20; ++i) text += " " + std::to_string(v[i]);
  return v.size() > 20 ? text + " ... (" + std::to_string(v.size()) + " in all)" : text;
}

void print_summary(const std::string& dir, const MergeSummary& s) {
  std::printf("merged %d of %d shard manifests into %s/manifest.jsonl\n", s.shards_found,
              s.shard_count, dir.c_str());
  std::printf("items %d, done %d, failed %d, missing %d, duplicated %d, unknown %d\n", s.items,
              s.done, s.failed, s.missing, s.duplicated, s.unknown);
  for (int k : s.absent_shards)
    std::printf("shard %d/%d: no manifest (it never ran)\n", k, s.shard_count);
  if (s.missing) std::printf("missing lines:%s\n", some(s.missing_lines).c_str());
  if (s.failed)
    std::printf("failed lines (see their \"error\"; rerun that shard with --retry-failed):%s\n",
                some(s.failed_lines).c_str());
  if (s.duplicated) std::printf("lines done more than once:%s\n", some(s.duplicated_lines).c_str());
  if (s.unknown) std::printf("lines not in the prompts file:%s\n", some(s.unknown_lines).c_str());
  std::printf("%s\n", s.complete() ? "complete: every item done exactly once" : "INCOMPLETE");
  std::fflush(stdout);
}

}  // namespace

std::string plan_name(const Shard& shard) {
  std::string name = manifest_name(shard);
  return name.substr(0, name.size() - 6) + ".plan.json";  // ".jsonl" -> ".plan.json"
}

void write_plan(const std::string& dir, const Shard& shard, const std::string& prompts_file,
                const std::vector<BatchItem>& items) {
  json lines = json::array();
  for (const auto& item : items) lines.push_back(item.line);
  const json plan{{"shard", shard.index},
                  {"of", shard.count},
                  {"prompts", prompts_file},
                  {"items_hash", items_hash(items)},
                  {"lines", lines}};
  write_atomically(dir + "/" + plan_name(shard), plan.dump() + "\n");
}

int run_merge(const std::string& dir, const std::string& prompts_file) {
  MergeSummary s;
  const std::set<int> present = find_shards(dir, s.shard_count);
  for (int k = 0; k < s.shard_count; ++k) {  // no shard may be running (taken and let go: N fds)
    const Shard shard{k, s.shard_count, ""};
    const FolderLock probe(dir + "/" + manifest_name(shard) + ".lock",
                           dir + ", shard " + shard.text());
  }
  const FolderLock merged_lock(dir + "/manifest.jsonl.lock", dir);
  const std::vector<int> lines = expected_lines(dir, s.shard_count, prompts_file);
  std::map<int, std::vector<json>> entries;
  for (int k = 0; k < s.shard_count; ++k) {
    if (!present.count(k)) {
      s.absent_shards.push_back(k);
      continue;
    }
    ++s.shards_found;
    for (auto& e : read_entries(dir + "/" + manifest_name(Shard{k, s.shard_count, ""}))) {
      entries[e["line"].get<int>()].push_back(std::move(e));
    }
  }
  write_atomically(dir + "/manifest.jsonl", classify(lines, entries, s));
  print_summary(dir, s);
  return s.complete() ? 0 : 2;
}

}  // namespace pangu_draw::cli
