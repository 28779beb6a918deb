// The Turbo text tokenizer: GPT-2 byte-level BPE read from a model directory the way
// `AutoTokenizer.from_pretrained(dir)` reads it (vocab.json, merges.txt, added_tokens.json,
// special_tokens_map.json, tokenizer_config.json; no tokenizer.json), with the encode semantics of
// HF `tokenizers` re-implemented (no Rust library needed):
//   added tokens matched first anywhere in the text (leftmost-longest, case-sensitive; special and
//   non-normalized tokens in a first pass, the others in a second); each remaining segment split by
//   the GPT-2 regex
//     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   each piece's UTF-8 bytes mapped to the byte-level alphabet and BPE-merged by merge rank; the
//   ids cut at model_max_length (generate() tokenises with truncation=True). No normaliser, no
//   post-processor, no start/stop tokens.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <unordered_map>
#include <vector>

#include "text/bpe_merges.h"

namespace chatterbox {

// The text of the five tokenizer files. vocab_json and merges_txt are required; an empty string
// stands for an absent optional file.
struct Gpt2TokenizerFiles {
  std::string vocab_json;
  std::string merges_txt;
  std::string added_tokens_json;
  std::string special_tokens_map_json;
  std::string tokenizer_config_json;
};

class Gpt2Tokenizer {
 public:
  static constexpr int64_t kNoLimit = std::numeric_limits<int64_t>::max();

  // Reads the files from `dir`. Throws Error(kModelFile) naming the file and what is wrong (missing
  // vocab.json, a merge whose parts or result are not in the vocabulary, an added token whose id
  // disagrees with vocab.json, an option this re-implementation does not do, ...).
  static Gpt2Tokenizer from_directory(const std::string& dir);
  // The same from the files' text; `what` (e.g. the directory) prefixes the file names in errors.
  static Gpt2Tokenizer from_texts(const Gpt2TokenizerFiles& files, const std::string& what);

  // Ids of `text` (punc_norm_turbo output), at most model_max_length() of them (truncation on the
  // side tokenizer_config.json names, right by default). Throws Error(kInvalidInput) on invalid
  // UTF-8.
  std::vector<int64_t> encode(const std::string& text) const;
  // The same without truncation.
  std::vector<int64_t> encode_untruncated(const std::string& text) const;
  // Cuts encode_untruncated() ids to model_max_length() as encode() does (on its configured side).
  std::vector<int64_t> truncate(std::vector<int64_t> ids) const;
  // HF decode (ByteLevel decoder, errors="replace"): tokens' bytes joined, invalid UTF-8 replaced
  // by U+FFFD per maximal invalid subsequence; ids outside the vocabulary are skipped.
  std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens = false) const;
  // convert_ids_to_tokens for one id: the vocab.json key ("Ġworld") or the added token's content;
  // "" for an id outside the vocabulary.
  std::string token(int64_t id) const;

  // One more than the largest id, added tokens included (len(tokenizer) for a dense vocabulary).
  int64_t vocab_size() const { return vocab_size_; }
  int64_t eos_id() const { return eos_id_; }                      // -1 when there is no eos_token
  int64_t model_max_length() const { return model_max_length_; }  // kNoLimit when not configured

 private:
  struct AddedToken {
    std::u32string content;
    std::string content_utf8;
    int64_t id;
    bool special;
    bool normalized;
    bool lstrip;
    bool rstrip;
  };
  void split_added(const std::u32string& text, size_t begin, size_t end, bool normalized_pass,
                   std::vector<int64_t>& out) const;
  void encode_segment(const std::u32string& text, size_t begin, size_t end,
                      std::vector<int64_t>& out) const;
  void encode_piece(const std::u32string& text, size_t begin, size_t end,
                    std::vector<int64_t>& out) const;

  std::unordered_map<std::string, int64_t> vocab_;  // vocab.json: byte-level token -> id
  BpeMerges merges_;                                // merges.txt
  int64_t byte_ids_[256] = {};                      // id of each byte's single-symbol token
  std::vector<AddedToken> added_;                   // longest first
  std::vector<std::string> id_to_token_;
  std::vector<uint8_t> id_is_special_;
  int64_t vocab_size_ = 0;
  int64_t eos_id_ = -1;
  int64_t model_max_length_ = kNoLimit;
  bool truncate_left_ = false;
};

}  // namespace chatterbox
