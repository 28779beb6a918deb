// Port of chatterbox/tts.py punc_norm(): the clean-up applied to raw text before tokenisation
// (docs/model.md §3.1 punc_norm). Must reproduce the Python function exactly, including quirks
// (no second whitespace collapse, so "Wait... what" keeps two spaces).
#pragma once

#include <string>

namespace chatterbox {

// Throws Error(kInvalidInput) if `text` is not valid UTF-8.
std::string punc_norm(const std::string& text);

// Port of chatterbox/tts_turbo.py punc_norm(): the same steps with a shorter replacement list
// ("\u2026", ":", dashes, " ,", curly quotes; no "...", " - " or ";"), quirks included ("9:30" ->
// "9,30", "Well\u2026 ok" -> "Well,  ok.", "   " -> "."). Throws Error(kInvalidInput) on invalid
// UTF-8.
std::string punc_norm_turbo(const std::string& text);

// Port of chatterbox/mtl_tts.py punc_norm() (multilingual model): the English steps, and the CJK
// sentence enders U+3001 U+FF0C U+3002 U+FF1F U+FF01 also suppress the final ".". Throws
// Error(kInvalidInput) on invalid UTF-8.
std::string punc_norm_multilingual(const std::string& text);

}  // namespace chatterbox
