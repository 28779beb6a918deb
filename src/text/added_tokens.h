// Splitting text at a tokenizer's added tokens (HF tokenizers' AddedVocabulary), shared by the
// tokenizer.json tokenizer and the GPT-2 one: at each position the first token in list order
// whose content starts there matches; a token with lstrip/rstrip takes the regex spaces beside it
// (never across the previous match or past `end`).
#pragma once

#include <string>
#include <vector>

#include "text/unicode.h"

namespace chatterbox {

// Token: has `content` (std::u32string), `lstrip`, `rstrip`. Calls on_text(b, e) for each stretch
// of text[begin, end) between matches (possibly empty; the last one always) and on_token(token)
// for each match, in text order. `accept(token)` filters which tokens may match.
template <typename Token, typename Accept, typename OnText, typename OnToken>
void split_at_added_tokens(const std::u32string& text, size_t begin, size_t end,
                           const std::vector<Token>& tokens, const Accept& accept,
                           const OnText& on_text, const OnToken& on_token) {
  size_t segment_start = begin;
  size_t i = begin;
  while (i < end) {
    const Token* hit = nullptr;
    for (const Token& t : tokens) {
      if (accept(t) && t.content[0] == text[i] && t.content.size() <= end - i &&
          text.compare(i, t.content.size(), t.content) == 0) {
        hit = &t;
        break;
      }
    }
    if (!hit) {
      ++i;
      continue;
    }
    size_t match_begin = i, match_end = i + hit->content.size();
    if (hit->lstrip)
      while (match_begin > segment_start && is_regex_space(text[match_begin - 1])) --match_begin;
    if (hit->rstrip)
      while (match_end < end && is_regex_space(text[match_end])) ++match_end;
    on_text(segment_start, match_begin);
    on_token(*hit);
    segment_start = i = match_end;
  }
  on_text(segment_start, end);
}

}  // namespace chatterbox
