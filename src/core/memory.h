// memory.h: the process's resident memory (current and peak) from /proc/self/status, and a
// reset of the peak so that one phase of a run (e.g. sampling after loading) can be measured.
#pragma once

#include <cstdint>

namespace pangu_draw::core {

// VmRSS: resident bytes now (0 where /proc is unavailable).
int64_t current_rss_bytes();

// VmHWM: the highest resident bytes since the process started or since reset_peak_rss().
int64_t peak_rss_bytes();

// Sets the peak back to the current resident size (writes 5 to /proc/self/clear_refs, Linux
// >= 4.0). Returns false where the kernel does not allow it; the peak then keeps counting.
bool reset_peak_rss();

// Hands memory that the allocator holds free back to the operating system (glibc's malloc_trim;
// a no-op elsewhere). Tensors under glibc's mmap threshold (32 MiB at most) live on the heap, and
// the UNet's freed activations would otherwise stay resident under the VAE decode's peak
// (vae::decode_tiled calls it before the final decode).
void release_free_memory();

}  // namespace pangu_draw::core
