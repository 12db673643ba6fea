// atomic_file.h: write a whole file via a temporary sibling and rename, so readers never see
// half a file and an interrupted run leaves no partial output behind.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

namespace pangu_draw::io {

// Writes `bytes` to `path` atomically. Throws Error{Input} when the file exists and
// !overwrite, Error{Runtime} naming the path when the directory is not writable.
void write_file_atomic(const std::string& path, const std::string& bytes, bool overwrite = true);

// Appends `size` bytes to the file being written.
using ByteSink = std::function<void(const char* data, size_t size)>;

// The same for a file produced piece by piece, so that a large one (a model's weights) never has
// to be held in memory whole: `produce` is called once with a sink that appends to the
// temporary file. If `produce` throws, no file is left behind.
void write_file_atomic_streamed(const std::string& path,
                                const std::function<void(const ByteSink&)>& produce,
                                bool overwrite = true);

// Reads a whole file; Error{Input} naming the path when it cannot be read. `max_bytes` bounds
// what a caller is ready to hold in memory.
std::string read_file(const std::string& path, size_t max_bytes = size_t(1) << 32);

}  // namespace pangu_draw::io
