// Fuzz target: the text front end. Input = arbitrary bytes used as (1) text for punc_norm,
// the BPE encoder and the sentence splitter (cap from the first byte), and (2) a tokenizer.json
// for the reader. Only chatterbox::Error may escape; encode results must decode back to ids
// inside the vocabulary.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/error.h"
#include "test_model.h"
#include "text/punc_norm.h"
#include "text/splitter.h"
#include "text/tokenizer.h"

namespace {

const chatterbox::TextTokenizer& tokenizer() {
  static const auto tok = chatterbox::TextTokenizer::from_json_text(
      chatterbox::testmodel::tokenizer_json(), "generated tokenizer.json");
  return tok;
}

}  // namespace

std::vector<std::string> fuzz_seeds() {
  return {
      "Hello world. How are you?",
      "He said \xe2\x80\x9chi\xe2\x80\x9d \xe2\x80\x94 then \xe2\x80\x98left\xe2\x80\x99...",
      "[SPACE][START] caf\xc3\xa9 \xe6\xbc\xa2\xe5\xad\x97 \xf0\x9f\x98\x80 e\xcc\x81",
      "Dr. Smith; J. R. R. Tolkien: 3.14!\n\nNext paragraph\ttab",
      std::string("a\0b", 3),
      chatterbox::testmodel::tokenizer_json().substr(0, 4000),
      R"({"model":{"type":"BPE","vocab":{"[STOP]":0,"[UNK]":1,"[SPACE]":2,"[START]":3,"a":4,"b":5,"ab":6},)"
      R"("merges":["a b"],"unk_token":"[UNK]"},"added_tokens":[{"id":2,"content":"[SPACE]","rstrip":true}]})",
  };
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto& tok = tokenizer();
  try {
    const std::string norm = chatterbox::punc_norm(text);
    for (int64_t id : tok.wrap_for_t3(tok.encode(norm)))
      if (id < 0 || id >= tok.vocab_size()) std::abort();
  } catch (const chatterbox::Error&) {
  }
  try {
    const int cap = 16 + (size ? data[0] % 64 : 0);
    for (const auto& u : chatterbox::split_utterances(text, tok, cap))
      if (u.empty() || tok.encode(chatterbox::punc_norm(u)).size() > static_cast<size_t>(cap))
        std::abort();
  } catch (const chatterbox::Error&) {
  }
  try {
    auto t = chatterbox::TextTokenizer::from_json_text(text, "fuzz.json");
    (void)t.encode("Hello [SPACE] abab world");
  } catch (const chatterbox::Error&) {
  }
  return 0;
}
