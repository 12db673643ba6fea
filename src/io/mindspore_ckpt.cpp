// mindspore_ckpt.cpp: protobuf wire-format walk over a memory map, and the streaming converter.
#include "io/mindspore_ckpt.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace pangu_draw::io {

namespace {

struct Cursor {
  const uint8_t* p;
  const uint8_t* end;
  const uint8_t* base;
  const std::string* path;

  uint64_t offset() const { return static_cast<uint64_t>(p - base); }
  bool done() const { return p >= end; }

  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      PD_CHECK(p < end, Input, *path << ": truncated varint at byte " << offset());
      const uint8_t b = *p++;
      v |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    PD_FAIL(Input, *path << ": malformed varint at byte " << offset());
  }

  // A length-delimited field's payload.
  Cursor sub() {
    const uint64_t len = varint();
    PD_CHECK(len <= static_cast<uint64_t>(end - p), Input,
             *path << ": field of " << len << " bytes runs past the end at byte " << offset()
                   << "; the checkpoint is truncated or not a MindSpore .ckpt");
    Cursor c{p, p + len, base, path};
    p += len;
    return c;
  }

  void skip(uint32_t wire_type) {
    switch (wire_type) {
      case 0: varint(); return;
      case 1: advance(8); return;
      case 2: sub(); return;
      case 5: advance(4); return;
      default: PD_FAIL(Input, *path << ": unsupported protobuf wire type " << wire_type << " at byte " << offset());
    }
  }

  void advance(uint64_t n) {
    PD_CHECK(n <= static_cast<uint64_t>(end - p), Input, *path << ": truncated at byte " << offset());
    p += n;
  }
};

void parse_tensor_proto(Cursor c, MindSporeTensor& t) {
  while (!c.done()) {
    const uint64_t key = c.varint();
    const uint32_t field = static_cast<uint32_t>(key >> 3), wire = key & 7;
    if (field == 1 && wire == 0) {
      t.dims.push_back(static_cast<int64_t>(c.varint()));
    } else if (field == 1 && wire == 2) {  // packed dims
      Cursor d = c.sub();
      while (!d.done()) t.dims.push_back(static_cast<int64_t>(d.varint()));
    } else if (field == 2 && wire == 2) {
      Cursor s = c.sub();
      t.type.assign(reinterpret_cast<const char*>(s.p), static_cast<size_t>(s.end - s.p));
    } else if (field == 3 && wire == 2) {
      Cursor s = c.sub();
      t.parts.emplace_back(s.p, static_cast<uint64_t>(s.end - s.p));
    } else {
      c.skip(wire);
    }
  }
}

MindSporeTensor parse_value(Cursor c) {
  MindSporeTensor t;
  while (!c.done()) {
    const uint64_t key = c.varint();
    const uint32_t field = static_cast<uint32_t>(key >> 3), wire = key & 7;
    if (field == 1 && wire == 2) {
      Cursor s = c.sub();
      t.name.assign(reinterpret_cast<const char*>(s.p), static_cast<size_t>(s.end - s.p));
    } else if (field == 2 && wire == 2) {
      parse_tensor_proto(c.sub(), t);
    } else {
      c.skip(wire);
    }
  }
  return t;
}

struct TypeSpec {
  const char* mindspore;
  const char* safetensors;
  size_t bytes;
  torch::ScalarType scalar;
};

constexpr TypeSpec kTypes[] = {{"Float32", "F32", 4, torch::kFloat},
                               {"Float16", "F16", 2, torch::kHalf},
                               {"BFloat16", "BF16", 2, torch::kBFloat16},
                               {"Int64", "I64", 8, torch::kLong}};

const TypeSpec& type_spec(const std::string& type, const std::string& what) {
  for (const auto& t : kTypes) {
    if (type == t.mindspore || type == t.safetensors) return t;
  }
  PD_FAIL(Input, what << ": unsupported tensor type '" << type << "' (Float32, Float16, BFloat16, Int64)");
}

}  // namespace

uint64_t MindSporeTensor::bytes() const {
  uint64_t n = 0;
  for (const auto& part : parts) n += part.second;
  return n;
}

std::unique_ptr<MindSporeCheckpoint> MindSporeCheckpoint::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  PD_CHECK(fd >= 0, Input, path << ": cannot open (" << std::strerror(errno) << ")");
  struct stat st {};
  ::fstat(fd, &st);
  std::unique_ptr<MindSporeCheckpoint> ck(new MindSporeCheckpoint());
  ck->path_ = path;
  ck->size_ = static_cast<size_t>(st.st_size);
  if (ck->size_ > 0) {
    void* m = ::mmap(nullptr, ck->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    PD_CHECK(m != MAP_FAILED, Input, path << ": cannot map file");
    ck->mapping_ = m;
    ck->base_ = static_cast<const uint8_t*>(m);
  } else {
    ::close(fd);
  }
  ck->parse();
  return ck;
}

