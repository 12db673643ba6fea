// batch_lock.h: one `batch` process per output folder and shard. An flock(2) on
// "<manifest>.lock" held for the life of the process: the kernel drops it when the process ends,
// however it ends (kill -9 included), so a lock file left behind holds nothing. The holder
// writes who it is (pid, host, start time) into the file for the message a second process prints.
#pragma once

#include <string>

namespace pangu_draw::cli {

class FolderLock {
 public:
  // Takes the lock on `path` or throws Error{Runtime} (exit code 3) naming the holder; `what`
  // says what is locked ("batch_out, shard 0/2") in that message.
  FolderLock(const std::string& path, const std::string& what);
  ~FolderLock();
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace pangu_draw::cli
