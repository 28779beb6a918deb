#include "text/unicode.h"

#include <algorithm>

#include "common/error.h"

namespace chatterbox {
namespace {

struct CodeRange {
  char32_t first;
  char32_t last;
};
struct UpperMapping {
  char32_t lower;
  char32_t upper[3];
};
struct LowerMapping {
  char32_t upper;
  char32_t lower[2];
};
struct Decomposition {
  char32_t cp;
  uint16_t offset;  // into kDecompositionData
  uint8_t length;
};
struct CombiningClassRange {
  char32_t first;
  char32_t last;
  uint8_t ccc;
};

#include "text/unicode_tables.inc"

[[noreturn]] void bad_utf8(size_t offset, const char* why) {
  throw Error(ErrorKind::kInvalidInput, "text is not valid UTF-8: " + std::string(why) +
                                            " at byte " + std::to_string(offset));
}

}  // namespace

std::u32string decode_utf8(const std::string& text) {
  std::u32string out;
  out.reserve(text.size());
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char b0 = s[i];
    if (b0 < 0x80) {
      out.push_back(b0);
      ++i;
      continue;
    }
    size_t len;
    char32_t cp;
    char32_t min;
    if ((b0 & 0xE0) == 0xC0) {
      len = 2, cp = b0 & 0x1F, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
      len = 3, cp = b0 & 0x0F, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
      len = 4, cp = b0 & 0x07, min = 0x10000;
    } else {
      bad_utf8(i, "invalid lead byte");
    }
    if (i + len > n) bad_utf8(i, "truncated sequence");
    for (size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) bad_utf8(i, "invalid continuation byte");
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (cp < min) bad_utf8(i, "overlong encoding");
    if (cp > 0x10FFFF) bad_utf8(i, "code point above U+10FFFF");
    if (cp >= 0xD800 && cp <= 0xDFFF) bad_utf8(i, "encoded surrogate");
    out.push_back(cp);
    i += len;
  }
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string encode_utf8(const std::u32string& text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t cp : text) append_utf8(out, cp);
  return out;
}

namespace {

template <size_t N>
bool in_ranges(const CodeRange (&ranges)[N], char32_t cp) {
  auto it = std::upper_bound(std::begin(ranges), std::end(ranges), cp,
                             [](char32_t c, const CodeRange& r) { return c < r.first; });
  if (it == std::begin(ranges)) return false;
  --it;
  return cp <= it->last;
}

}  // namespace

bool is_word_char(char32_t cp) {
  if (cp < 0x80)
    return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9') ||
           cp == '_';
  return in_ranges(kWordRanges, cp);
}

bool is_letter(char32_t cp) {
  if (cp < 0x80) return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
  return in_ranges(kLetterRanges, cp);
}

bool is_number(char32_t cp) {
  if (cp < 0x80) return cp >= '0' && cp <= '9';
  return in_ranges(kNumberRanges, cp);
}

bool is_other_letter(char32_t cp) { return cp >= 0xAA && in_ranges(kOtherLetterRanges, cp); }

bool is_regex_space(char32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000;
}

bool is_python_space(char32_t cp) { return is_regex_space(cp) || (cp >= 0x1C && cp <= 0x1F); }

std::u32string python_upper_if_lower(char32_t cp) {
  auto it = std::lower_bound(std::begin(kUpperMap), std::end(kUpperMap), cp,
                             [](const UpperMapping& m, char32_t c) { return m.lower < c; });
  if (it == std::end(kUpperMap) || it->lower != cp) return std::u32string(1, cp);
  std::u32string out;
  for (char32_t u : it->upper)
    if (u) out.push_back(u);
  return out;
}

