// Fuzz target: the Turbo text front end. Input = arbitrary bytes used as (1) text for
// punc_norm_turbo and the GPT-2 encoder (ids inside the vocabulary, at most model_max_length of
// them, and decode(encode(text)) == text: byte-level BPE loses nothing), (2) pairs of bytes read as
// ids for decode (always valid UTF-8 out), and (3) one of the five tokenizer files, chosen by the
// first byte, for the directory reader. Only chatterbox::Error may escape.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/error.h"
#include "text/gpt2_tokenizer.h"
#include "text/punc_norm.h"
#include "text/unicode.h"

namespace {

const std::string kTokenizerDir = std::string(UNIT_DATA_DIR) + "/turbo_tokenizer";

std::string read_file(const std::string& path) {
  std::string out;
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    char buffer[4096];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) out.append(buffer, n);
    std::fclose(f);
  }
  return out;
}

const chatterbox::Gpt2TokenizerFiles& files() {
  static const chatterbox::Gpt2TokenizerFiles f = {
      read_file(kTokenizerDir + "/vocab.json"), read_file(kTokenizerDir + "/merges.txt"),
      read_file(kTokenizerDir + "/added_tokens.json"),
      read_file(kTokenizerDir + "/special_tokens_map.json"),
      read_file(kTokenizerDir + "/tokenizer_config.json")};
  return f;
}

const chatterbox::Gpt2Tokenizer& tokenizer() {
  static const auto tok = chatterbox::Gpt2Tokenizer::from_texts(files(), "turbo_tokenizer");
  return tok;
}

}  // namespace

std::vector<std::string> fuzz_seeds() {
  return {
      "Hello world. How are you?",
      "hi[laugh]there [clear throat] <|endoftext|>[sigh] don't we've they'll",
      "caf\xc3\xa9 \xe6\xbc\xa2\xe5\xad\x97 \xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9 e\xcc\x81 "
      "\xd9\xa3 \xc2\xbd",
      "tabs\tand\xc2\xa0nbsp   runs \n\n end  ",
      "Well\xe2\x80\xa6 ok: 9:30 \xe2\x80\x94 \xe2\x80\x9cquoted\xe2\x80\x9d",
      std::string("a\0b", 3),
      files().added_tokens_json,
      files().tokenizer_config_json,
      files().merges_txt.substr(0, 600),
  };
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto& tok = tokenizer();
  try {
    const auto ids = tok.encode(chatterbox::punc_norm_turbo(text));
    if (static_cast<int64_t>(ids.size()) > tok.model_max_length()) std::abort();
    for (int64_t id : ids)
      if (id < 0 || id >= tok.vocab_size()) std::abort();
    if (tok.decode(tok.encode_untruncated(text)) != text) std::abort();
  } catch (const chatterbox::Error&) {
  }
  {
    std::vector<int64_t> ids;
    for (size_t i = 0; i + 1 < size; i += 2)
      ids.push_back(static_cast<int64_t>(data[i] | (data[i + 1] << 8)) % 1100 - 20);
    try {
      (void)chatterbox::decode_utf8(tok.decode(ids, size % 2 == 1));
    } catch (const chatterbox::Error&) {
      std::abort();  // decode must always produce valid UTF-8
    }
  }
  try {
    auto f = files();
    std::string* slots[] = {&f.vocab_json, &f.merges_txt, &f.added_tokens_json,
                            &f.special_tokens_map_json, &f.tokenizer_config_json};
    *slots[size ? data[0] % 5 : 0] = text;
    auto t = chatterbox::Gpt2Tokenizer::from_texts(f, "fuzz");
    for (int64_t id : t.encode("Hello [laugh] <|endoftext|> w\xc3\xb6rld 42"))
      if (id < 0 || id >= t.vocab_size()) std::abort();
  } catch (const chatterbox::Error&) {
  }
  return 0;
}
