// state_dict.cpp: WeightSource (views of a safetensors file under canonical names) and load_into.
#include "io/state_dict.h"

#include <sstream>

#include "core/error.h"
#include "core/log.h"
#include "core/tensor_check.h"

namespace pangu_draw::io {

WeightSource::WeightSource(std::shared_ptr<const SafetensorsFile> file, const std::string& prefix)
    : file_(std::move(file)) {
  for (const auto& name : file_->names()) {
    if (name.compare(0, prefix.size(), prefix) == 0) keys_[name.substr(prefix.size())].key = name;
  }
}

WeightSource::WeightSource(std::shared_ptr<const SafetensorsFile> file,
                           std::map<std::string, WeightEntry> canonical_to_file)
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

const WeightEntry& WeightSource::entry(const std::string& name) const {
  auto it = keys_.find(name);
  PD_CHECK(it != keys_.end(), Input, path() << ": no tensor for '" << name << "'");
  return it->second;
}

std::vector<int64_t> WeightSource::shape(const std::string& name) const {
  const WeightEntry& e = entry(name);
  if (!e.reshape.empty()) return e.reshape;
  std::vector<int64_t> shape = file_->info(e.key).shape;
  if (e.row_count >= 0 && !shape.empty()) shape[0] = e.row_count;
  if (e.transpose && shape.size() == 2) std::swap(shape[0], shape[1]);
  return shape;
}

torch::Tensor WeightSource::view(const std::string& name) const {
  const WeightEntry& e = entry(name);
  const torch::Tensor in_file = file_->view(e.key);
  // Shares the mapped bytes (or the copy of misaligned ones) and keeps the file, and so the
  // mapping, alive while it lives.
  torch::Tensor t = torch::from_blob(in_file.data_ptr(), in_file.sizes(), in_file.strides(),
                                     [file = file_, bytes = in_file](void*) {}, in_file.options());
  if (e.row_count >= 0) {
    PD_CHECK(t.dim() >= 1 && e.row_begin + e.row_count <= t.size(0), Input,
             path() << ": '" << e.key << "' has too few rows for '" << name << "'");
    t = t.narrow(0, e.row_begin, e.row_count);
  }
  if (e.transpose) {
    PD_CHECK(t.dim() == 2, Input, path() << ": '" << e.key << "' must be 2-D");
    t = t.t();
  }
  if (!e.reshape.empty()) t = t.reshape(e.reshape);  // a view: reshaped entries are whole tensors
  return t;
}

torch::Tensor WeightSource::load(const std::string& name, torch::ScalarType dtype,
                                 torch::Device device) const {
  const torch::Tensor v = view(name);
  torch::Tensor out = torch::empty(v.sizes(), torch::TensorOptions().dtype(dtype).device(device));
  out.copy_(v);
  return out;
}

void WeightSource::read_into(const std::string& name, torch::Tensor& target) const {
  target.copy_(view(name));
  file_->release(entry(name).key);
}

WeightSource WeightSource::sub(const std::string& prefix) const {
  std::map<std::string, WeightEntry> keys;
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
                     torch::Device device, const std::vector<std::string>& ignored_suffixes) {
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
    if (target.scalar_type() == dtype && target.device() == device) {
      source.read_into(name, target);  // in place: the module was built for this load
    } else {
      target.set_data(source.load(name, dtype, device));
    }
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
