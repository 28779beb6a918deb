// Sentence rules shared by the element's text framing and the splitter (see sentence_rules.h).
#include "text/sentence_rules.h"

#include <cctype>

#include "text/unicode.h"

namespace chatterbox {
namespace {

// Full-width terminators: CJK text puts no space after a sentence.
bool is_wide_terminator(char32_t c) {
  return c == U'\u3002' || c == U'\uFF01' || c == U'\uFF1F' || c == U'\uFF0E' || c == U'\uFF61';
}

bool is_closer(char32_t c) {
  switch (c) {
    case U'"':
    case U'\'':
    case U')':
    case U']':
    case U'}':
    case U'\u2019':  // ’
    case U'\u201D':  // ”
    case U'\u00BB':  // »
    case U'\u3009':  // 〉
    case U'\u300B':  // 》
    case U'\u300D':  // 」
    case U'\u300F':  // 』
    case U'\u3011':  // 】
    case U'\u3015':  // 〕
    case U'\uFF09':  // ）
    case U'\uFF3D':  // ］
    case U'\uFF5D':  // ｝
    case U'\uFF63':  // ｣
      return true;
    default:
      return false;
  }
}

// Opening marks stripped from a word before the abbreviation test ("(Dr." is "Dr").
bool is_opener(char32_t c) {
  return c == U'(' || c == U'[' || c == U'{' || c == U'"' || c == U'\'' || c == U'\u201C' ||
         c == U'\u2018' || c == U'\u00AB';
}

// A "." after `word` does not end a sentence ("Dr. Smith", "e.g. this", "J. R. R. Tolkien").
bool is_abbreviation(const std::u32string& word) {
  static const char* const kAbbreviations[] = {
      "mr", "mrs", "ms",     "dr",  "prof", "st", "jr",  "sr",  "vs", "etc", "no",
      "mt", "fig", "approx", "inc", "ltd",  "co", "gen", "col", "lt", "sgt", "rev"};
  if (word.empty()) return false;
  std::string lower;
  for (char32_t c : word) {
    if (c >= 0x80) return false;
    lower.push_back(static_cast<char>(std::tolower(static_cast<int>(c))));
  }
  if (word.size() == 1) return std::isupper(static_cast<int>(word[0]));  // an initial
  // Dotted abbreviations: letters in groups of one or two ("p.m", "U.S", "Ph.D"), not a
  // number ("3.50") or a domain name ("example.com").
  if (lower.find('.') != std::string::npos) {
    size_t group = 0;
    for (char c : lower) {
      if (c == '.') {
        if (group == 0) return false;
        group = 0;
      } else if (!std::isalpha(static_cast<unsigned char>(c)) || ++group > 2) {
        return false;
      }
    }
    return group > 0;
  }
  for (const char* a : kAbbreviations)
    if (lower == a) return true;
  return false;
}

bool is_sentence_terminator(char32_t c) {
  return c == U'.' || c == U'!' || c == U'?' || c == U'\u2026' || is_wide_terminator(c) ||
         c == U'\u0964' || c == U'\u0965' ||  // Devanagari danda, double danda
         c == U'\u061F' || c == U'\u06D4';    // Arabic question mark, Arabic full stop
}

// The offsets in `s` just past each sentence end, increasing.
std::vector<size_t> sentence_ends(const std::u32string& s) {
  std::vector<size_t> ends;
  const size_t n = s.size();
  size_t last_end = 0;
  auto end_at = [&](size_t at) {
    ends.push_back(at);
    last_end = at;
  };
  size_t i = 0;
  while (i < n) {
    if (is_python_space(s[i])) {
      // One whitespace run at a time (linear however many newlines it holds).
      size_t j = i, newlines = 0;
      bool paragraph = false;
      for (; j < n && is_python_space(s[j]); ++j) {
        newlines += s[j] == U'\n';
        paragraph |= s[j] == U'\u2029';
      }
      if (newlines >= 2 || paragraph || (newlines == 1 && j == n)) end_at(j);
      i = j;
      continue;
    }
    if (!is_sentence_terminator(s[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < n && is_sentence_terminator(s[j])) ++j;
    const bool wide = is_wide_terminator(s[j - 1]);
    while (j < n && is_closer(s[j])) ++j;
    bool boundary = j == n || is_python_space(s[j]) || wide;
    if (boundary && s[i] == U'.' && j == i + 1 && j < n) {
      size_t more = j;  // the next non-space: an abbreviation holds only when text follows
      while (more < n && is_python_space(s[more])) ++more;
      if (more < n) {
        size_t w = i;
        while (w > last_end && !is_python_space(s[w - 1])) --w;
        while (w < i && is_opener(s[w])) ++w;
        boundary = !is_abbreviation(s.substr(w, i - w));
      }
    }
    if (boundary) end_at(j);
    i = j;
  }
  return ends;
}

}  // namespace

bool is_clause_mark(char32_t c) {
  return c == U',' || c == U';' || c == U':' || c == U'\u2014' || c == U'\u2013' || c == U'-' ||
         c == U'\u3001' || c == U'\uFF0C' || c == U'\u060C';
}

std::vector<TextRange> sentence_ranges(const std::u32string& s) {
  std::vector<TextRange> out;
  std::vector<size_t> ends = sentence_ends(s);
  ends.push_back(s.size());
  size_t begin = 0;
  for (size_t end : ends) {
    TextRange r{begin, end};
    while (r.begin < r.end && is_python_space(s[r.begin])) ++r.begin;
    while (r.end > r.begin && is_python_space(s[r.end - 1])) --r.end;
    if (r.end > r.begin) out.push_back(r);
    begin = end;
  }
  return out;
}

size_t last_sentence_end(const std::string& text) {
  const std::u32string s = decode_utf8(text);
  const std::vector<size_t> ends = sentence_ends(s);
  if (ends.empty()) return 0;
  std::string prefix;
  for (size_t k = 0; k < ends.back(); ++k) append_utf8(prefix, s[k]);
  return prefix.size();
}

}  // namespace chatterbox
