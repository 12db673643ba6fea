// harness_spm_bridge.cpp: the fuzzer's SentencePiece entry: the bridge's C API linked directly,
// without libtorch. ASan refuses the RTLD_DEEPBIND dlopen that keeps sentencepiece's bundled
// protobuf apart from libtorch's (google/sanitizers#611), and without it the two clash.
#include <cstring>

#include "fuzz/harness.h"
#include "tokenizers/spm_bridge.h"

namespace pangu_draw::fuzz {

void parse_spm(const std::string& bytes) {
  char err[512] = {0};
  PdSpmModel* model = nullptr;
  if (pd_spm_load(scratch_file("spiece.model", bytes).c_str(), &model, err, sizeof err) != 0) {
    throw Error(ErrorKind::Input, std::string("not a SentencePiece model: ") + err);
  }
  const char* text = "a Photo of 2 cats, on the moon! 月亮 café";
  int32_t ids[256];
  size_t count = 0;
  (void)pd_spm_encode(model, text, std::strlen(text), ids, 256, &count, err, sizeof err);
  char piece[64];
  size_t size = 0;
  for (int32_t id = -1; id < 4; ++id) (void)pd_spm_id_to_piece(model, id, piece, sizeof piece, &size);
  (void)pd_spm_piece_to_id(model, "</s>");
  (void)pd_spm_vocab_size(model);
  pd_spm_free(model);
}

}  // namespace pangu_draw::fuzz
