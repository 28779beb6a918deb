// Sentence splitter: turns arbitrarily long text into utterances that T3 can take one at a time.
// (No Python counterpart: ChatterboxTTS.generate takes the whole text as one sequence, which
// breaks beyond T3's 2048 learned text positions and makes the first audio wait for everything.)
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/text_utterance.h"
#include "text/tokenizer.h"

namespace chatterbox {

// T3's learned text positions: 2050 rows = 2048 text tokens + [START] + [STOP].
constexpr int kMaxTextTokens = 2048;

// Splits raw (not yet normalised) `text` into utterances, one per sentence (the rules of
// text/sentence_rules.h). Each utterance is a substring of `text` with surrounding whitespace
// trimmed, in order, and satisfies
//   tokenizer.encode(punc_norm(utterance)).size() <= max_tokens
// (the ids without [START]/[STOP]). A sentence over the cap is cut at clause punctuation
// (, ; : dashes), then between words; a word is cut only if it alone exceeds the cap.
// Whitespace-only text gives no utterances. Throws Error(kInvalidInput) on invalid UTF-8 or a
// cap below 16 tokens.
std::vector<std::string> split_utterances(const std::string& text, const TextTokenizer& tokenizer,
                                          int max_tokens = kMaxTextTokens);

// The same for any model's text front end: `encode(utterance)` is the T3 text ids of a raw
// utterance after that model's normalisation (without any start/stop ids). Each utterance comes
// with the ids encode() gave for it, so nothing is tokenised twice.
using TextEncoder = std::function<std::vector<int64_t>(const std::string&)>;
std::vector<TextUtterance> split_utterances(const std::string& text, const TextEncoder& encode,
                                            int max_tokens = kMaxTextTokens);

}  // namespace chatterbox
