// Generated Chatterbox models for tests: every file of a model directory with random weights
// in the exact tensor layout of the released checkpoint (full) or of the oracle's small models
// (tiny), the text tokenizer files and a conds.pt. Used by chatterbox-make-test-model and the
// unit tests. Variants: English (t3_cfg, s3gen, ve, tokenizer.json), Turbo (t3_turbo_v1,
// s3gen_meanflow, ve, GPT-2 tokenizer files), Nano (Turbo with t3_nano_v1, a GPT-2-small T3) and
// multilingual (t3_mtl23ls_v2, the English s3gen and ve, a tiny
// grapheme_mtl_merged_expanded_v1.json and Cangjie5_TC.json).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/model_variant.h"

namespace chatterbox::testmodel {

enum class Size { kTiny, kFull };

struct TensorSpec {
  std::string file;  // "t3_cfg.safetensors", "s3gen.safetensors", "ve.safetensors",
                     // "t3_turbo_v1.safetensors", ...
  std::string name;
  std::string dtype;  // safetensors spelling: "F32", "I64"
  std::vector<int64_t> shape;
};

// The tensors that write_test_model() writes (layout_*.tsv, embedded).
std::vector<TensorSpec> planned_layout(Size size, ModelVariant variant = ModelVariant::kEnglish);

// tokenizer.json text: HF tokenizers BPE, 704 ids, [STOP]=0 [UNK]=1 [SPACE]=2 [START]=255,
// [PAD] [SEP] [CLS] [MASK] = 700..703, letters, digits, punctuation, some accented letters and
// merges learned from a small built-in English text. The same for every seed.
std::string tokenizer_json();

// The Turbo/Nano text tokenizer as the files AutoTokenizer reads (name, content): vocab.json,
// merges.txt, added_tokens.json, special_tokens_map.json, tokenizer_config.json. GPT-2 byte-level
// BPE: ids 0..255 the byte symbols in GPT-2's bytes_to_unicode order, then merges learned from a
// small built-in English text up to id 998, <|endoftext|> = 999 (bos/eos/unk), then the
// paralinguistic tags [clear throat] [sigh] [shush] [cough] [groan] [sniff] [gasp] [chuckle]
// [laugh] = 1000..1008 as added tokens; 1009 ids in all (= tiny Turbo's text vocabulary),
// model_max_length 1024. The same for every seed and size.
std::vector<std::pair<std::string, std::string>> gpt2_tokenizer_files();

// Writes a model directory of `variant` into `dir` (created if needed): the three weight files,
// the tokenizer file(s) and conds.pt, plus for tiny the hyper-parameter files beside the weights
// (t3_cfg.json/s3gen.json/ve.json; t3_turbo_v1.json or t3_nano_v1.json, s3gen_meanflow.json,
// ve.json). Deterministic for a given seed (each tensor has its own generator seeded from `seed`,
// its file and its name).
void write_test_model(const std::string& dir, Size size, uint64_t seed,
                      ModelVariant variant = ModelVariant::kEnglish);

}  // namespace chatterbox::testmodel
