// KAKASI has a C API with global state, EUC-JP in and out, and exit()s the process when its
// dictionary is missing: so calls are serialised, text goes through iconv, only runs of
// characters EUC-JP can hold are passed, and the dictionaries are checked before first use.
#include "text/japanese.h"

#include <cstdlib>
#include <mutex>
#include <vector>

#include "text/unicode.h"

#ifdef CHATTERBOX_HAVE_KAKASI
#include <iconv.h>
#include <unistd.h>
extern "C" {
#include <libkakasi.h>
}
#endif

namespace chatterbox {
namespace {

// The reference's is_kanji: U+4E00..U+9FFF (CJK Unified Ideographs only).
bool is_kanji(char32_t c) { return c >= 0x4E00 && c <= 0x9FFF; }

// Characters handed to KAKASI: kanji, the ideographic iteration / closing marks, hiragana,
// katakana, the prolonged sound mark and the kana iteration marks. The combining (semi-)voiced
// marks U+3099/U+309A that NFKD leaves are not among them: pykakasi sees them as separate
// characters too (so "食べる" after NFKD is read as "食へ" + U+3099 + "る" by both).
bool is_japanese_run_char(char32_t c) {
  return is_kanji(c) || (c >= 0x3005 && c <= 0x3007) || (c >= 0x3041 && c <= 0x3096) ||
         (c >= 0x309D && c <= 0x309E) || (c >= 0x30A1 && c <= 0x30FA) ||
         (c >= 0x30FC && c <= 0x30FE);
}

#ifdef CHATTERBOX_HAVE_KAKASI

std::mutex& kakasi_mutex() {
  static std::mutex m;
  return m;
}

// KAKASI's own look-up order: $NAMEPATH, $NAME, then the compiled-in path.
bool readable(const std::string& env, const char* fallback) {
  const char* path = std::getenv((env + "PATH").c_str());
  if (!path || !*path) path = std::getenv(env.c_str());
  return access(path && *path ? path : fallback, R_OK) == 0;
}

// iconv of a whole string; false when a character has no mapping.
bool convert(const char* to, const char* from, const std::string& in, std::string& out) {
  iconv_t cd = iconv_open(to, from);
  if (cd == reinterpret_cast<iconv_t>(-1)) return false;
  std::string buf(in.size() * 4 + 16, '\0');
  char* src = const_cast<char*>(in.data());
  size_t src_left = in.size();
  char* dst = buf.data();
  size_t dst_left = buf.size();
  const size_t rc = iconv(cd, &src, &src_left, &dst, &dst_left);
  iconv_close(cd);
  if (rc == static_cast<size_t>(-1) || src_left != 0) return false;
  out.assign(buf.data(), buf.size() - dst_left);
  return true;
}

// One KAKASI run with `options` (EUC-JP in and out) on `euc`. Caller holds kakasi_mutex().
std::string kakasi_run(std::vector<std::string> options, const std::string& euc) {
  options.insert(options.begin(), "kakasi");
  options.push_back("-ieuc");
  options.push_back("-oeuc");
  std::vector<char*> argv;
  for (auto& o : options) argv.push_back(o.data());
  kakasi_getopt_argv(static_cast<int>(argv.size()), argv.data());
  std::string input = euc;  // kakasi_do takes a mutable buffer
  char* result = kakasi_do(input.data());
  std::string out = result ? result : "";
  if (result) kakasi_free(result);
  return out;
}

// The -JH reading of one word. KAKASI 2.3.6 drops the reading of a kanji whose okurigana
// starts with a small tsu ("行った" -> "た", "間違って" -> "て"; pykakasi reads "いった",
// "まちがって"): such a word is read with a full-size tsu instead, which KAKASI handles, and the
// small one is put back into the kana tail.
bool read_word(const std::u32string& word, const std::string& word_euc, std::u32string& reading) {
  auto run_jh = [](const std::string& euc, std::u32string& out) {
    std::string utf8;
    if (!convert("UTF-8", "EUC-JP", kakasi_run({"-JH"}, euc), utf8)) return false;
    out = decode_utf8(utf8);
    return true;
  };
  size_t tsu = 1;
  while (tsu < word.size() && !(word[tsu] == U'\u3063' && is_kanji(word[tsu - 1]))) ++tsu;
  if (tsu < word.size()) {
    std::u32string full = word;
    full[tsu] = U'\u3064';
    const std::u32string tail = word.substr(tsu);       // starts with the small tsu
    const std::u32string full_tail = full.substr(tsu);  // the same with the full-size one
    std::string full_euc;
    std::u32string full_reading;
    if (convert("EUC-JP", "UTF-8", encode_utf8(full), full_euc) && run_jh(full_euc, full_reading) &&
        full_reading.size() >= full_tail.size() &&
        full_reading.compare(full_reading.size() - full_tail.size(), full_tail.size(), full_tail) ==
            0) {
      reading = full_reading.substr(0, full_reading.size() - full_tail.size());
      // Some entries carry the small tsu in the reading itself ("行" + t-row -> "いっ").
      if (!reading.empty() && reading.back() == U'\u3063') reading.pop_back();
      reading += tail;
      return true;
    }
  }
  return run_jh(word_euc, reading);
}

// A run of Japanese characters that contains kanji: KAKASI's word split (-w), then each word
// with kanji replaced by its reading (-JH), as pykakasi's chunks are.
std::u32string convert_run(const std::u32string& run) {
  std::string euc;
  if (!convert("EUC-JP", "UTF-8", encode_utf8(run), euc)) return run;
  std::lock_guard<std::mutex> lock(kakasi_mutex());
  std::string words_euc = kakasi_run({"-w"}, euc);
  std::vector<std::string> words;
  size_t start = 0;
  while (start <= words_euc.size()) {
    size_t space = words_euc.find(' ', start);
    if (space == std::string::npos) space = words_euc.size();
    if (space > start) words.push_back(words_euc.substr(start, space - start));
    start = space + 1;
  }
  std::u32string out;
  std::u32string rejoined;
  for (const auto& word_euc : words) {
    std::string word_utf8;
    if (!convert("UTF-8", "EUC-JP", word_euc, word_utf8)) return run;
    const std::u32string word = decode_utf8(word_utf8);
    rejoined += word;
    bool has_kanji = false;
    for (char32_t c : word) has_kanji |= is_kanji(c);
    if (!has_kanji) {
      out += word;
      continue;
    }
    std::u32string reading;
    if (!read_word(word, word_euc, reading)) return run;
    if (!reading.empty() && (reading[0] == U'\u306F' || reading[0] == U'\u3078'))
      out.push_back(U' ');
    out += reading;
  }
  // The split must cover the run exactly; anything else means KAKASI changed characters in a
  // way this wrapper does not understand: keep the run as it was.
  return rejoined == run ? out : run;
}

#endif  // CHATTERBOX_HAVE_KAKASI

}  // namespace

bool japanese_reading_available() {
#ifdef CHATTERBOX_HAVE_KAKASI
  static const bool available = readable("KANWADICT", "/usr/share/kakasi/kanwadict") &&
                                readable("ITAIJIDICT", "/usr/share/kakasi/itaijidict");
  return available;
#else
  return false;
#endif
}

std::u32string kanji_to_hiragana(const std::u32string& text) {
  if (!japanese_reading_available()) return text;
#ifdef CHATTERBOX_HAVE_KAKASI
  std::u32string out;
  out.reserve(text.size() * 2);
  size_t i = 0;
  while (i < text.size()) {
    if (!is_japanese_run_char(text[i])) {
      out.push_back(text[i++]);
      continue;
    }
    size_t end = i;
    bool has_kanji = false;
    for (; end < text.size() && is_japanese_run_char(text[end]); ++end)
      has_kanji |= is_kanji(text[end]);
    const std::u32string run = text.substr(i, end - i);
    out += has_kanji ? convert_run(run) : run;
    i = end;
  }
  return out;
#else
  return text;
#endif
}

}  // namespace chatterbox
