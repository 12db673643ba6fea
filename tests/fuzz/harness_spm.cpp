// harness_spm.cpp: harness entry for a SentencePiece .model through SentencePieceTokenizer and the
// dlopen'd bridge (corpus replay; the fuzzer uses harness_spm_bridge.cpp, see CMakeLists.txt).
#include "fuzz/harness.h"
#include "tokenizers/spm.h"

namespace pangu_draw::fuzz {

void parse_spm(const std::string& bytes) {
  tokenizers::SentencePieceTokenizer tok(scratch_file("spiece.model", bytes), {});
  (void)tok.encode_pieces("a Photo of 2 cats, on the moon! 月亮 café");
}

}  // namespace pangu_draw::fuzz
