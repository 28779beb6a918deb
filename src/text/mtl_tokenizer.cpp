// Port of MTLTokenizer (chatterbox-tts 0.1.7 tokenizer.py) and its language steps. What is not
// ported and why is in docs/languages.md and in each language's preprocessing_status.
#include "text/mtl_tokenizer.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/error.h"
#include "text/japanese.h"
#include "text/unicode.h"

namespace chatterbox {
namespace {

constexpr char kExact[] = "exact (lower-case + NFKD, no language step)";

std::string read_file(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::kModelFile, path + ": cannot open " + what);
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw Error(ErrorKind::kIo, path + ": read failed");
  return buffer.str();
}

}  // namespace

std::string multilingual_language_code(const std::string& language) {
  if (language.empty()) return "";
  std::string code;
  try {
    code = encode_utf8(python_lower(decode_utf8(language)));
  } catch (const Error&) {
    code.clear();
  }
  for (const auto& l : multilingual_languages())
    if (code == l.code) return code;
  throw Error(ErrorKind::kInvalidInput,
              "unsupported language '" + language +
                  "' for the multilingual model; supported: " + multilingual_language_list());
}

namespace {

// korean_normalize: Hangul syllables to conjoining jamo with the reference's arithmetic over
// U+AC00..U+D7AF (the last 12 code points are not syllables; the formula still maps them), then
// str.strip(). After NFKD no syllable is left, so in practice only the strip changes text.
std::u32string korean_step(const std::u32string& text) {
  std::u32string out;
  out.reserve(text.size() * 3);
  for (char32_t c : text) {
    if (c < 0xAC00 || c > 0xD7AF) {
      out.push_back(c);
      continue;
    }
    const char32_t base = c - 0xAC00;
    out.push_back(0x1100 + base / (21 * 28));
    out.push_back(0x1161 + (base % (21 * 28)) / 28);
    if (base % 28) out.push_back(0x11A7 + base % 28);
  }
  size_t begin = 0, end = out.size();
  while (begin < end && is_python_space(out[begin])) ++begin;
  while (end > begin && is_python_space(out[end - 1])) --end;
  return out.substr(begin, end - begin);
}

// Cangjie5_TC.json: a JSON list of "glyph\tcode" strings -> glyph -> code letters + index suffix.
std::unordered_map<char32_t, std::string> parse_cangjie(const std::string& json_text,
                                                        const std::string& what) {
  auto bad = [&](const std::string& message) {
    throw Error(ErrorKind::kModelFile, what + ": " + message);
  };
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {
    bad(std::string("is not valid JSON (") + e.what() + ")");
  }
  if (!j.is_array()) bad("is not a JSON list of \"glyph\\tcode\" strings");
  // The reference's word2cj (last code of a glyph wins) and cj2word (every glyph of a code, in
  // file order; a glyph's index suffix is its first position there).
  std::unordered_map<std::u32string, std::u32string> word_code;
  std::unordered_map<std::u32string, std::vector<std::u32string>> code_words;
  for (const auto& entry : j) {
    if (!entry.is_string()) bad("entry " + entry.dump() + " is not a string");
    std::u32string line;
    try {
      line = decode_utf8(entry.get<std::string>());
    } catch (const Error&) {
      bad("entry is not valid UTF-8");
    }
    const size_t tab = line.find(U'\t');
    if (tab == std::u32string::npos)
      bad("entry " + entry.dump() + " has no tab between glyph and code");
    const size_t tab2 = line.find(U'\t', tab + 1);
    const std::u32string word = line.substr(0, tab);
    const std::u32string code =
        line.substr(tab + 1, tab2 == std::u32string::npos ? std::u32string::npos : tab2 - tab - 1);
    word_code[word] = code;
    code_words[code].push_back(word);
  }
  std::unordered_map<char32_t, std::string> table;
  for (const auto& [word, code] : word_code) {
    if (word.size() != 1) continue;  // looked up one character at a time: never matched
    const auto& words = code_words[code];
    size_t index = 0;
    while (words[index] != word) ++index;
    std::string suffix = index > 0 ? std::to_string(index) : "";
    std::string letters = encode_utf8(code) + suffix;
    table[word[0]] = std::move(letters);
  }
  return table;
}

}  // namespace

const std::vector<MultilingualLanguage>& multilingual_languages() {
  static const std::vector<MultilingualLanguage> kLanguages = {
      {"ar", "Arabic", kExact},
      {"da", "Danish", kExact},
      {"de", "German", kExact},
      {"el", "Greek", kExact},
      {"en", "English", kExact},
      {"es", "Spanish", kExact},
      {"fi", "Finnish", kExact},
      {"fr", "French", kExact},
      {"he", "Hebrew",
       "differs: no diacritics (the reference adds them with the optional dicta_onnx package, not "
       "ported; without it the reference passes Hebrew through unchanged, as here)"},
      {"hi", "Hindi", kExact},
      {"it", "Italian", kExact},
      {"ja", "Japanese",
       "differs: kanji readings from KAKASI instead of pykakasi (measured: 2.1% of sentences, "
       "0.06% of characters differ, see docs/languages.md); kanji unchanged in a build without "
       "KAKASI"},
      {"ko", "Korean", "exact (Hangul to conjoining jamo + strip)"},
      {"ms", "Malay", kExact},
      {"nl", "Dutch", kExact},
      {"no", "Norwegian", kExact},
      {"pl", "Polish", kExact},
      {"pt", "Portuguese", kExact},
      {"ru", "Russian",
       "differs: no stress marks (the reference adds them with the optional "
       "russian_text_stresser package, not ported; without it the reference passes Russian "
       "through unchanged, as here)"},
      {"sv", "Swedish", kExact},
      {"sw", "Swahili", kExact},
      {"tr", "Turkish", kExact},
      {"zh", "Chinese",
       "exact Cangjie codes with the model's Cangjie5_TC.json; no pkuseg word segmentation (the "
       "reference's spacy-pkuseg path, which adds spaces between words, is not ported)"},
  };
  return kLanguages;
}

