// harness.h: one entry per parser, taking raw bytes and throwing pangu_draw::Error on rejection.
// Shared by the libFuzzer targets (fuzz_entry.cpp) and the gcc corpus replay test (test_corpus).
#pragma once

#include <string>
#include <utility>

#include "pangu_draw/pangu_draw.h"

namespace pangu_draw::fuzz {

void parse_safetensors(const std::string& bytes);
void parse_config_json(const std::string& bytes);  // JsonConfig + the four config from_json
void parse_clip_bpe(const std::string& bytes);     // vocab.json '\0' merges.txt ['\0' text]
void parse_wordpiece(const std::string& bytes);    // vocab.txt ['\0' text]
void parse_spm(const std::string& bytes);          // a .model file, through the bridge
void parse_png(const std::string& bytes);          // read_image + png_text
void parse_mindspore(const std::string& bytes);
void parse_prompts(const std::string& bytes);      // batch prompt file (text or JSONL)

// Writes `bytes` to a per-process scratch file named `name` (the parsers that take paths) and
// returns its path.
std::string scratch_file(const std::string& name, const std::string& bytes);

// Splits at the first '\0': {before, after} (after is empty when there is none).
std::pair<std::string, std::string> split_nul(const std::string& bytes);

}  // namespace pangu_draw::fuzz
