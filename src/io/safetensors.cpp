// safetensors.cpp: reader (mmap + strict header validation) and writer.
#include "io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/atomic_file.h"

namespace pangu_draw::io {

namespace {

// A header larger than this is not a real checkpoint (the largest seen are a few MB).
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

struct DTypeSpec {
  const char* name;
  DType dtype;
  size_t bytes;
  torch::ScalarType scalar;
};

constexpr DTypeSpec kDTypes[] = {
    {"F32", DType::F32, 4, torch::kFloat},
    {"F16", DType::F16, 2, torch::kHalf},
    {"BF16", DType::BF16, 2, torch::kBFloat16},
    {"I64", DType::I64, 8, torch::kLong},
};

const DTypeSpec* find_dtype(const std::string& name) {
  for (const auto& d : kDTypes) {
    if (name == d.name) return &d;
  }
  return nullptr;
}

const DTypeSpec& spec_of(DType dtype) {
  for (const auto& d : kDTypes) {
    if (d.dtype == dtype) return d;
  }
  PD_FAIL(Runtime, "internal: unknown dtype");
}

const DTypeSpec& spec_of(torch::ScalarType scalar) {
  for (const auto& d : kDTypes) {
    if (d.scalar == scalar) return d;
  }
  PD_FAIL(Usage, "safetensors: cannot store tensors of type " << scalar);
}

std::vector<int64_t> parse_shape(const nlohmann::json& j, const std::string& where) {
  PD_CHECK(j.is_array(), Input, where << ": 'shape' must be a list of integers");
  std::vector<int64_t> shape;
  for (const auto& d : j) {
    PD_CHECK(d.is_number_integer() && d.get<int64_t>() >= 0, Input,  // > INT64_MAX reads < 0
             where << ": 'shape' holds a negative, non-integer or too large size");
    shape.push_back(d.get<int64_t>());
  }
  PD_CHECK(shape.size() <= 8, Input, where << ": tensors of more than 8 dimensions are not supported");
  return shape;
}

// numel * element size, or throws when it overflows 64 bits. Zero-size dimensions count as 1 in
// the overflow check, so that no shape whose strides overflow (e.g. [0, 2^62, 2^62]) reaches torch.
uint64_t byte_size(const std::vector<int64_t>& shape, size_t elem, const std::string& where) {
  uint64_t n = elem;
  bool empty = false;
  for (int64_t d : shape) {
    const auto ud = static_cast<uint64_t>(std::max<int64_t>(d, 1));
    PD_CHECK(n <= (std::numeric_limits<uint64_t>::max() >> 1) / ud, Input,
             where << ": shape is too large (byte count overflows)");
    n *= ud;
    empty = empty || d == 0;
  }
  return empty ? 0 : n;
}

TensorInfo parse_entry(const std::string& name, const nlohmann::json& j, uint64_t data_size,
                       const std::string& path) {
  const std::string where = path + ": tensor '" + name + "'";
  PD_CHECK(j.is_object(), Input, where << ": header entry is not an object");
  PD_CHECK(j.contains("dtype") && j["dtype"].is_string(), Input, where << ": missing 'dtype'");
  const auto* spec = find_dtype(j["dtype"].get<std::string>());
  PD_CHECK(spec, Input, where << ": unsupported dtype '" << j["dtype"].get<std::string>()
                              << "' (supported: F32, F16, BF16, I64)");
  PD_CHECK(j.contains("shape"), Input, where << ": missing 'shape'");
  PD_CHECK(j.contains("data_offsets") && j["data_offsets"].is_array() &&
               j["data_offsets"].size() == 2 && j["data_offsets"][0].is_number_unsigned() &&
               j["data_offsets"][1].is_number_unsigned(),
           Input, where << ": 'data_offsets' must be two non-negative integers");
  TensorInfo info;
  info.name = name;
  info.dtype = spec->dtype;
  info.shape = parse_shape(j["shape"], where);
  info.begin = j["data_offsets"][0].get<uint64_t>();
  info.end = j["data_offsets"][1].get<uint64_t>();
  PD_CHECK(info.begin <= info.end && info.end <= data_size, Input,
           where << ": data offsets [" << info.begin << ", " << info.end
                 << "] lie outside the file's " << data_size
                 << " data bytes; the file is truncated or corrupted, download it again");
  PD_CHECK(info.end - info.begin == byte_size(info.shape, spec->bytes, where), Input,
           where << ": " << (info.end - info.begin) << " bytes stored, but shape and dtype need "
                 << byte_size(info.shape, spec->bytes, where));
  return info;
}

}  // namespace

std::shared_ptr<const SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  PD_CHECK(fd >= 0, Input, path << ": cannot open (" << std::strerror(errno) << ")");
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    PD_FAIL(Input, path << ": not a regular file");
  }
  std::shared_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->path_ = path;
  f->size_ = static_cast<size_t>(st.st_size);
  if (f->size_ > 0) {
    void* m = ::mmap(nullptr, f->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    PD_CHECK(m != MAP_FAILED, Input, path << ": cannot map file (" << std::strerror(errno) << ")");
    f->mapping_ = m;
    f->base_ = static_cast<const uint8_t*>(m);
  } else {
    ::close(fd);
  }
  f->parse_header();
  return f;
}

