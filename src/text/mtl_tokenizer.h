// Port of chatterbox/models/tokenizers/tokenizer.py MTLTokenizer (chatterbox-tts 0.1.7), the text
// tokenizer of the 23-language model (docs/languages.md): lower-case + NFKD, the language's own
// step, the "[xx]" language token, " " -> [SPACE], then the grapheme BPE of
// grapheme_mtl_merged_expanded_v1.json (the same HF tokenizers format as the English
// tokenizer.json, encoded by TextTokenizer).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "text/tokenizer.h"

namespace chatterbox {

struct MultilingualLanguage {
  const char* code;                  // ISO 639-1, lower case
  const char* name;                  // English name, as the reference's SUPPORTED_LANGUAGES
  const char* preprocessing_status;  // how this port's language step compares to the reference
};

// The 23 languages of the multilingual model, in the reference's order (ISO 639-1 codes).
const std::vector<MultilingualLanguage>& multilingual_languages();
// Case-insensitive like the reference (Python str.lower of the code).
bool is_multilingual_language(const std::string& code);
// The code as the model uses it (Python str.lower of `code`; "" stays ""). Throws
// Error(kInvalidInput) for a code outside the 23, listing the supported ones.
std::string multilingual_language_code(const std::string& code);
// The supported codes as one "ar, da, ..." list, for error messages.
std::string multilingual_language_list();

class MtlTokenizer {
 public:
  // tokenizer_json: grapheme_mtl_merged_expanded_v1.json. cangjie_json: Cangjie5_TC.json (a JSON
  // list of "glyph\tcode" strings) or "" for none (then Chinese characters stay unchanged, as
  // the reference does when it cannot get the table). Throws Error(kModelFile) naming the file
  // that is missing or malformed.
  static MtlTokenizer from_files(const std::string& tokenizer_json,
                                 const std::string& cangjie_json);
  // The same from file contents; cangjie_json_text "" = no table. `what` prefixes error messages.
  static MtlTokenizer from_json_text(const std::string& tokenizer_json_text,
                                     const std::string& cangjie_json_text, const std::string& what);

  // Ids of `normalized` (punc_norm_multilingual output) in `language` ("" = no language token
  // and no language step). Throws Error(kInvalidInput) on invalid UTF-8 or an unsupported
  // language (the message lists the supported codes).
  std::vector<int64_t> encode(const std::string& normalized, const std::string& language) const;
  // The T3 text sequence: [START] + encode(...) + [STOP].
  std::vector<int64_t> encode_for_t3(const std::string& normalized,
                                     const std::string& language) const;
  // MTLTokenizer.decode: the tokens concatenated, [SPACE] -> " ", [STOP] and [UNK] dropped.
  std::string decode(const std::vector<int64_t>& ids) const;

  // The intermediate steps of encode, each from the previous one's output:
  // Python str.lower() then NFKD.
  static std::string after_lower_nfkd(const std::string& normalized);
  // The language step on after_lower_nfkd output (zh Cangjie codes, ja kanji readings + NFKD,
  // ko Hangul decomposition + strip; other languages unchanged).
  std::string after_language_step(const std::string& lowered, const std::string& language) const;
  // "[xx]" + step output with every " " replaced by "[SPACE]": the string the BPE encodes.
  static std::string tokenizer_input(const std::string& stepped, const std::string& language);

  int64_t start_id() const { return text_.start_id(); }
  int64_t stop_id() const { return text_.stop_id(); }
  int64_t vocab_size() const { return text_.vocab_size(); }
  const TextTokenizer& text_tokenizer() const { return text_; }
  // Number of glyphs in the Cangjie table (0 = none loaded).
  size_t cangjie_size() const { return cangjie_.size(); }

 private:
  explicit MtlTokenizer(TextTokenizer text) : text_(std::move(text)) {}
  std::u32string cangjie_step(const std::u32string& text) const;

  TextTokenizer text_;
  // glyph -> its code letters followed by the index suffix ("a", "a1", ...).
  std::unordered_map<char32_t, std::string> cangjie_;
};

}  // namespace chatterbox
