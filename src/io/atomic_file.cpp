// atomic_file.cpp: whole-file reads with a size limit and atomic writes (temp file + rename).
#include "io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace pangu_draw::io {

namespace {

std::string temp_name(const std::string& path) {
  return path + ".tmp." + std::to_string(::getpid());
}

// Throws Error{Runtime}; the caller closes and removes the file.
void write_all(int fd, const char* bytes, size_t size, const std::string& path) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::write(fd, bytes + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) PD_FAIL(Runtime, path << ": write failed: " << std::strerror(errno));
    done += static_cast<size_t>(n);
  }
}

}  // namespace

void write_file_atomic(const std::string& path, const std::string& bytes, bool overwrite) {
  write_file_atomic_streamed(
      path, [&](const ByteSink& write) { write(bytes.data(), bytes.size()); }, overwrite);
}

void write_file_atomic_streamed(const std::string& path,
                                const std::function<void(const ByteSink&)>& produce,
                                bool overwrite) {
  struct stat st {};
  PD_CHECK(overwrite || ::stat(path.c_str(), &st) != 0, Input,
           path << ": file exists; pass --overwrite to replace it or choose another name");
  const std::string tmp = temp_name(path);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  PD_CHECK(fd >= 0, Runtime,
           path << ": cannot create output file (" << std::strerror(errno)
                << "); check that the folder exists and is writable");
  try {
    produce([&](const char* data, size_t size) { write_all(fd, data, size, tmp); });
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    PD_FAIL(Runtime, path << ": cannot finish writing: " << std::strerror(err));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    PD_FAIL(Runtime, path << ": cannot move the finished file into place: " << std::strerror(err));
  }
}

std::string read_file(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  PD_CHECK(in.good(), Input, path << ": cannot open file (" << std::strerror(errno) << ")");
  in.seekg(0, std::ios::end);
  const auto size = static_cast<size_t>(in.tellg());
  PD_CHECK(size <= max_bytes, Input,
           path << ": file is " << size << " bytes, more than the " << max_bytes
                << " bytes allowed for this kind of file");
  in.seekg(0);
  std::string data(size, '\0');
  in.read(data.data(), static_cast<std::streamsize>(size));
  PD_CHECK(in.good() || size == 0, Input, path << ": read failed");
  return data;
}

}  // namespace pangu_draw::io
