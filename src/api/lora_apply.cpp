// lora_apply.cpp: LoRA prompt tags, a request's LoRA set and the per-Pipeline merged state;
// also the public lora_tag_names().
#include "api/lora_apply.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <set>
#include <string_view>

#include "core/error.h"
#include "core/log.h"

namespace pangu_draw::api {

namespace {

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out(1);
  for (char c : s) {
    if (c == sep)
      out.emplace_back();
    else
      out.back() += c;
  }
  return out;
}

double parse_weight(const std::string& text, const std::string& tag) {
  const std::string t = trim(text);
  size_t used = 0;
  double w = 0.0;
  try {
    w = std::stod(t, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  PD_CHECK(!t.empty() && used == t.size(), Input,
           "prompt tag '" << tag << "': the weight '" << text << "' is not a number; write "
                          << "<lora:name:0.8> or <lora:name:te_weight:unet_weight>");
  return w;
}

// A1111's extra-network syntax <type:args> (type = \w+, args without '>'): the tags of type
// lora / lyco at [begin, end) of `prompt`, in order. `weights`: parse the weights (else 1).
struct Found {
  size_t begin = 0, end = 0;
  LoraTag tag;
};

LoraTag read_tag(const std::string& args, const std::string& whole, bool weights) {
  const std::vector<std::string> parts = split(args, ':');
  LoraTag tag;
  tag.name = trim(parts[0]);
  PD_CHECK(!tag.name.empty(), Input,
           "prompt tag '" << whole << "' names no LoRA; write <lora:name:0.8>");
  if (!weights) return tag;
  std::vector<std::string> positional;
  bool unet_set = false;
  for (size_t i = 1; i < parts.size(); ++i) {
    const std::string p = trim(parts[i]);
    if (p.rfind("te=", 0) == 0)
      tag.te = parse_weight(p.substr(3), whole);
    else if (p.rfind("unet=", 0) == 0)
      tag.unet = parse_weight(p.substr(5), whole), unet_set = true;
    else if (p.rfind("dyn=", 0) == 0)
      continue;  // A1111's dynamic rank: not applicable here
    else
      positional.push_back(p);
  }
  if (!positional.empty()) tag.te = parse_weight(positional[0], whole);
  if (positional.size() > 1) tag.unet = parse_weight(positional[1], whole), unet_set = true;
  if (!unet_set) tag.unet = tag.te;
  return tag;
}

std::vector<Found> find_tags(const std::string& prompt, bool weights) {
  std::vector<Found> out;
  for (size_t at = prompt.find('<'); at != std::string::npos; at = prompt.find('<', at + 1)) {
    size_t i = at + 1;
    while (i < prompt.size() &&
           (std::isalnum(static_cast<unsigned char>(prompt[i])) || prompt[i] == '_'))
      ++i;
    const std::string type = prompt.substr(at + 1, i - at - 1);
    if (i >= prompt.size() || prompt[i] != ':' || (type != "lora" && type != "lyco")) continue;
    const size_t close = prompt.find('>', i + 1);
    if (close == std::string::npos || close == i + 1) continue;
    const std::string whole = prompt.substr(at, close - at + 1);
    out.push_back({at, close + 1, read_tag(prompt.substr(i + 1, close - i - 1), whole, weights)});
    at = close;
  }
  return out;
}

}  // namespace

std::string strip_lora_tags(const std::string& prompt, std::vector<LoraTag>* tags) {
  std::string out;
  size_t from = 0;
  for (const Found& f : find_tags(prompt, true)) {
    out += prompt.substr(from, f.begin - from);
    from = f.end;
    if (tags) tags->push_back(f.tag);
  }
  return out + prompt.substr(from);
}

std::vector<LoraState::Wanted> LoraState::wanted(const Request& r,
                                                 const std::vector<LoraTag>& tags) {
  std::vector<Wanted> all;
  for (size_t i = 0; i < r.loras.size(); ++i) {
    const Lora& l = r.loras[i];
    PD_CHECK(!l.name.empty(), Usage, "Request::loras[" << i << "] has no name");
    PD_CHECK(l.safetensors && !l.safetensors->empty(), Usage,
             "Request::loras[" << i << "] ('" << l.name
                               << "') holds no bytes: read the file with read_file()");
    for (const Wanted& w : all) {
      PD_CHECK(w.name != l.name, Usage, "Request::loras names '" << l.name << "' twice");
    }
    all.push_back({l.name, l.weight, l.weight, l.safetensors, ""});
  }
  for (const LoraTag& tag : tags) {
    auto it =
        std::find_if(all.begin(), all.end(), [&](const Wanted& w) { return w.name == tag.name; });
    PD_CHECK(
        it != all.end(), Input,
        "the prompt's tag <lora:" << tag.name << ":...> names a LoRA that was not supplied: put "
                                  << tag.name << ".safetensors in the folder given with --lora-dir "
                                  << "(or pass --lora FILE; library: add it to Request::loras)");
    it->te += tag.te;
    it->unet += tag.unet;
  }
  std::vector<Wanted> used;
  for (Wanted& w : all) {
    if (w.te == 0.0 && w.unet == 0.0) continue;
    const std::string_view bytes(reinterpret_cast<const char*>(w.bytes->data()), w.bytes->size());
    w.id =
        std::to_string(std::hash<std::string_view>{}(bytes)) + "/" + std::to_string(bytes.size());
    used.push_back(std::move(w));
  }
  std::sort(used.begin(), used.end(),
            [](const Wanted& a, const Wanted& b) { return a.name < b.name; });
  return used;
}

std::shared_lock<std::shared_mutex> LoraState::acquire(const Request& r,
                                                       const std::vector<LoraTag>& tags) {
  const std::vector<Wanted> set = wanted(r, tags);
  std::string key;
  for (const Wanted& w : set) {
    key +=
        w.name + "\n" + w.id + "\n" + std::to_string(w.te) + "\n" + std::to_string(w.unet) + "\n";
  }
  for (;;) {
    {
      std::shared_lock<std::shared_mutex> lock(mutex_);
      if (key == current_) return lock;
    }
    std::unique_lock<std::shared_mutex> lock(mutex_);
    if (key != current_) merge(set, key);
  }
}

void LoraState::merge(const std::vector<Wanted>& set, const std::string& key) {
  if (!patcher_) patcher_ = std::make_unique<pipeline::LoraPatcher>(*model_);
  std::map<std::string, std::shared_ptr<const io::LoraFile>> parsed;
  std::vector<pipeline::LoraUse> uses;
  for (const Wanted& w : set) {
    auto& file = parsed[w.id];
    if (!file) file = parsed_.count(w.id) ? parsed_[w.id] : nullptr;
    if (!file)
      file = std::make_shared<const io::LoraFile>(
          io::parse_lora_bytes(*w.bytes, "LoRA '" + w.name + "'"));
    uses.push_back({w.name, file, w.unet, w.te});
  }
  current_.clear();
  patcher_->apply(uses);  // on an error the model is left with no LoRA: current_ stays ""
  current_ = key;
  parsed_ = std::move(parsed);
  logger().info("LoRA set merged: {} adapters, {} weights patched", set.size(),
                patcher_->patched());
}

}  // namespace pangu_draw::api

namespace pangu_draw {

std::vector<std::string> lora_tag_names(const std::string& prompt) {
  std::vector<std::string> names;
  for (const auto& f : api::find_tags(prompt, false)) {
    if (std::find(names.begin(), names.end(), f.tag.name) == names.end())
      names.push_back(f.tag.name);
  }
  return names;
}

}  // namespace pangu_draw
