// Sentence splitter for long text (see splitter.h; no Python counterpart).
#include "text/splitter.h"

#include <algorithm>
#include <functional>
#include <map>

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
  Packer(const std::u32string& text, const TextEncoder& encode, size_t max_tokens,
         std::vector<TextUtterance>& out)
      : text_(text), encode_(encode), max_(max_tokens), out_(out) {}

  std::vector<int64_t> ids(Range r) const { return encode_(utf8(r)); }

  // Emits `r` whole if it fits, else cut at the finest level needed.
  void emit(Range r, int level) {
    r = trim(text_, r);
    if (r.end <= r.begin) return;
    std::vector<int64_t> r_ids = ids(r);
    if (r_ids.size() <= max_) {
      out_.push_back({utf8(r), std::move(r_ids), {}});
      return;
    }
    pack(pieces(r, level), level + 1);
  }

 private:
  std::string utf8(Range r) const { return encode_utf8(text_.substr(r.begin, r.end - r.begin)); }

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
  // proposes the chunk, an exact encoding of the joined text (punc_norm can change a few
  // tokens at the edges) confirms it, backing off by binary search. The ids of every joined
  // text that fitted are kept: the chunk emitted is one of them.
  void pack(const std::vector<Range>& p, int level) {
    std::vector<size_t> cost(p.size());
    for (size_t k = 0; k < p.size(); ++k) cost[k] = ids(trim(text_, p[k])).size() + 1;
    size_t i = 0;
    while (i < p.size()) {
      size_t j = i + 1, estimate = cost[i];
      while (j < p.size() && estimate + cost[j] <= max_) estimate += cost[j++];
      std::map<size_t, std::vector<int64_t>> fitted;  // end piece -> ids of p[i..end)
      auto fits = [&](size_t end) {
        std::vector<int64_t> e = ids(trim(text_, {p[i].begin, p[end - 1].end}));
        if (e.size() > max_) return false;
        fitted[end] = std::move(e);
        return true;
      };
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
      if (r.end > r.begin) out_.push_back({utf8(r), std::move(fitted.at(j)), {}});
      i = j;
    }
  }

  const std::u32string& text_;
  const TextEncoder& encode_;
  size_t max_;
  std::vector<TextUtterance>& out_;
};

}  // namespace

std::vector<std::string> split_utterances(const std::string& text, const TextTokenizer& tokenizer,
                                          int max_tokens) {
  std::vector<std::string> out;
  for (TextUtterance& u : split_utterances(
           text,
           [&tokenizer](const std::string& utterance) {
             return tokenizer.encode(punc_norm(utterance));
           },
           max_tokens))
    out.push_back(std::move(u.text));
  return out;
}

std::vector<TextUtterance> split_utterances(const std::string& text, const TextEncoder& encode,
                                            int max_tokens) {
  // punc_norm turns one character into at most a few tokens ("ß" -> "SS."), so 16 always
  // leaves room for a single code point.
  if (max_tokens < 16)
    throw Error(ErrorKind::kInvalidInput,
                "utterance token cap " + std::to_string(max_tokens) + " is below 16");
  const std::u32string s = decode_utf8(text);
  std::vector<TextUtterance> out;
  Packer packer(s, encode, static_cast<size_t>(max_tokens), out);
  for (const Range& r : sentence_ranges(s)) packer.emit(r, 0);
  return out;
}

}  // namespace chatterbox
