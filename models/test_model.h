// Generated Chatterbox models for tests: every file of a model directory with random weights
// in the exact tensor layout of the released checkpoint (full) or of the oracle's small models
// (tiny), a valid BPE tokenizer.json and a conds.pt. Used by chatterbox-make-test-model and the
// unit tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace chatterbox::testmodel {

enum class Size { kTiny, kFull };

struct TensorSpec {
  std::string file;  // "t3_cfg.safetensors", "s3gen.safetensors", "ve.safetensors"
  std::string name;
  std::string dtype;  // safetensors spelling: "F32", "I64"
  std::vector<int64_t> shape;
};

// The tensors that write_test_model() writes (layout_full.tsv / layout_tiny.tsv, embedded).
std::vector<TensorSpec> planned_layout(Size size);

// tokenizer.json text: HF tokenizers BPE, 704 ids, [STOP]=0 [UNK]=1 [SPACE]=2 [START]=255,
// [PAD] [SEP] [CLS] [MASK] = 700..703, letters, digits, punctuation, some accented letters and
// merges learned from a small built-in English text. The same for every seed.
std::string tokenizer_json();

// Writes t3_cfg/s3gen/ve .safetensors, tokenizer.json and conds.pt into `dir` (created if
// needed), plus t3_cfg.json/s3gen.json/ve.json for tiny. Deterministic for a given seed
// (each tensor has its own generator seeded from `seed` and its name).
void write_test_model(const std::string& dir, Size size, uint64_t seed);

}  // namespace chatterbox::testmodel
