// state_dict.cpp
#include "io/state_dict.h"

#include <sstream>

#include "core/error.h"
#include "core/log.h"
#include "core/tensor_check.h"

namespace pangu_draw::io {

WeightSource::WeightSource(std::shared_ptr<const SafetensorsFile> file, const std::string& prefix)
    : file_(std::move(file)) {
  for (const auto& name : file_->names()) {
    if (name.compare(0, prefix.size(), prefix) == 0) keys_[name.substr(prefix.size())] = name;
  }
}

WeightSource::WeightSource(std::shared_ptr<const SafetensorsFile> file,
                           std::map<std::string, std::string> canonical_to_file)
    : file_(std::move(file)), keys_(std::move(canonical_to_file)) {}

const std::string& WeightSource::path() const {
  static const std::string kNone = "<no file>";
  return file_ ? file_->path() : kNone;
}

std::vector<std::string> WeightSource::names() const {
  std::vector<std::string> out;
  for (const auto& kv : keys_) out.push_back(kv.first);
  return out;
}

const std::string& WeightSource::file_key(const std::string& name) const {
  auto it = keys_.find(name);
  PD_CHECK(it != keys_.end(), Input, path() << ": no tensor for '" << name << "'");
  return it->second;
}

std::vector<int64_t> WeightSource::shape(const std::string& name) const {
  return file_->info(file_key(name)).shape;
}

torch::Tensor WeightSource::load(const std::string& name, torch::ScalarType dtype) const {
  return file_->load(file_key(name), dtype);
}

WeightSource WeightSource::sub(const std::string& prefix) const {
  std::map<std::string, std::string> keys;
  for (const auto& [name, key] : keys_) {
    if (name.compare(0, prefix.size(), prefix) == 0) keys[name.substr(prefix.size())] = key;
  }
  return WeightSource(file_, std::move(keys));
}

namespace {

bool has_suffix(const std::string& s, const std::vector<std::string>& suffixes) {
  for (const auto& suf : suffixes) {
    if (s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0) {
      return true;
    }
  }
  return false;
}

std::string join_limited(const std::vector<std::string>& items, size_t limit) {
  std::ostringstream os;
  for (size_t i = 0; i < items.size() && i < limit; ++i) os << "\n    " << items[i];
  if (items.size() > limit) os << "\n    ... and " << (items.size() - limit) << " more";
  return os.str();
}

}  // namespace

LoadReport load_into(torch::nn::Module& module, const WeightSource& source,
                     const std::string& component, torch::ScalarType dtype,
                     const std::vector<std::string>& ignored_suffixes) {
  torch::NoGradGuard no_grad;
  std::vector<std::string> missing, misshapen;
  std::map<std::string, bool> used;
  auto fill = [&](const std::string& name, torch::Tensor& target) {
    if (!source.contains(name)) {
      missing.push_back(name);
      return;
    }
    used[name] = true;
    const auto shape = source.shape(name);
    if (shape != target.sizes().vec()) {
      misshapen.push_back(name + " is " + core::shape_str(shape) + ", the model needs " +
                          core::shape_str(target.sizes()));
      return;
    }
    target.set_data(source.load(name, dtype));
  };
  for (auto& item : module.named_parameters(true)) fill(item.key(), item.value());
  for (auto& item : module.named_buffers(true)) fill(item.key(), item.value());
  PD_CHECK(missing.empty() && misshapen.empty(), Input,
           source.path() << ": cannot load " << component << ": " << missing.size()
                         << " missing and " << misshapen.size() << " misshapen tensors"
                         << (missing.empty() ? "" : "\n  missing:") << join_limited(missing, 20)
                         << (misshapen.empty() ? "" : "\n  misshapen:")
                         << join_limited(misshapen, 20)
                         << "\n  does the config.json match these weights?");
  LoadReport report;
  for (const auto& name : source.names()) {
    if (!used.count(name) && !has_suffix(name, ignored_suffixes)) report.unexpected.push_back(name);
  }
  if (!report.unexpected.empty()) {
    logger().warn("{}: {} tensors of {} were not used:{}", source.path(), report.unexpected.size(),
                  component, join_limited(report.unexpected, 10));
  }
  return report;
}

}  // namespace pangu_draw::io
