// spm_bridge.cpp: the pd_spm_bridge plug-in (see spm_bridge.h): a thin extern "C" shell around
// sentencepiece::SentencePieceProcessor and SentencePieceTrainer, loaded with dlopen.
#include "tokenizers/spm_bridge.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <memory>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

struct PdSpmModel {
  sentencepiece::SentencePieceProcessor processor;
};

namespace {

int fail(const std::string& message, char* err, size_t err_size) {
  if (err != nullptr && err_size > 0) {
    const size_t n = std::min(message.size(), err_size - 1);
    std::memcpy(err, message.data(), n);
    err[n] = '\0';
  }
  return 1;
}

void copy_out(const std::string& text, char* out, size_t capacity, size_t* size) {
  *size = text.size();
  if (out != nullptr) std::memcpy(out, text.data(), std::min(text.size(), capacity));
}

}  // namespace

extern "C" {

int pd_spm_api_version(void) { return PD_SPM_BRIDGE_API_VERSION; }

int pd_spm_load(const char* model_path, PdSpmModel** model, char* err, size_t err_size) {
  try {
    auto loaded = std::make_unique<PdSpmModel>();
    const auto status = loaded->processor.Load(model_path);
    if (!status.ok()) return fail(status.ToString(), err, err_size);
    *model = loaded.release();
    return 0;
  } catch (const std::exception& e) {
    return fail(e.what(), err, err_size);
  }
}

void pd_spm_free(PdSpmModel* model) { delete model; }

int pd_spm_encode(const PdSpmModel* model, const char* text, size_t text_size, int32_t* ids,
                  size_t capacity, size_t* count, char* err, size_t err_size) {
  try {
    std::vector<int> out;
    const auto status = model->processor.Encode(std::string(text, text_size), &out);
    if (!status.ok()) return fail(status.ToString(), err, err_size);
    *count = out.size();
    for (size_t i = 0; i < out.size() && i < capacity; ++i) ids[i] = out[i];
    return 0;
  } catch (const std::exception& e) {
    return fail(e.what(), err, err_size);
  }
}

int pd_spm_decode(const PdSpmModel* model, const int32_t* ids, size_t num_ids, char* out,
                  size_t capacity, size_t* size, char* err, size_t err_size) {
  try {
    std::string text;
    const auto status = model->processor.Decode(std::vector<int>(ids, ids + num_ids), &text);
    if (!status.ok()) return fail(status.ToString(), err, err_size);
    copy_out(text, out, capacity, size);
    return 0;
  } catch (const std::exception& e) {
    return fail(e.what(), err, err_size);
  }
}

int pd_spm_id_to_piece(const PdSpmModel* model, int32_t id, char* out, size_t capacity,
                       size_t* size) {
  if (id < 0 || id >= model->processor.GetPieceSize()) return -1;
  copy_out(model->processor.IdToPiece(id), out, capacity, size);
  return 0;
}

int32_t pd_spm_piece_to_id(const PdSpmModel* model, const char* piece) {
  return model->processor.PieceToId(piece);
}

int32_t pd_spm_vocab_size(const PdSpmModel* model) { return model->processor.GetPieceSize(); }

int32_t pd_spm_special_id(const PdSpmModel* model, int which) {
  switch (which) {
    case 0:
      return model->processor.unk_id();
    case 1:
      return model->processor.bos_id();
    case 2:
      return model->processor.eos_id();
    case 3:
      return model->processor.pad_id();
    default:
      return -1;
  }
}

int pd_spm_train(const char* input_path, const char* model_prefix, int32_t vocab_size,
                 const char* model_type, double character_coverage, const char* extra, char* err,
                 size_t err_size) {
  try {
    std::unordered_map<std::string, std::string> args = {
        {"input", input_path},
        {"model_prefix", model_prefix},
        {"vocab_size", std::to_string(vocab_size)},
        {"model_type", model_type},
        {"character_coverage", std::to_string(character_coverage)},
        {"minloglevel", "2"},
    };
    std::istringstream lines(extra != nullptr ? extra : "");
    for (std::string line; std::getline(lines, line);) {
      const size_t eq = line.find('=');
      if (eq == std::string::npos || eq == 0)
        return fail("bad trainer flag: " + line, err, err_size);
      args[line.substr(0, eq)] = line.substr(eq + 1);
    }
    const auto status = sentencepiece::SentencePieceTrainer::Train(args);
    if (!status.ok()) return fail(status.ToString(), err, err_size);
    return 0;
  } catch (const std::exception& e) {
    return fail(e.what(), err, err_size);
  }
}

}  // extern "C"
