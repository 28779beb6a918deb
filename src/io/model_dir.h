// Finding a model directory and its files.
//
// A model directory holds the files of Hugging Face `ResembleAI/chatterbox` as published:
// t3_cfg.safetensors, s3gen.safetensors, ve.safetensors, tokenizer.json, conds.pt.
// Optional hyper-parameter overrides sit beside them in the oracle's format (t3_cfg.json,
// s3gen.json, ve.json); that is how generated tiny test models describe themselves. Without
// them every size defaults to the official model.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace chatterbox {

struct ModelFiles {
  std::string dir;
  std::string t3;         // dir/t3_cfg.safetensors
  std::string s3gen;      // dir/s3gen.safetensors
  std::string ve;         // dir/ve.safetensors
  std::string tokenizer;  // dir/tokenizer.json
  std::string conds;      // dir/conds.pt
  nlohmann::json t3_config;     // dir/t3_cfg.json, or null
  nlohmann::json s3gen_config;  // dir/s3gen.json, or null
  nlohmann::json ve_config;     // dir/ve.json, or null
};

// Where a model is looked for when no directory is given, in order: $CHATTERBOX_MODEL_DIR, then
// the Hugging Face hub cache ($HF_HOME/hub or ~/.cache/huggingface/hub)
// models--ResembleAI--chatterbox/snapshots/<rev>/ (newest snapshot first).
std::vector<std::string> model_search_path();

// Resolves `explicit_dir` (or the search path when empty) to a directory holding all five
// files. Throws Error(kModelFile) naming every place looked at and every file missing.
ModelFiles locate_model(const std::string& explicit_dir);

}  // namespace chatterbox
