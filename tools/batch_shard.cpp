// batch_shard.cpp: --shard K/N and the schedulers' variables -> Shard; a shard's items and
// manifest file name.
#include "batch_shard.h"

#include <cstdlib>

namespace pangu_draw::cli {

namespace {

constexpr long long kMaxShards = 1000000;

// A whole number in `text` (all of it); false otherwise.
bool whole_number(const std::string& text, long long& out) {
  if (text.empty() || text.size() > 18) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  out = std::stoll(text);
  return true;
}

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

long long env_number(const char* name, const char* what) {
  long long v = 0;
  const char* text = env(name);
  if (!text || !whole_number(text, v)) {
    throw Error(ErrorKind::Usage, std::string(what) + ": $" + name + " is " +
                                      (text ? "'" + std::string(text) + "'" : "unset") +
                                      ", not a whole number; pass --shard K/N instead");
  }
  return v;
}

Shard checked(long long k, long long n, const std::string& what) {
  if (n < 1 || n > kMaxShards || k < 0 || k >= n) {
    throw Error(ErrorKind::Usage,
                what + " gives shard " + std::to_string(k) + " of " + std::to_string(n) +
                    ": shards count from 0, so K must be 0.." + std::to_string(n > 0 ? n - 1 : 0) +
                    " for N = " + std::to_string(n) + " (1 <= N <= " + std::to_string(kMaxShards) +
                    ")");
  }
  return Shard{static_cast<int>(k), static_cast<int>(n), what};
}

// Slurm: the task's place in the array. IDs need not start at 0 (--array=1-4) and may step
// (--array=0-10:2); a list with holes (--array=1,5,9) has no place to derive, so it is refused.
Shard from_slurm() {
  const char* what = "the Slurm job array";
  const long long id = env_number("SLURM_ARRAY_TASK_ID", what);
  const long long count = env_number("SLURM_ARRAY_TASK_COUNT", what);
  const long long min = env("SLURM_ARRAY_TASK_MIN") ? env_number("SLURM_ARRAY_TASK_MIN", what) : 0;
  const long long max =
      env("SLURM_ARRAY_TASK_MAX") ? env_number("SLURM_ARRAY_TASK_MAX", what) : min + count - 1;
  const long long step =
      env("SLURM_ARRAY_TASK_STEP") ? env_number("SLURM_ARRAY_TASK_STEP", what) : 1;
  if (step < 1 || id < min || (id - min) % step != 0 || (max - min) / step + 1 != count) {
    throw Error(ErrorKind::Usage, std::string(what) + " (task " + std::to_string(id) + " of ids " +
                                      std::to_string(min) + "-" + std::to_string(max) + ":" +
                                      std::to_string(step) + ", " + std::to_string(count) +
                                      " tasks) is not an evenly stepped range; use --array=0-" +
                                      std::to_string(count - 1) + " or pass --shard K/N");
  }
  return checked((id - min) / step, count, what);
}

Shard from_kubernetes() {
  const char* what = "the Kubernetes Indexed Job";
  if (!env(kShardCountVar)) {
    throw Error(ErrorKind::Usage,
                std::string(what) + " sets JOB_COMPLETION_INDEX but not $" + kShardCountVar +
                    ": set it to the Job's completions in the pod's env, or pass --shard K/N");
  }
  return checked(env_number("JOB_COMPLETION_INDEX", what), env_number(kShardCountVar, what), what);
}

}  // namespace

Shard parse_shard(const std::string& text) {
  const size_t slash = text.find('/');
  long long k = -1, n = 0;
  if (slash == std::string::npos || !whole_number(text.substr(0, slash), k) ||
      !whole_number(text.substr(slash + 1), n)) {
    throw Error(ErrorKind::Usage,
                "--shard takes K/N (this process does shard K of N, counting from 0: 0/2 and 1/2 "
                "split a file in two), got '" +
                    text + "'");
  }
  return checked(k, n, "--shard " + text);
}

Shard resolve_shard(const std::string& flag) {
  if (!flag.empty()) return parse_shard(flag);
  if (env("SLURM_ARRAY_TASK_ID")) return from_slurm();
  if (env("JOB_COMPLETION_INDEX")) return from_kubernetes();
  return Shard{};
}

std::vector<const BatchItem*> shard_items(const std::vector<BatchItem>& all, const Shard& shard) {
  std::vector<const BatchItem*> mine;
  for (size_t i = static_cast<size_t>(shard.index); i < all.size();
       i += static_cast<size_t>(shard.count)) {
    mine.push_back(&all[i]);
  }
  return mine;
}

std::string manifest_name(const Shard& shard) {
  if (!shard.sharded()) return "manifest.jsonl";
  return "manifest.shard-" + std::to_string(shard.index) + "-of-" + std::to_string(shard.count) +
         ".jsonl";
}

bool parse_manifest_name(const std::string& name, Shard& shard) {
  const std::string head = "manifest.shard-", tail = ".jsonl";
  if (name.size() <= head.size() + tail.size() || name.compare(0, head.size(), head) != 0 ||
      name.compare(name.size() - tail.size(), tail.size(), tail) != 0) {
    return false;
  }
  const std::string mid = name.substr(head.size(), name.size() - head.size() - tail.size());
  const size_t of = mid.find("-of-");
  long long k = 0, n = 0;
  if (of == std::string::npos || !whole_number(mid.substr(0, of), k) ||
      !whole_number(mid.substr(of + 4), n))
    return false;
  if (n < 2 || n > kMaxShards || k >= n) return false;
  shard = Shard{static_cast<int>(k), static_cast<int>(n), name};
  return true;
}

}  // namespace pangu_draw::cli
