// harness_io.cpp: harness entries for the io parsers: safetensors, PNG / control images, .ckpt.
#include "fuzz/harness.h"
#include "io/mindspore_ckpt.h"
#include "io/png.h"
#include "io/safetensors.h"

namespace pangu_draw::fuzz {

void parse_safetensors(const std::string& bytes) {
  const auto file = io::SafetensorsFile::from_bytes(bytes, "fuzz.safetensors");
  for (const auto& name : file->names()) {
    (void)file->info(name);
    (void)file->load(name);  // the header was validated: each tensor fits in the input
  }
}

void parse_png(const std::string& bytes) {
  // A small pixel budget keeps the fuzzer fast; the bound itself is what is exercised.
  const Image image = io::read_image(scratch_file("control.png", bytes), int64_t(1) << 20);
  (void)image;
  (void)io::png_text(bytes, "parameters");
}

void parse_mindspore(const std::string& bytes) {
  const auto ckpt = io::MindSporeCheckpoint::from_bytes(bytes, "fuzz.ckpt");
  uint64_t total = 0;
  for (const auto& t : ckpt->tensors()) {
    total += t.bytes();
    (void)io::torch_name_of(t.name);
  }
  (void)total;
}

}  // namespace pangu_draw::fuzz
