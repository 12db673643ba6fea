// harness_tokenizers.cpp: harness entries for tokenizer files: CLIP vocab.json + merges.txt and
// WordPiece vocab.txt; each then encodes a text.
#include "fuzz/harness.h"
#include "tokenizers/clip_bpe.h"
#include "tokenizers/wordpiece.h"

namespace pangu_draw::fuzz {

namespace {

const char* const kDefaultText = "a Photo of 2 cats, on the moon! 月亮 café &amp; <|endoftext|>";

std::string text_or_default(const std::string& text) {
  return text.empty() ? std::string(kDefaultText) : text;
}

}  // namespace

void parse_clip_bpe(const std::string& bytes) {
  const auto [vocab, rest] = split_nul(bytes);
  const auto [merges, text] = split_nul(rest);
  tokenizers::CLIPBPETokenizer tok(scratch_file("vocab.json", vocab),
                                   scratch_file("merges.txt", merges), {});
  (void)tok.encode(text_or_default(text));
}

void parse_wordpiece(const std::string& bytes) {
  const auto [vocab, text] = split_nul(bytes);
  tokenizers::WordPieceTokenizer tok(scratch_file("vocab.txt", vocab), {});
  (void)tok.encode(text_or_default(text));
}

}  // namespace pangu_draw::fuzz
