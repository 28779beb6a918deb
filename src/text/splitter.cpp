// Sentence splitter for long text (see splitter.h; no Python counterpart).
#include "text/splitter.h"

#include <algorithm>
#include <functional>

#include "common/error.h"
#include "text/punc_norm.h"
#include "text/sentence_rules.h"
#include "text/unicode.h"

namespace chatterbox {
namespace {

using Range = TextRange;

Range trim(const std::u32string& s, Range r) {
  while (r.begin < r.end && is_python_space(s[r.begin])) ++r.begin;
  while (r.end > r.begin && is_python_space(s[r.end - 1])) --r.end;
  return r;
}

class Packer {
 public:
  Packer(const std::u32string& text, const TextTokenCounter& count_tokens, size_t max_tokens,
         std::vector<std::string>& out)
      : text_(text), count_tokens_(count_tokens), max_(max_tokens), out_(out) {}

  size_t count(Range r) const { return count_tokens_(encode_utf8(text_.substr(r.begin, r.end - r.begin))); }

  // Emits `r` whole if it fits, else cut at the finest level needed.
  void emit(Range r, int level) {
    r = trim(text_, r);
    if (r.end <= r.begin) return;
    if (count(r) <= max_) {
      out_.push_back(encode_utf8(text_.substr(r.begin, r.end - r.begin)));
      return;
    }
    pack(pieces(r, level), level + 1);
  }

 private:
  // Sub-pieces of `r` one level finer: 0 -> clauses, 1 -> words, 2+ -> code points.
  std::vector<Range> pieces(Range r, int level) const {
    std::vector<Range> out;
    size_t start = r.begin;
    for (size_t i = r.begin; i < r.end; ++i) {
      bool cut_after = false;
      if (level == 0)
        cut_after = is_clause_mark(text_[i]) && i + 1 < r.end && is_python_space(text_[i + 1]);
      else if (level == 1)
        cut_after = !is_python_space(text_[i]) && i + 1 < r.end && is_python_space(text_[i + 1]);
      else
        cut_after = true;
      if (cut_after) {
        out.push_back({start, i + 1});
        start = i + 1;
      }
    }
    if (start < r.end) out.push_back({start, r.end});
    return out;
  }

  // Greedily joins consecutive pieces into chunks under the cap. A cheap per-piece estimate
  // proposes the chunk, an exact count of the joined text (punc_norm can change a few tokens
  // at the edges) confirms it, backing off by binary search.
  void pack(const std::vector<Range>& p, int level) {
    std::vector<size_t> cost(p.size());
    for (size_t k = 0; k < p.size(); ++k) cost[k] = count(trim(text_, p[k])) + 1;
    size_t i = 0;
    while (i < p.size()) {
      size_t j = i + 1, estimate = cost[i];
      while (j < p.size() && estimate + cost[j] <= max_) estimate += cost[j++];
      auto fits = [&](size_t end) { return count(trim(text_, {p[i].begin, p[end - 1].end})) <= max_; };
      if (!fits(j)) {
        size_t lo = i + 1, hi = j;  // fits(lo) unknown, !fits(hi)
        if (!fits(lo)) {
          emit(p[i], level);  // a single piece over the cap: cut it finer
          i = i + 1;
          continue;
        }
        while (hi - lo > 1) {
          const size_t mid = lo + (hi - lo) / 2;
          (fits(mid) ? lo : hi) = mid;
        }
        j = lo;
      }
      Range r = trim(text_, {p[i].begin, p[j - 1].end});
      if (r.end > r.begin) out_.push_back(encode_utf8(text_.substr(r.begin, r.end - r.begin)));
      i = j;
    }
  }

  const std::u32string& text_;
  const TextTokenCounter& count_tokens_;
  size_t max_;
  std::vector<std::string>& out_;
};

}  // namespace

std::vector<std::string> split_utterances(const std::string& text, const TextTokenizer& tokenizer,
                                          int max_tokens) {
  return split_utterances(
      text, [&tokenizer](const std::string& utterance) { return tokenizer.encode(punc_norm(utterance)).size(); },
      max_tokens);
}

std::vector<std::string> split_utterances(const std::string& text, const TextTokenCounter& count_tokens,
                                          int max_tokens) {
  // punc_norm turns one character into at most a few tokens ("ß" -> "SS."), so 16 always
  // leaves room for a single code point.
  if (max_tokens < 16)
    throw Error(ErrorKind::kInvalidInput, "utterance token cap " + std::to_string(max_tokens) + " is below 16");
  const std::u32string s = decode_utf8(text);
  std::vector<std::string> out;
  Packer packer(s, count_tokens, static_cast<size_t>(max_tokens), out);
  for (const Range& r : sentence_ranges(s)) packer.emit(r, 0);
  return out;
}

}  // namespace chatterbox