std::shared_ptr<const SafetensorsFile> SafetensorsFile::from_bytes(std::string bytes,
                                                                   const std::string& origin) {
  std::shared_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->path_ = origin;
  f->owned_ = std::move(bytes);
  f->base_ = reinterpret_cast<const uint8_t*>(f->owned_.data());
  f->size_ = f->owned_.size();
  f->parse_header();
  return f;
}

SafetensorsFile::~SafetensorsFile() {
  if (mapping_) ::munmap(mapping_, size_);
}

void SafetensorsFile::parse_header() {
  PD_CHECK(size_ >= 8, Input, path_ << ": file is " << size_
                                    << " bytes, too short to be safetensors (truncated?)");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | base_[i];
  PD_CHECK(n <= kMaxHeaderBytes && n <= size_ - 8, Input,
           path_ << ": header claims " << n << " bytes but the file has " << size_
                 << "; not a safetensors file, or truncated");
  data_offset_ = 8 + static_cast<size_t>(n);
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(base_ + 8, base_ + data_offset_);
  } catch (const nlohmann::json::exception& e) {
    PD_FAIL(Input, path_ << ": header is not valid JSON (" << e.what() << ")");
  }
  PD_CHECK(header.is_object(), Input, path_ << ": header is not a JSON object");
  const uint64_t data_size = size_ - data_offset_;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      PD_CHECK(entry.is_object(), Input, path_ << ": '__metadata__' must be an object");
      for (const auto& [k, v] : entry.items()) {
        PD_CHECK(v.is_string(), Input, path_ << ": metadata '" << k << "' is not a string");
        metadata_[k] = v.get<std::string>();
      }
      continue;
    }
    tensors_[name] = parse_entry(name, entry, data_size, path_);
  }
  std::vector<const TensorInfo*> order;
  for (const auto& [name, info] : tensors_) order.push_back(&info);
  std::sort(order.begin(), order.end(),
            [](const TensorInfo* a, const TensorInfo* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < order.size(); ++i) {
    PD_CHECK(order[i]->begin >= order[i - 1]->end, Input,
             path_ << ": tensors '" << order[i - 1]->name << "' and '" << order[i]->name
                   << "' overlap in the file; it is corrupted");
  }
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  out.reserve(tensors_.size());
  for (const auto& kv : tensors_) out.push_back(kv.first);
  return out;
}

const TensorInfo& SafetensorsFile::info(const std::string& name) const {
  auto it = tensors_.find(name);
  PD_CHECK(it != tensors_.end(), Input, path_ << ": no tensor named '" << name << "'");
  return it->second;
}

torch::Tensor SafetensorsFile::load(const std::string& name, torch::ScalarType dtype) const {
  const TensorInfo& ti = info(name);
  const auto& spec = spec_of(ti.dtype);
  auto raw = torch::empty(ti.shape, torch::TensorOptions().dtype(spec.scalar));
  if (ti.end > ti.begin) {
    std::memcpy(raw.data_ptr(), base_ + data_offset_ + ti.begin, ti.end - ti.begin);
  }
  return raw.scalar_type() == dtype ? raw : raw.to(dtype);
}

torch::Tensor SafetensorsFile::view(const std::string& name) const {
  const TensorInfo& ti = info(name);
  const auto& spec = spec_of(ti.dtype);
  const uint8_t* data = base_ + data_offset_ + ti.begin;
  if (reinterpret_cast<uintptr_t>(data) % spec.bytes != 0) return load(name, spec.scalar);
  return torch::from_blob(const_cast<uint8_t*>(data), ti.shape,
                          torch::TensorOptions().dtype(spec.scalar));
}

void SafetensorsFile::release(const std::string& name) const {
  const TensorInfo& ti = info(name);
  if (!mapping_ || ti.end == ti.begin) return;
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto base = reinterpret_cast<uintptr_t>(mapping_);
  const uintptr_t first = (base + data_offset_ + ti.begin) / page * page;
  const uintptr_t last = std::min(base + size_, base + data_offset_ + ti.end);
  // Pages shared with a neighbouring tensor are dropped too; a later read faults them back in.
  ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

namespace {

// The length prefix and the JSON header of `tensors` (data laid out in their order), padded so
// that the data section starts 8-byte aligned.
std::string header_bytes(const NamedTensors& tensors,
                         const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  size_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    const auto& spec = spec_of(tensor.scalar_type());
    const size_t bytes = static_cast<size_t>(tensor.numel()) * spec.bytes;
    header[name] = {{"dtype", spec.name},
                    {"shape", tensor.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');  // keep the data section 8-byte aligned
  std::string out(8, '\0');
  uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + h;
}

// Hands the header, then each tensor's bytes (one contiguous CPU copy at a time), to `write`.
void write_safetensors(const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata, const ByteSink& write) {
  const std::string header = header_bytes(tensors, metadata);
  write(header.data(), header.size());
  for (const auto& entry : tensors) {
    const auto t = entry.second.contiguous().cpu();
    write(static_cast<const char*>(t.data_ptr()), static_cast<size_t>(t.nbytes()));
  }
}

}  // namespace

std::string safetensors_bytes(const NamedTensors& tensors,
                              const std::map<std::string, std::string>& metadata) {
  std::string out;
  write_safetensors(tensors, metadata,
                    [&](const char* data, size_t size) { out.append(data, size); });
  return out;
}

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata, bool overwrite) {
  write_file_atomic_streamed(
      path, [&](const ByteSink& write) { write_safetensors(tensors, metadata, write); },
      overwrite);
}

}  // namespace pangu_draw::io
