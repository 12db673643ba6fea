// text_fix.h: ftfy.fix_text(text) with ftfy's default configuration (ftfy 6.3.1), the first step of
// openai CLIP's tokenizer (basic_clean) and of transformers' CLIPTokenizer when ftfy is installed,
// over code points; each fix is exposed for tests, and NFC (text_fix_nfc.cpp).
#pragma once

#include <string>

namespace pangu_draw::tokenizers::text_fix {

// ftfy.fix_text(text): the text is cut after each '\n' (and every 1,000,000 code points) into
// segments; in each, these fixes run in ftfy's order, repeated until none changes anything:
// unescape_html, fix_c1_controls, fix_latin_ligatures, fix_character_width, uncurl_quotes,
// fix_line_breaks, remove_terminal_escapes, remove_control_chars, to_nfc. As in ftfy, from the
// first segment that holds a '<' on (that text looks like HTML), unescape_html is skipped.
// Left out, as prompts do not need them (tests/tokenizers/data/README.md):
// - fix_encoding (mojibake repair: text that was UTF-8 decoded as latin-1 / windows-125x / ...,
//   found by ftfy's badness heuristic, e.g. "cafÃ©" -> "café"): no prompt of the corpora changes.
// - fix_surrogates: valid UTF-8 holds no surrogates, and numeric references to them become
//   U+FFFD, so it never applies here.
std::u32string fix_text(const std::u32string& text);

// ftfy's unescape_html: each &#?[0-9A-Za-z]{1,24}; that is an HTML5 name ending in ';' (or the
// upper-case spelling of a lower-case one, &EACUTE;), or a numeric reference html.unescape()
// decodes whole; anything else (&amp without ';', &unknown;) is left as it is.
std::u32string unescape_html(const std::u32string& text);
// U+0080..U+009F -> their windows-1252 characters (U+0080 -> U+20AC); the five holes stay.
std::u32string fix_c1_controls(const std::u32string& text);
// The Latin ligatures and digraphs ftfy splits (U+FB01 -> "fi", U+01C6 -> "dž", U+0149 -> "ʼn").
std::u32string fix_latin_ligatures(const std::u32string& text);
// Full-width and half-width forms (U+FF01..U+FFEF) -> their NFKC form; U+3000 -> ' '.
std::u32string fix_character_width(const std::u32string& text);
// U+02BC, U+2018..U+201B -> '\''; U+201C..U+201F -> '"'.
std::u32string uncurl_quotes(const std::u32string& text);
// "\r\n", '\r', U+2028, U+2029, U+0085 -> '\n'.
std::u32string fix_line_breaks(const std::u32string& text);
// ANSI escapes: ESC '[' (decimal digits | ';')* ASCII-letter are removed.
std::u32string remove_terminal_escapes(const std::u32string& text);
// U+0000..U+0008, U+000B, U+000E..U+001F, U+007F, U+206A..U+206F, U+FEFF, U+FFF9..U+FFFC removed.
std::u32string remove_control_chars(const std::u32string& text);
// unicodedata.normalize("NFC", text): canonical decomposition, then canonical composition.
std::u32string to_nfc(const std::u32string& text);

}  // namespace pangu_draw::tokenizers::text_fix