bool is_multilingual_language(const std::string& code) {
  try {
    return !code.empty() && !multilingual_language_code(code).empty();
  } catch (const Error&) {
    return false;
  }
}

std::string multilingual_language_list() {
  std::string out;
  for (const auto& l : multilingual_languages())
    out += (out.empty() ? "" : ", ") + std::string(l.code);
  return out;
}

MtlTokenizer MtlTokenizer::from_files(const std::string& tokenizer_json,
                                      const std::string& cangjie_json) {
  MtlTokenizer tok(
      TextTokenizer::from_json_text(read_file(tokenizer_json, "tokenizer file"), tokenizer_json));
  if (!cangjie_json.empty())
    tok.cangjie_ = parse_cangjie(read_file(cangjie_json, "Cangjie table"), cangjie_json);
  return tok;
}

MtlTokenizer MtlTokenizer::from_json_text(const std::string& tokenizer_json_text,
                                          const std::string& cangjie_json_text,
                                          const std::string& what) {
  MtlTokenizer tok(TextTokenizer::from_json_text(tokenizer_json_text, what));
  if (!cangjie_json_text.empty())
    tok.cangjie_ = parse_cangjie(cangjie_json_text, what + " (Cangjie table)");
  return tok;
}

std::u32string MtlTokenizer::cangjie_step(const std::u32string& text) const {
  // Every "Lo" character with a code becomes [cj_<c>] per code character, then [cj_.].
  std::u32string out;
  out.reserve(text.size() * 4);
  for (char32_t c : text) {
    auto it = is_other_letter(c) ? cangjie_.find(c) : cangjie_.end();
    if (it == cangjie_.end()) {
      out.push_back(c);
      continue;
    }
    for (char32_t letter : decode_utf8(it->second)) {
      out += U"[cj_";
      out.push_back(letter);
      out += U"]";
    }
    out += U"[cj_.]";
  }
  return out;
}

std::string MtlTokenizer::after_lower_nfkd(const std::string& normalized) {
  return encode_utf8(nfkd(python_lower(decode_utf8(normalized))));
}

std::string MtlTokenizer::after_language_step(const std::string& lowered,
                                              const std::string& language) const {
  const std::string code = multilingual_language_code(language);
  const std::u32string text = decode_utf8(lowered);
  if (code == "zh") return encode_utf8(cangjie_step(text));
  if (code == "ja") return encode_utf8(nfkd(kanji_to_hiragana(text)));
  if (code == "ko") return encode_utf8(korean_step(text));
  return lowered;
}

std::string MtlTokenizer::tokenizer_input(const std::string& stepped, const std::string& language) {
  const std::string code = multilingual_language_code(language);
  std::string out = code.empty() ? "" : "[" + code + "]";
  out.reserve(stepped.size() * 2);
  for (char c : stepped) {
    if (c == ' ')
      out += "[SPACE]";
    else
      out.push_back(c);
  }
  return out;
}

std::vector<int64_t> MtlTokenizer::encode(const std::string& normalized,
                                          const std::string& language) const {
  const std::string code = multilingual_language_code(language);
  const std::string stepped = after_language_step(after_lower_nfkd(normalized), code);
  // TextTokenizer::encode does the " " -> [SPACE] replacement itself.
  return text_.encode((code.empty() ? "" : "[" + code + "]") + stepped);
}

std::vector<int64_t> MtlTokenizer::encode_for_t3(const std::string& normalized,
                                                 const std::string& language) const {
  return text_.wrap_for_t3(encode(normalized, language));
}

std::string MtlTokenizer::decode(const std::vector<int64_t>& ids) const {
  // HF decode without a decoder joins the tokens with " "; the reference then deletes every
  // " ", turns [SPACE] into " " and deletes [STOP] and [UNK] (string replacements, in order).
  std::string joined;
  for (int64_t id : ids) joined += text_.token(id);
  auto replace_all = [](std::string& s, const std::string& from, const std::string& to) {
    std::string out;
    size_t pos = 0, hit;
    while ((hit = s.find(from, pos)) != std::string::npos) {
      out.append(s, pos, hit - pos);
      out += to;
      pos = hit + from.size();
    }
    out.append(s, pos, std::string::npos);
    s = std::move(out);
  };
  replace_all(joined, " ", "");
  replace_all(joined, "[SPACE]", " ");
  replace_all(joined, "[STOP]", "");
  replace_all(joined, "[UNK]", "");
  return joined;
}

}  // namespace chatterbox
