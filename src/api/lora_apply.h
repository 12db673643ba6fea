// lora_apply.h: a request's LoRA set: A1111's <lora:name:w> prompt tags (removed from the text
// the encoders see), Request::loras resolved to weights, and the Pipeline's LoRA state that
// merges a set into the loaded model once and keeps it while runs with that set go on.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "pangu_draw/pangu_draw.h"
#include "pipeline/lora.h"

namespace pangu_draw::api {

// One A1111 extra-network tag: <lora:name>, <lora:name:w> or <lora:name:w_te:w_unet> (also
// <lyco:...> and the named forms te=w, unet=w).
struct LoraTag {
  std::string name;
  double te = 1.0;
  double unet = 1.0;
};

// `prompt` without its LoRA tags (A1111 removes them, leaving the text around them as it is);
// the tags in order into `tags`. Error{Input} for a tag without a name or with a weight that
// is not a number.
std::string strip_lora_tags(const std::string& prompt, std::vector<LoraTag>* tags);

// The LoRA state of one loaded model (one per Pipeline). The Pipeline stays safe for
// concurrent generate() calls: runs with the same LoRA set share the merged weights; a run with
// another set waits until the runs using the current set are done, merges its own, and those
// with the previous set wait in turn.
class LoraState {
 public:
  explicit LoraState(std::shared_ptr<const pipeline::ModelBundle> model)
      : model_(std::move(model)) {}

  // Brings the model to the set of `r` (Request::loras, each at its weight plus the weights its
  // `tags` add; entries at weight 0 are left out) and returns the lock that keeps that set while
  // it is held. The set merged now costs nothing. Error{Input} for a tag naming no entry of
  // Request::loras and for a LoRA that does not fit the model (which is then left without any).
  std::shared_lock<std::shared_mutex> acquire(const Request& r, const std::vector<LoraTag>& tags);

 private:
  struct Wanted {
    std::string name;
    double te = 0.0, unet = 0.0;
    Bytes bytes;
    std::string id;  // content hash and size
  };
  static std::vector<Wanted> wanted(const Request& r, const std::vector<LoraTag>& tags);
  void merge(const std::vector<Wanted>& set, const std::string& key);

  std::shared_ptr<const pipeline::ModelBundle> model_;
  std::shared_mutex mutex_;
  std::string current_;  // key of the merged set ("" = none)
  std::unique_ptr<pipeline::LoraPatcher> patcher_;
  std::map<std::string, std::shared_ptr<const io::LoraFile>> parsed_;  // by id, current set only
};

}  // namespace pangu_draw::api
