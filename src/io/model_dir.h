// Finding a model directory and its files.
//
// A model directory holds the files of one Hugging Face repository as published; the variant is
// recognised from the T3 weight file it holds:
//   english  ResembleAI/chatterbox        t3_cfg.safetensors, s3gen.safetensors, ve.safetensors,
//                                          tokenizer.json, conds.pt
//   turbo    ResembleAI/chatterbox-turbo  t3_turbo_v1.safetensors, s3gen_meanflow.safetensors,
//                                          ve.safetensors, GPT-2 tokenizer files (vocab.json,
//                                          merges.txt, ...), conds.pt (optional: built-in voice)
//   nano     ResembleAI/chatterbox-nano   as turbo, with t3_nano_v1.safetensors
//   multilingual  ResembleAI/chatterbox   t3_mtl23ls_v2.safetensors, s3gen.safetensors,
//                                          ve.safetensors, grapheme_mtl_merged_expanded_v1.json,
//                                          conds.pt (optional), Cangjie5_TC.json (optional, for
//                                          Chinese; see find_cangjie_table)
// A directory with the complete English and multilingual files (both live in the same Hugging
// Face repository) is taken as English.
// Optional hyper-parameter overrides sit beside the weights in the oracle's format (the weight
// file's name with .json: t3_cfg.json, s3gen.json, t3_turbo_v1.json, s3gen_meanflow.json,
// ve.json); that is how generated tiny test models describe themselves. Without them every size
// comes from the official model (or, where the code can, from the tensor shapes).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/model_variant.h"

namespace chatterbox {

struct ModelFiles {
  std::string dir;
  ModelVariant variant = ModelVariant::kEnglish;
  std::string t3;     // dir/t3_cfg.safetensors | t3_turbo_v1.safetensors | t3_nano_v1.safetensors
  std::string s3gen;  // dir/s3gen.safetensors | s3gen_meanflow.safetensors
  std::string ve;     // dir/ve.safetensors
  std::string tokenizer;  // english: dir/tokenizer.json; turbo/nano: dir (the GPT-2 tokenizer
                          // files); multilingual: dir/grapheme_mtl_merged_expanded_v1.json
  std::string conds;      // dir/conds.pt; empty when a Turbo/Nano/multilingual directory has none
  std::string cangjie;    // multilingual: the Cangjie table, or empty when there is none
  nlohmann::json t3_config;     // the T3 file's .json beside it, or null
  nlohmann::json s3gen_config;  // the S3Gen file's .json beside it, or null
  nlohmann::json ve_config;     // dir/ve.json, or null
};

// The Chinese Cangjie table of the multilingual model.
constexpr const char* kCangjieTable = "Cangjie5_TC.json";
// dir/Cangjie5_TC.json, else the first models--ResembleAI--chatterbox/snapshots/*/Cangjie5_TC.json
// inside dir (the Hugging Face cache tree the reference downloads it into); "" when absent.
std::string find_cangjie_table(const std::string& dir);

// Where a model is looked for when no directory is given, in order: $CHATTERBOX_MODEL_DIR, then
// the Hugging Face hub cache ($HF_HOME/hub or ~/.cache/huggingface/hub):
// models--ResembleAI--chatterbox/snapshots/<rev>/ (newest snapshot first), then the same for
// chatterbox-turbo and chatterbox-nano where those repositories are in the cache.
std::vector<std::string> model_search_path();

// The files one variant needs in `dir`, with the names of those missing (empty: complete).
std::vector<std::string> missing_model_files(const std::string& dir, ModelVariant variant);

// Resolves `explicit_dir` (or the search path when empty) to the first directory holding a
// complete model of any variant. Throws Error(kModelFile) naming every place looked at, what was
// found there and what each variant would need.
ModelFiles locate_model(const std::string& explicit_dir);

}  // namespace chatterbox
