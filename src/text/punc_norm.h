// Port of chatterbox/tts.py punc_norm(): the clean-up applied to raw text before tokenisation
// (chatterbox-model.md §2.1). Must reproduce the Python function exactly, including its quirks
// (no second whitespace collapse, so "Wait... what" keeps two spaces).
#pragma once

#include <string>

namespace chatterbox {

// Throws Error(kInvalidInput) if `text` is not valid UTF-8.
std::string punc_norm(const std::string& text);

}  // namespace chatterbox
