// batch_lock.cpp: FolderLock — flock(2) on a lock file, the holder's identity written inside.
#include "batch_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>
#include <thread>

#include "pangu_draw/pangu_draw.h"

namespace pangu_draw::cli {

namespace {

using nlohmann::json;

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "?";
  return name;
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

std::string read_all(int fd) {
  std::string text;
  char buf[1024];
  for (off_t at = 0;;) {
    const ssize_t n = ::pread(fd, buf, sizeof buf, at);
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
    at += n;
    if (text.size() > 64 * 1024) break;
  }
  return text;
}

// The holder's record; it writes it right after taking the lock, so an empty file means it has
// only just started: read again for a moment before giving up on the details.
std::string holder_of(int fd) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    const std::string text = read_all(fd);
    try {
      const json h = json::parse(text);
      std::string who = "pid " + std::to_string(h.value("pid", 0L)) + " on host " +
                        h.value("host", "?") + ", started " + h.value("started", "?");
      if (h.contains("slurm_job")) who += " (Slurm job " + h["slurm_job"].get<std::string>() + ")";
      return who;
    } catch (const json::exception&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  return "a process that has not written its details (pid unknown)";
}

void write_holder(int fd) {
  json h{{"pid", static_cast<long>(::getpid())}, {"host", host_name()}, {"started", utc_now()}};
  if (const char* job = std::getenv("SLURM_JOB_ID")) h["slurm_job"] = job;
  const std::string text = h.dump() + "\n";
  // Best effort: the lock is the flock itself; without the record a second run still refuses.
  if (::ftruncate(fd, 0) == 0 &&
      ::pwrite(fd, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size()))
    return;
  std::fprintf(stderr, "warning: cannot write who holds the batch lock (disk full?)\n");
}

}  // namespace

FolderLock::FolderLock(const std::string& path, const std::string& what) {
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  const bool writable = fd_ >= 0;
  if (!writable && errno == EACCES)
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);  // another user's file: flock needs no write
  if (fd_ < 0)
    throw Error(ErrorKind::Runtime,
                path + ": cannot create the batch lock file: " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err == EWOULDBLOCK) {
      const std::string holder = holder_of(fd_);
      ::close(fd_);
      throw Error(ErrorKind::Runtime,
                  what + " is in use by another pangu-draw batch: " + holder +
                      ". Two runs on one folder and shard would draw the same items twice; wait "
                      "for it to end or stop it. Its lock ends with that process (" +
                      path + ")");
    }
    ::close(fd_);
    throw Error(ErrorKind::Runtime,
                path + ": the file system refuses flock(2) locks (" + std::strerror(err) +
                    "); mount it with locking (e.g. Lustre's -o flock), or pass --no-lock when "
                    "nothing else can run on this folder and shard");
  }
  if (writable) write_holder(fd_);
}

FolderLock::~FolderLock() {
  if (fd_ < 0) return;
  const int rc =
      ::ftruncate(fd_, 0);  // a clean exit leaves an empty file; kill -9 leaves its record,
  (void)rc;                 // which holds nothing
  ::close(fd_);
}

}  // namespace pangu_draw::cli
