// atomic_file.h: write a whole file via a temporary sibling and rename, so readers never see
// half a file and an interrupted run leaves no partial output behind.
#pragma once

#include <string>

namespace pangu_draw::io {

// Writes `bytes` to `path` atomically. Throws Error{Input} when the file exists and
// !overwrite, Error{Runtime} naming the path when the directory is not writable.
void write_file_atomic(const std::string& path, const std::string& bytes, bool overwrite = true);

// Reads a whole file; Error{Input} naming the path when it cannot be read. `max_bytes` bounds
// what a caller is ready to hold in memory.
std::string read_file(const std::string& path, size_t max_bytes = size_t(1) << 32);

}  // namespace pangu_draw::io
