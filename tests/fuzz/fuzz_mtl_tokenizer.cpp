// Fuzz target: the multilingual text front end. Input = arbitrary bytes: the first byte picks a
// language (one of the 23, none, or an unsupported code), the rest is text for
// punc_norm_multilingual and MtlTokenizer::encode (with the oracle's tiny tokenizer and synthetic
// Cangjie table) and, when it starts with "[", a Cangjie table. Only chatterbox::Error may
// escape; ids must lie inside the vocabulary and the steps must agree with encode.
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "common/error.h"
#include "text/mtl_tokenizer.h"
#include "text/punc_norm.h"

namespace {

const std::string kTokenizerPath = std::string(ORACLE_MTL_DIR) + "/fixtures/mtl_tokenizer.json";

const chatterbox::MtlTokenizer& tokenizer() {
  static const auto tok = chatterbox::MtlTokenizer::from_files(
      kTokenizerPath, std::string(ORACLE_MTL_DIR) + "/fixtures/mtl_cangjie_synthetic.json");
  return tok;
}

const std::string& tokenizer_json() {
  static const std::string text = [] {
    std::ifstream in(kTokenizerPath, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }();
  return text;
}

}  // namespace

std::vector<std::string> fuzz_seeds() {
  return {
      "\x00Hello, World! How are you today?",
      "\x16\xe4\xbd\xa0\xe5\xa5\xbd\xef\xbc\x8c\xe4\xb8\x96\xe7\x95\x8c\xe3\x80\x82\xe6\x97\xa5\xe6"
      "\x9b\xb0",
      "\x0b\xe4\xbb\x8a\xe6\x97\xa5\xe3\x81\xaf\xe5\xa4\xa9\xe6\xb0\x97\xe3\x81\x8c\xe3\x81\x84\xe3"
      "\x81\x84"
      "\xe3\x81\xa7\xe3\x81\x99\xe3\x80\x82\xe3\x82\xab\xe3\x82\xbf\xe3\x82\xab\xe3\x83\x8a",
      "\x0c  \xed\x95\x9c\xea\xb5\xad\xec\x96\xb4 \xeb\xac\xb8\xec\x9e\xa5.  ",
      "\x03\xce\x9a\xce\xb1\xce\xbb\xce\xb7\xce\xbc\xce\xad\xcf\x81\xce\xb1 "
      "\xce\xa3\xce\x9f\xce\xa6\xce\x9f\xce\xa3;",
      "\x15G\xc3\xbcnayd\xc4\xb1n! \xc4\xb0stanbul'da \xef\xac\x81 \xc2\xbd",
      "\x30[\"\xe6\x97\xa5\\ta\", \"\xe6\x9b\xb0\\ta\"]",
  };
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const auto& langs = chatterbox::multilingual_languages();
  const size_t pick = data[0] % (langs.size() + 2);
  const std::string language = pick < langs.size()    ? langs[pick].code
                               : pick == langs.size() ? ""
                                                      : "xx";
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto& tok = tokenizer();
  try {
    const std::string norm = chatterbox::punc_norm_multilingual(text);
    const auto ids = tok.encode_for_t3(norm, language);
    for (int64_t id : ids)
      if (id < 0 || id >= tok.vocab_size()) std::abort();
    const std::string stepped =
        tok.after_language_step(chatterbox::MtlTokenizer::after_lower_nfkd(norm), language);
    const auto again =
        tok.text_tokenizer().encode(chatterbox::MtlTokenizer::tokenizer_input(stepped, language));
    if (again != std::vector<int64_t>(ids.begin() + 1, ids.end() - 1)) std::abort();
    (void)tok.decode(ids);
  } catch (const chatterbox::Error&) {
  }
  if (text.empty() || text[0] != '[') return 0;  // Cangjie tables are JSON lists
  try {
    const auto with_table =
        chatterbox::MtlTokenizer::from_json_text(tokenizer_json(), text, "fuzz table");
    (void)with_table.encode("\xe6\x97\xa5\xe6\x9b\xb0 \xe4\xb8\xad", "zh");
  } catch (const chatterbox::Error&) {
  }
  return 0;
}
