// Port of chatterbox/models/tokenizers/tokenizer.py EnTokenizer: the English grapheme BPE text
// tokenizer read from the model's tokenizer.json (HF `tokenizers` format), re-implemented with
// the HF encode semantics in docs/model.md §3.2 English tokenizer (no Rust library needed):
//   spaces -> "[SPACE]"; added tokens matched first (leftmost-longest); the rest pre-tokenised
//   by Whitespace (\w+ | [^\w\s]+); each piece BPE-merged by merge rank; unknown characters ->
//   [UNK]; no normaliser, no post-processor.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "text/bpe_merges.h"

namespace chatterbox {

class TextTokenizer {
 public:
  // Reads a tokenizer.json. Throws Error(kModelFile) naming the file and what is wrong (not BPE,
  // a merge whose parts or result are not in the vocabulary, [START]/[STOP] missing, ...).
  static TextTokenizer from_file(const std::string& path);
  // The same from the JSON text; `what` names the source in error messages.
  static TextTokenizer from_json_text(const std::string& json_text, const std::string& what);

  // Ids of `normalized` (punc_norm output), without start/stop. Throws Error(kInvalidInput) on
  // invalid UTF-8.
  std::vector<int64_t> encode(const std::string& normalized) const;
  // The T3 text sequence: [START] + ids + [STOP]  ([n + 2]).
  std::vector<int64_t> wrap_for_t3(std::vector<int64_t> ids) const;
  // Concatenated token strings ([SPACE] shown as " "); for logs and tests.
  std::string decode(const std::vector<int64_t>& ids) const;
  // The vocabulary string of `id` ("" for an id no token has).
  std::string token(int64_t id) const;

  int64_t start_id() const { return start_id_; }  // [START], T3 start_text_token (255)
  int64_t stop_id() const { return stop_id_; }    // [STOP], T3 stop_text_token (0)
  int64_t unk_id() const { return unk_id_; }      // [UNK]
  int64_t space_id() const { return space_id_; }  // [SPACE]
  // One more than the largest id (704 for the English model; must fit T3's text_emb rows).
  int64_t vocab_size() const { return vocab_size_; }

 private:
  struct AddedToken {
    std::u32string content;
    int64_t id;
    bool lstrip;
    bool rstrip;
  };
  void encode_piece(const std::u32string& text, size_t begin, size_t end,
                    std::vector<int64_t>& out) const;
  void encode_word(const std::u32string& text, size_t begin, size_t end,
                   std::vector<int64_t>& out) const;

  std::unordered_map<std::u32string, int64_t> vocab_;
  std::unordered_map<char32_t, int64_t> char_ids_;  // single-character vocab entries
  BpeMerges merges_;
  std::vector<AddedToken> added_;  // sorted longest first
  std::vector<std::string> id_to_token_;
  int64_t start_id_ = -1, stop_id_ = -1, unk_id_ = -1, space_id_ = -1;
  int64_t vocab_size_ = 0;
};

}  // namespace chatterbox
