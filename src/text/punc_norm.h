// Port of chatterbox/tts.py punc_norm(): the clean-up applied to raw text before tokenisation
// (docs/model.md §3.1 punc_norm). Must reproduce the Python function exactly, including quirks
// (no second whitespace collapse, so "Wait... what" keeps two spaces).
#pragma once

#include <string>

namespace chatterbox {

// Throws Error(kInvalidInput) if `text` is not valid UTF-8.
std::string punc_norm(const std::string& text);

}  // namespace chatterbox