std::unique_ptr<MindSporeCheckpoint> MindSporeCheckpoint::from_bytes(std::string bytes,
                                                                     const std::string& origin) {
  std::unique_ptr<MindSporeCheckpoint> ck(new MindSporeCheckpoint());
  ck->path_ = origin;
  ck->owned_ = std::move(bytes);
  ck->base_ = reinterpret_cast<const uint8_t*>(ck->owned_.data());
  ck->size_ = ck->owned_.size();
  ck->parse();
  return ck;
}

MindSporeCheckpoint::~MindSporeCheckpoint() {
  if (mapping_) ::munmap(mapping_, size_);
}

void MindSporeCheckpoint::parse() {
  Cursor c{base_, base_ + size_, base_, &path_};
  std::map<std::string, size_t> index;
  while (!c.done()) {
    const uint64_t key = c.varint();
    if ((key >> 3) != 1 || (key & 7) != 2) {
      c.skip(static_cast<uint32_t>(key & 7));
      continue;
    }
    MindSporeTensor t = parse_value(c.sub());
    PD_CHECK(!t.name.empty(), Input, path_ << ": a tensor record without a name at byte " << c.offset());
    auto it = index.find(t.name);
    if (it == index.end()) {
      index[t.name] = tensors_.size();
      tensors_.push_back(std::move(t));
    } else {  // a large tensor continued in another record
      auto& parts = tensors_[it->second].parts;
      parts.insert(parts.end(), t.parts.begin(), t.parts.end());
    }
  }
  for (const auto& t : tensors_) {
    const auto& spec = type_spec(t.type, path_ + ": '" + t.name + "'");
    uint64_t want = spec.bytes;
    for (int64_t d : t.dims) {
      PD_CHECK(d >= 0 && (d == 0 || want <= (uint64_t(1) << 62) / uint64_t(d)), Input,
               path_ << ": '" << t.name << "' has an impossible shape");
      want *= static_cast<uint64_t>(d);
    }
    PD_CHECK(t.bytes() == want, Input,
             path_ << ": '" << t.name << "' holds " << t.bytes() << " bytes, its shape needs " << want);
  }
}

std::string torch_name_of(const std::string& name) {
  std::string out = name;
  const std::string backbone = "._backbone";
  for (size_t at; (at = out.find(backbone)) != std::string::npos;) out.erase(at, backbone.size());
  auto replace_suffix = [&](const std::string& from, const std::string& to) {
    if (out.size() > from.size() && out.compare(out.size() - from.size(), from.size(), from) == 0) {
      out = out.substr(0, out.size() - from.size()) + to;
    }
  };
  replace_suffix(".gamma", ".weight");
  replace_suffix(".beta", ".bias");
  replace_suffix(".embedding_table", ".weight");
  return out;
}

namespace {

torch::Tensor materialize(const MindSporeTensor& t, const TypeSpec& spec) {
  auto out = torch::empty(t.dims, torch::TensorOptions().dtype(spec.scalar));
  auto* dst = static_cast<uint8_t*>(out.data_ptr());
  for (const auto& [ptr, len] : t.parts) {
    std::memcpy(dst, ptr, len);
    dst += len;
  }
  return out;
}

}  // namespace

size_t convert_mindspore_to_safetensors(const MindSporeCheckpoint& ckpt, const std::string& out_path,
                                        const std::string& cast) {
  const TypeSpec* cast_spec = cast.empty() ? nullptr : &type_spec(cast, "--cast");
  nlohmann::json header = nlohmann::json::object();
  uint64_t offset = 0;
  std::vector<const TypeSpec*> out_types;
  for (const auto& t : ckpt.tensors()) {
    const TypeSpec& src = type_spec(t.type, t.name);
    const bool floating = src.scalar != torch::kLong;
    const TypeSpec& dst = cast_spec && floating ? *cast_spec : src;
    uint64_t bytes = dst.bytes;
    for (int64_t d : t.dims) bytes *= static_cast<uint64_t>(d);
    const std::string name = torch_name_of(t.name);
    PD_CHECK(!header.contains(name), Input, "two tensors map to the name '" << name << "'");
    header[name] = {{"dtype", dst.safetensors}, {"shape", t.dims}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    out_types.push_back(&dst);
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');
  const std::string tmp = out_path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary);
    PD_CHECK(out.good(), Runtime, out_path << ": cannot create output file");
    uint64_t n = h.size();
    char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    out.write(len, 8).write(h.data(), static_cast<std::streamsize>(h.size()));
    for (size_t i = 0; i < ckpt.tensors().size(); ++i) {  // one tensor in memory at a time
      const auto& t = ckpt.tensors()[i];
      auto tensor = materialize(t, type_spec(t.type, t.name)).to(out_types[i]->scalar).contiguous();
      out.write(static_cast<const char*>(tensor.data_ptr()),
                static_cast<std::streamsize>(tensor.numel() * tensor.element_size()));
    }
    out.flush();
    PD_CHECK(out.good(), Runtime, out_path << ": write failed (disk full?)");
  }
  PD_CHECK(std::rename(tmp.c_str(), out_path.c_str()) == 0, Runtime, out_path << ": cannot move into place");
  return ckpt.tensors().size();
}

}  // namespace pangu_draw::io
