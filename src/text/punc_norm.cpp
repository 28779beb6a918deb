// Ports of punc_norm() in chatterbox/tts.py (English ChatterboxTTS), tts_turbo.py (Turbo) and
// mtl_tts.py (multilingual).
#include "text/punc_norm.h"

#include <utility>
#include <vector>

#include "text/unicode.h"

namespace chatterbox {
namespace {

void replace_all(std::u32string& s, const std::u32string& from, const std::u32string& to) {
  // Python str.replace: non-overlapping, left to right, the result is not re-scanned.
  std::u32string out;
  size_t pos = 0;
  while (true) {
    size_t hit = s.find(from, pos);
    if (hit == std::u32string::npos) break;
    out.append(s, pos, hit - pos);
    out += to;
    pos = hit + from.size();
  }
  if (pos == 0) return;
  out.append(s, pos, std::u32string::npos);
  s = std::move(out);
}

using Replacements = std::vector<std::pair<std::u32string, std::u32string>>;

// The shared shape of the punc_norm functions: empty-text sentence, first-letter capitalisation,
// whitespace collapse, the replacement list in order, final full stop unless the text ends with
// one of `enders`.
std::string normalize(const std::string& text, const Replacements& replacements,
                      const std::u32string& enders = U".!?-,") {
  std::u32string s = decode_utf8(text);
  if (s.empty()) return "You need to add some text for me to talk.";

  // Capitalise the first character (Python: text[0].islower() -> text[0].upper()). This runs
  // before the whitespace collapse, so a leading space keeps the next letter lowercase.
  s = python_upper_if_lower(s[0]) + s.substr(1);

  // " ".join(text.split()): split on runs of Python whitespace, drop empty pieces.
  {
    std::u32string joined;
    size_t i = 0;
    while (i < s.size()) {
      while (i < s.size() && is_python_space(s[i])) ++i;
      size_t start = i;
      while (i < s.size() && !is_python_space(s[i])) ++i;
      if (i > start) {
        if (!joined.empty()) joined.push_back(U' ');
        joined.append(s, start, i - start);
      }
    }
    s = std::move(joined);
  }

  for (const auto& [from, to] : replacements) replace_all(s, from, to);

  // text.rstrip(" ") then append "." unless it ends with sentence punctuation.
  while (!s.empty() && s.back() == U' ') s.pop_back();
  if (s.empty() || enders.find(s.back()) == std::u32string::npos) s.push_back(U'.');
  return encode_utf8(s);
}

const Replacements& english_replacements() {
  static const Replacements kReplacements = {
      {U"...", U", "},    {U"\u2026", U", "}, {U":", U","},      {U" - ", U", "},
      {U";", U", "},      {U"\u2014", U"-"},  {U"\u2013", U"-"}, {U" ,", U","},
      {U"\u201C", U"\""}, {U"\u201D", U"\""}, {U"\u2018", U"'"}, {U"\u2019", U"'"},
  };
  return kReplacements;
}

}  // namespace

std::string punc_norm(const std::string& text) { return normalize(text, english_replacements()); }

std::string punc_norm_multilingual(const std::string& text) {
  // The English replacements; the ideographic comma, full-width comma / question / exclamation
  // mark and the ideographic full stop also end a sentence.
  return normalize(text, english_replacements(), U".!?-,\u3001\uFF0C\u3002\uFF1F\uFF01");
}

std::string punc_norm_turbo(const std::string& text) {
  // The English list without "...", " - " and ";". The whitespace collapse runs before the
  // replacements, so "Well\u2026 ok" keeps the double space: "Well,  ok.".
  static const Replacements kReplacements = {
      {U"\u2026", U", "}, {U":", U","},       {U"\u2014", U"-"}, {U"\u2013", U"-"}, {U" ,", U","},
      {U"\u201C", U"\""}, {U"\u201D", U"\""}, {U"\u2018", U"'"}, {U"\u2019", U"'"},
  };
  return normalize(text, kReplacements);
}

}  // namespace chatterbox
