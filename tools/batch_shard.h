// batch_shard.h: which share of a prompts file one `batch` process does (--shard K/N, or a
// Slurm job array's / Kubernetes Indexed Job's variables), and the file names that share uses.
// Shards count from 0: item i (0-based, in file order) belongs to shard i mod N.
#pragma once

#include <string>
#include <vector>

#include "batch_items.h"

namespace pangu_draw::cli {

struct Shard {
  int index = 0;  // K, 0..count-1
  int count = 1;  // N; 1 = the whole file (the unsharded layout: manifest.jsonl)
  std::string
      source;  // where it came from: "--shard", "Slurm job array", "Kubernetes Indexed Job", ""

  bool sharded() const { return count > 1; }
  std::string text() const { return std::to_string(index) + "/" + std::to_string(count); }
};

// The Kubernetes variable for the number of shards (a Job's completions are not in its
// environment; the Job's spec sets it beside JOB_COMPLETION_INDEX).
inline constexpr const char* kShardCountVar = "PANGU_DRAW_SHARD_COUNT";

// "K/N" -> Shard; Error{Usage} explaining the form otherwise.
Shard parse_shard(const std::string& text);

// --shard when given; else SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN (divided by the array's
// step) of SLURM_ARRAY_TASK_COUNT; else JOB_COMPLETION_INDEX of PANGU_DRAW_SHARD_COUNT; else 0/1.
Shard resolve_shard(const std::string& flag);

// The items of `all` that belong to `shard`, in file order.
std::vector<const BatchItem*> shard_items(const std::vector<BatchItem>& all, const Shard& shard);

// "manifest.jsonl" for 0/1, "manifest.shard-K-of-N.jsonl" otherwise.
std::string manifest_name(const Shard& shard);

// Parses a shard manifest's file name; false when `name` is not one.
bool parse_manifest_name(const std::string& name, Shard& shard);

}  // namespace pangu_draw::cli
