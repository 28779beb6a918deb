// The merge table of a byte-pair-encoding tokenizer and the merge loop both tokenizers run on
// each pre-tokenized piece (tokenizer.json's BPE for English and the multilingual model,
// vocab.json + merges.txt for GPT-2).
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

namespace chatterbox {

class BpeMerges {
 public:
  // Appends the merge (left, right) -> merged with the next rank. Like HF (a map filled in
  // order), a repeated pair keeps its last rank.
  void add(int64_t left, int64_t right, int64_t merged);

  // HF models::bpe::Word::merge_all: starting from `ids` (one symbol per character or byte),
  // repeatedly merges the adjacent pair with the lowest rank (leftmost among equal ranks),
  // using a heap so a long piece costs O(n log n). Appends the result to `out`.
  void merge_all(const std::vector<int64_t>& ids, std::vector<int64_t>& out) const;

 private:
  struct Target {
    int32_t rank;
    int64_t merged;
  };
  static uint64_t key(int64_t left, int64_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
           static_cast<uint32_t>(right);
  }
  const Target* find(int64_t left, int64_t right) const {
    auto it = merges_.find(key(left, right));
    return it == merges_.end() ? nullptr : &it->second;
  }

  std::unordered_map<uint64_t, Target> merges_;
  int32_t next_rank_ = 0;
};

}  // namespace chatterbox
