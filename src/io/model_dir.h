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
// Optional hyper-parameter overrides sit beside the weights in the oracle's format (the weight
// file's name with .json: t3_cfg.json, s3gen.json, t3_turbo_v1.json, s3gen_meanflow.json,
// ve.json); that is how generated tiny test models describe themselves. Without them every size
// comes from the official model (or, where the code can, from the tensor shapes).
#pragma once

#include <nlohmann/json.hpp>

#include "common/model_variant.h"
#include <string>
#include <vector>

namespace chatterbox {

struct ModelFiles {
  std::string dir;
  ModelVariant variant = ModelVariant::kEnglish;
  std::string t3;         // dir/t3_cfg.safetensors | t3_turbo_v1.safetensors | t3_nano_v1.safetensors
  std::string s3gen;      // dir/s3gen.safetensors | s3gen_meanflow.safetensors
  std::string ve;         // dir/ve.safetensors
  std::string tokenizer;  // english: dir/tokenizer.json; turbo/nano: dir (the GPT-2 tokenizer files)
  std::string conds;      // dir/conds.pt; empty when a Turbo/Nano directory has none
  nlohmann::json t3_config;     // the T3 file's .json beside it, or null
  nlohmann::json s3gen_config;  // the S3Gen file's .json beside it, or null
  nlohmann::json ve_config;     // dir/ve.json, or null
};

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
