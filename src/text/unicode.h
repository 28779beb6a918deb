// Unicode helpers for the text front end: strict UTF-8 decoding and the few character classes
// that Python's str methods and the HF `tokenizers` regexes use. No ICU: the tables are generated
// from Python's unicodedata (gen_unicode_tables.py), because Python is what the reference ran.
#pragma once

#include <cstdint>
#include <string>

namespace chatterbox {

// Decodes UTF-8 strictly (no overlong forms, no surrogates, nothing above U+10FFFF, no truncated
// sequence). Throws Error(kInvalidInput) naming the byte offset of the first bad sequence:
// text comes from users and must never crash or silently change the engine.
std::u32string decode_utf8(const std::string& text);
std::string encode_utf8(const std::u32string& text);
void append_utf8(std::string& out, char32_t cp);

// \w of the Rust regex crate (Alphabetic, Mark, Nd, Pc, Join_Control).
bool is_word_char(char32_t cp);
// \s of the Rust regex crate (Unicode White_Space).
bool is_regex_space(char32_t cp);
// \p{L} and \p{N} of the GPT-2 pre-tokenizer regex as HF `tokenizers` runs it (Oniguruma,
// Unicode 16.0): general categories L* and N*.
bool is_letter(char32_t cp);
bool is_number(char32_t cp);
// unicodedata.category(cp) == "Lo" (Python's Unicode version, like the reference).
bool is_other_letter(char32_t cp);
// Python's str.isspace() / str.split() separators (White_Space plus U+001C..U+001F).
bool is_python_space(char32_t cp);
// Python's c.islower() -> c.upper() for one code point (full mapping, e.g. U+00DF -> "SS");
// returns the code point itself when Python would not change it.
std::u32string python_upper_if_lower(char32_t cp);
// Python's str.lower(): full lower-case mapping ("\u0130" -> "i\u0307") and the Final_Sigma
// rule for U+03A3 (capital sigma -> U+03C2 at the end of a cased word, U+03C3 otherwise).
std::u32string python_lower(const std::u32string& text);
// unicodedata.normalize("NFKD", text): compatibility decomposition, Hangul syllables to
// conjoining jamo, canonical ordering of combining marks.
std::u32string nfkd(const std::u32string& text);
// unicodedata.combining(cp): the canonical combining class (0 for starters).
int combining_class(char32_t cp);

}  // namespace chatterbox
