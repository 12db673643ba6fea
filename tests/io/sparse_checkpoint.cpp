// sparse_checkpoint.cpp
#include "io/sparse_checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace pangu_draw::testing {

namespace {

std::vector<int64_t> parse_shape(const std::string& text) {
  std::vector<int64_t> shape;
  std::istringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    if (!part.empty()) shape.push_back(std::stoll(part));
  }
  return shape;
}

int64_t numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

void write_all(int fd, const void* data, size_t size, uint64_t offset) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::pwrite(fd, p, size, static_cast<off_t>(offset));
    if (n <= 0) throw std::runtime_error("pwrite failed");
    p += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
}

}  // namespace

std::string io_test_data(const std::string& name) {
  return std::string(PD_IO_TEST_DATA) + "/" + name;
}

ShapeListing read_shape_listing(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open");
  ShapeListing out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.find(' ');
    out[line.substr(0, space)] = parse_shape(space == std::string::npos ? "" : line.substr(space + 1));
  }
  return out;
}

std::map<std::string, ShapeListing> read_canonical_listing(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::map<std::string, ShapeListing> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t a = line.find(' '), b = line.find(' ', a + 1);
    out[line.substr(0, a)][line.substr(a + 1, b - a - 1)] =
        parse_shape(b == std::string::npos ? "" : line.substr(b + 1));
  }
  return out;
}

uint64_t write_sparse_checkpoint(const std::string& path, const SparseCheckpoint& ckpt) {
  const int64_t item = ckpt.dtype == "F16" ? 2 : 4;
  const auto scalar = ckpt.dtype == "F16" ? torch::kHalf : torch::kFloat;
  nlohmann::json header = nlohmann::json::object();
  if (!ckpt.metadata.empty()) header["__metadata__"] = ckpt.metadata;
  std::map<std::string, std::pair<uint64_t, std::vector<int64_t>>> placed;
  uint64_t offset = 0;
  for (const auto& [name, listed] : ckpt.shapes) {
    auto it = ckpt.values.find(name);
    const std::vector<int64_t> shape = it == ckpt.values.end() ? listed : it->second.sizes().vec();
    const uint64_t bytes = static_cast<uint64_t>(numel(shape) * item);
    header[name] = {{"dtype", ckpt.dtype}, {"shape", shape}, {"data_offsets", {offset, offset + bytes}}};
    placed[name] = {offset, shape};
    offset += bytes;
  }
  std::string text = header.dump();
  while ((8 + text.size()) % 8 != 0) text += ' ';
  const uint64_t data_start = 8 + text.size();
  const int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
  if (fd < 0) throw std::runtime_error(path + ": cannot create");
  const uint64_t len = text.size();
  unsigned char le[8];
  for (int i = 0; i < 8; ++i) le[i] = static_cast<unsigned char>(len >> (8 * i));
  write_all(fd, le, 8, 0);
  write_all(fd, text.data(), text.size(), 8);
  for (const auto& [name, value] : ckpt.values) {
    const torch::Tensor t = value.to(scalar).contiguous();
    write_all(fd, t.data_ptr(), static_cast<size_t>(t.numel() * item), data_start + placed.at(name).first);
  }
  const uint64_t total = data_start + offset;
  if (::ftruncate(fd, static_cast<off_t>(total)) != 0) throw std::runtime_error("ftruncate failed");
  ::close(fd);
  return total;
}

}  // namespace pangu_draw::testing
