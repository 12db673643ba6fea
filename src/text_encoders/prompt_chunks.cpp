// prompt_chunks.cpp: the chunk builder of A1111's tokenize_line (comma backtrack, BREAK,
// textual-inversion words) and the packing of a chunk as the tokenizer pads.
#include "text_encoders/prompt_chunks.h"

#include <algorithm>

#include "core/error.h"

namespace pangu_draw::text_encoders {

namespace {

// Packs content into [BOS] content [EOS] pad..., A1111's layout with the tokenizer's padding.
PromptChunk pack(const PromptChunk& content, const ChunkRules& rules) {
  const auto& sp = rules.specials;
  const int64_t head = sp.begin >= 0 ? 1 : 0;
  PromptChunk out;
  if (head) out.ids.push_back(sp.begin);
  out.ids.insert(out.ids.end(), content.ids.begin(), content.ids.end());
  out.ids.push_back(sp.end);
  out.ids.resize(static_cast<size_t>(rules.length + head + 1), sp.pad);
  out.weights.assign(out.ids.size(), 1.0f);
  std::copy(content.weights.begin(), content.weights.end(), out.weights.begin() + head);
  for (const auto& f : content.fixes) out.fixes.push_back({f.offset + head, f.embedding});
  return out;
}

class Chunker {
 public:
  Chunker(const ChunkRules& rules, ChunkedPrompt& out) : rules_(rules), out_(out) {}

  void close() {
    out_.chunks.push_back(pack(cur_, rules_));
    cur_ = PromptChunk();
    last_comma_ = -1;
  }

  // A1111: at a full chunk and a comma within the last `backtrack` tokens, what follows the
  // comma moves to the next chunk (with the embedding vectors among it).
  void backtrack() {
    const auto cut = static_cast<size_t>(last_comma_ + 1);
    PromptChunk moved;
    moved.ids.assign(cur_.ids.begin() + static_cast<ptrdiff_t>(cut), cur_.ids.end());
    moved.weights.assign(cur_.weights.begin() + static_cast<ptrdiff_t>(cut), cur_.weights.end());
    std::vector<ChunkFix> kept;
    for (const auto& f : cur_.fixes) {
      if (f.offset >= static_cast<int64_t>(cut)) {
        moved.fixes.push_back({f.offset - static_cast<int64_t>(cut), f.embedding});
      } else {
        kept.push_back(f);
      }
    }
    cur_.ids.resize(cut);
    cur_.weights.resize(cut);
    cur_.fixes = kept;
    close();
    cur_ = std::move(moved);
  }

  void add(const std::vector<int64_t>& tokens, float weight, const std::vector<ChunkWord>& words) {
    size_t pos = 0;
    while (pos < tokens.size()) {
      const int64_t size = static_cast<int64_t>(cur_.ids.size());
      if (tokens[pos] == rules_.comma) {
        last_comma_ = size;
      } else if (rules_.backtrack > 0 && size == rules_.length && last_comma_ >= 0 &&
                 size - last_comma_ <= rules_.backtrack) {
        backtrack();
      }
      if (static_cast<int64_t>(cur_.ids.size()) == rules_.length) close();
      const ChunkWord* word = match(tokens, pos, words);
      if (!word) {
        cur_.ids.push_back(tokens[pos]);
        cur_.weights.push_back(weight);
        ++pos;
        continue;
      }
      if (static_cast<int64_t>(cur_.ids.size()) + word->vectors > rules_.length) close();
      cur_.fixes.push_back({static_cast<int64_t>(cur_.ids.size()), word->embedding});
      cur_.ids.insert(cur_.ids.end(), static_cast<size_t>(word->vectors), 0);
      cur_.weights.insert(cur_.weights.end(), static_cast<size_t>(word->vectors), weight);
      pos += word->name_ids.size();
    }
  }

  bool pending() const { return !cur_.ids.empty(); }

 private:
  static const ChunkWord* match(const std::vector<int64_t>& tokens, size_t pos,
                                const std::vector<ChunkWord>& words) {
    for (const auto& w : words) {  // longest name first
      const size_t n = w.name_ids.size();
      if (n > 0 && pos + n <= tokens.size() &&
          std::equal(w.name_ids.begin(), w.name_ids.end(),
                     tokens.begin() + static_cast<ptrdiff_t>(pos))) {
        return &w;
      }
    }
    return nullptr;
  }

  const ChunkRules& rules_;
  ChunkedPrompt& out_;
  PromptChunk cur_;
  int64_t last_comma_ = -1;
};

}  // namespace

ChunkRules chunk_rules_for(const tokenizers::Tokenizer& tokenizer) {
  ChunkRules r;
  r.specials = tokenizer.special_ids();
  r.length = tokenizer.max_length() - (r.specials.begin >= 0 ? 2 : 1);
  PD_CHECK(r.length >= 1, Input,
           "tokenizer length " << tokenizer.max_length() << " leaves no room for a prompt");
  const auto comma = tokenizer.tokenize(",").ids;
  r.comma = comma.size() == 1 ? comma[0] : -1;
  return r;
}

ChunkedPrompt chunk_prompt(const std::vector<PromptFragment>& fragments,
                           const tokenizers::Tokenizer& tokenizer, const ChunkRules& rules,
                           std::vector<ChunkWord> words) {
  std::stable_sort(words.begin(), words.end(), [](const ChunkWord& a, const ChunkWord& b) {
    return a.name_ids.size() > b.name_ids.size();
  });
  for (const auto& w : words) {
    PD_CHECK(w.vectors >= 1 && w.vectors <= rules.length, Input,
             "a textual-inversion embedding has " << w.vectors << " vectors; at most "
                                                  << rules.length << " fit in a prompt chunk");
  }
  ChunkedPrompt out;
  Chunker chunker(rules, out);
  for (const auto& f : fragments) {
    if (f.is_break()) {
      chunker.close();
      continue;
    }
    const tokenizers::TokenSpan span = tokenizer.tokenize(f.text);
    out.tokens += static_cast<int64_t>(span.ids.size());
    out.unknown += span.num_unknown;
    chunker.add(span.ids, static_cast<float>(f.weight), words);
  }
  if (chunker.pending() || out.chunks.empty()) chunker.close();
  return out;
}

PromptChunk empty_chunk(const ChunkRules& rules) { return pack(PromptChunk(), rules); }

ChunkedPrompt plain_chunk(const std::string& prompt, const tokenizers::Tokenizer& tokenizer) {
  const tokenizers::TokenIds t = tokenizer.encode(prompt);
  ChunkedPrompt out;
  PromptChunk c;
  c.ids = t.ids;
  c.weights.assign(c.ids.size(), 1.0f);
  out.chunks.push_back(std::move(c));
  out.tokens = t.num_tokens;
  out.unknown = t.num_unknown;
  return out;
}

}  // namespace pangu_draw::text_encoders
