// prompt_chunks.h: A1111's long-prompt chunking (stable-diffusion-webui's tokenize_line): the
// weighted fragments of a prompt, tokenized one by one, laid into chunks of 75 tokens, each
// packed as [BOS] tokens [EOS] padding; a chunk breaks after the last comma when one lies within
// the last 20 tokens, BREAK starts a new chunk, a textual-inversion name becomes its vectors.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "text_encoders/prompt_parser.h"
#include "tokenizers/tokenizer.h"

namespace pangu_draw::text_encoders {

struct ChunkRules {
  int64_t length = 75;  // content tokens per chunk (the tokenizer's length minus BOS/EOS)
  tokenizers::SpecialIds specials;
  int64_t comma = -1;      // the tokenizer's id of ","; -1: no comma backtrack
  int64_t backtrack = 20;  // A1111's comma_padding_backtrack
};

// The rules for a tokenizer: its length, specials and comma.
ChunkRules chunk_rules_for(const tokenizers::Tokenizer& tokenizer);

// A textual-inversion word as one tokenizer sees it.
struct ChunkWord {
  std::vector<int64_t> name_ids;  // the tokens of its name
  int64_t vectors = 0;            // how many token positions its vectors take
  int embedding = 0;              // its index in the caller's list
};

struct ChunkFix {  // the vectors of `embedding` go into positions offset .. offset + n - 1
  int64_t offset = 0;
  int embedding = 0;
};

struct PromptChunk {
  std::vector<int64_t> ids;    // length + 2 (or + 1 without BOS) ids; 0 under embedding vectors
  std::vector<float> weights;  // one per id; 1 at BOS, EOS and padding
  std::vector<ChunkFix> fixes;
};

struct ChunkedPrompt {
  std::vector<PromptChunk> chunks;  // at least one
  int64_t tokens = 0;               // content tokens
  int64_t unknown = 0;              // of them mapped to the unknown token
};

// The chunks of `fragments` for `tokenizer`; `words` are tried longest name first at every
// token (A1111 matches names against the token sequence of one fragment).
ChunkedPrompt chunk_prompt(const std::vector<PromptFragment>& fragments,
                           const tokenizers::Tokenizer& tokenizer, const ChunkRules& rules,
                           std::vector<ChunkWord> words);

// A1111's empty chunk: [BOS] [EOS] padding, weights 1.
PromptChunk empty_chunk(const ChunkRules& rules);

// Today's plain behaviour: the tokenizer's own fixed-length ids (truncated), weights 1.
ChunkedPrompt plain_chunk(const std::string& prompt, const tokenizers::Tokenizer& tokenizer);

}  // namespace pangu_draw::text_encoders
