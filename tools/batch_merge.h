// batch_merge.h: the shards' plans (which items a sharded run covers) and `batch --merge`, which
// joins the shard manifests of an output folder into its manifest.jsonl and checks that every
// item of the prompts file is there exactly once.
#pragma once

#include <string>
#include <vector>

#include "batch_items.h"
#include "batch_shard.h"

namespace pangu_draw::cli {

// "manifest.shard-K-of-N.plan.json": the line numbers of every item of the prompts file and a
// hash of their contents, written by each shard when it starts, so that --merge knows the items
// (those of a shard that never ran included) without the prompts file.
std::string plan_name(const Shard& shard);
void write_plan(const std::string& dir, const Shard& shard, const std::string& prompts_file,
                const std::vector<BatchItem>& items);

struct MergeSummary {
  int shards_found = 0, shard_count = 0;
  int items = 0, done = 0, failed = 0, missing = 0, duplicated = 0, unknown = 0;
  std::vector<int> missing_lines, failed_lines, duplicated_lines, unknown_lines, absent_shards;
  bool complete() const { return done == items && duplicated == 0 && unknown == 0; }
};

// Joins `dir`'s shard manifests into dir/manifest.jsonl (one entry per item, in line order) and
// prints the summary on stdout. The items come from `prompts_file` when given, else from the
// plans. Returns 0 when every item is done exactly once, 2 otherwise (failed, missing,
// duplicated or unknown items); Error{Input} when there is nothing to merge; Error{Runtime}
// (exit 3) when a shard of the folder is running when it starts.
int run_merge(const std::string& dir, const std::string& prompts_file);

}  // namespace pangu_draw::cli