namespace {

template <typename T, size_t N>
const T* find_entry(const T (&table)[N], char32_t cp, char32_t T::*key) {
  auto it = std::lower_bound(std::begin(table), std::end(table), cp,
                             [key](const T& e, char32_t c) { return e.*key < c; });
  return it == std::end(table) || (*it).*key != cp ? nullptr : &*it;
}

enum class SigmaClass { kCaseIgnorable, kCased, kOther };

SigmaClass sigma_class(char32_t cp) {
  if (in_ranges(kCaseIgnorableRanges, cp)) return SigmaClass::kCaseIgnorable;
  if (in_ranges(kCasedRanges, cp)) return SigmaClass::kCased;
  return SigmaClass::kOther;
}

// CPython's handle_capital_sigma: final form when a cased character precedes (skipping
// case-ignorable ones) and none follows (likewise).
char32_t lower_sigma(const std::u32string& text, size_t i) {
  size_t j = i;
  SigmaClass before = SigmaClass::kOther;
  while (j > 0) {
    before = sigma_class(text[--j]);
    if (before != SigmaClass::kCaseIgnorable) break;
  }
  if (before != SigmaClass::kCased) return 0x3C3;
  for (size_t k = i + 1; k < text.size(); ++k) {
    const SigmaClass after = sigma_class(text[k]);
    if (after == SigmaClass::kCaseIgnorable) continue;
    return after == SigmaClass::kCased ? 0x3C3 : 0x3C2;
  }
  return 0x3C2;
}

// Hangul syllable arithmetic (Unicode ch. 3.12).
constexpr char32_t kHangulFirst = 0xAC00, kHangulLast = 0xD7A3;
constexpr char32_t kLeadFirst = 0x1100, kVowelFirst = 0x1161, kTrailBase = 0x11A7;
constexpr char32_t kVowelCount = 21, kTrailCount = 28;

}  // namespace

std::u32string python_lower(const std::u32string& text) {
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char32_t cp = text[i];
    if (cp < 0x80) {
      out.push_back(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
    } else if (cp == 0x3A3) {
      out.push_back(lower_sigma(text, i));
    } else if (const LowerMapping* m = find_entry(kLowerMap, cp, &LowerMapping::upper)) {
      out.push_back(m->lower[0]);
      if (m->lower[1]) out.push_back(m->lower[1]);
    } else {
      out.push_back(cp);
    }
  }
  return out;
}

int combining_class(char32_t cp) {
  if (cp < 0x300) return 0;
  auto it = std::upper_bound(std::begin(kCombiningClasses), std::end(kCombiningClasses), cp,
                             [](char32_t c, const CombiningClassRange& r) { return c < r.first; });
  if (it == std::begin(kCombiningClasses)) return 0;
  --it;
  return cp <= it->last ? it->ccc : 0;
}

std::u32string nfkd(const std::u32string& text) {
  std::u32string out;
  out.reserve(text.size() + text.size() / 4);
  for (char32_t cp : text) {
    if (cp < 0xA0) {
      out.push_back(cp);
    } else if (cp >= kHangulFirst && cp <= kHangulLast) {
      const char32_t s = cp - kHangulFirst;
      out.push_back(kLeadFirst + s / (kVowelCount * kTrailCount));
      out.push_back(kVowelFirst + (s % (kVowelCount * kTrailCount)) / kTrailCount);
      if (s % kTrailCount) out.push_back(kTrailBase + s % kTrailCount);
    } else if (const Decomposition* d = find_entry(kDecompositions, cp, &Decomposition::cp)) {
      out.append(kDecompositionData + d->offset, d->length);
    } else {
      out.push_back(cp);
    }
  }
  // Canonical ordering: each run of non-starters sorted stably by combining class (the
  // expansions are ordered already; marks can meet across character boundaries).
  size_t i = 0;
  while (i < out.size()) {
    if (combining_class(out[i]) == 0) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < out.size() && combining_class(out[end]) != 0) ++end;
    if (end - i > 1)
      std::stable_sort(out.begin() + static_cast<std::ptrdiff_t>(i),
                       out.begin() + static_cast<std::ptrdiff_t>(end), [](char32_t a, char32_t b) {
                         return combining_class(a) < combining_class(b);
                       });
    i = end;
  }
  return out;
}

}  // namespace chatterbox
