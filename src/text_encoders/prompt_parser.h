// prompt_parser.h: A1111's prompt emphasis syntax (stable-diffusion-webui's
// parse_prompt_attention): "(a)" x1.1, "[a]" /1.1, "(a:w)", nesting, "\(" "\)" "\[" "\]" "\\"
// escapes, BREAK; unclosed brackets are closed at the end, stray closers are text.
#pragma once

#include <string>
#include <vector>

namespace pangu_draw::text_encoders {

struct PromptFragment {
  std::string text;  // UTF-8
  double weight = 1.0;
  // A1111 marks BREAK as ("BREAK", -1); inside brackets the -1 is scaled and the word is text.
  bool is_break() const { return weight == -1.0 && text == "BREAK"; }
};

// The fragments of `prompt` with their weights, neighbours of equal weight merged; [("", 1)] for
// a prompt without text. Never fails on unbalanced brackets or weights that are not numbers
// ("(a:abc)" is the text "a:abc" at 1.1, as A1111 reads it); Error{Input} for a weight that
// A1111's own number pattern accepts but Python's float() refuses ("(a:1.2.3)", "(a:.)"), where
// A1111 fails too, and for text that is not valid UTF-8.
std::vector<PromptFragment> parse_prompt_attention(const std::string& prompt);

}  // namespace pangu_draw::text_encoders
