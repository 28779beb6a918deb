// Hyper-parameters of T3, the text -> speech-token model.
// Ports chatterbox/models/t3/modules/t3_config.py (T3Config) and the "Llama_520M" entry of
// chatterbox/models/t3/llama_configs.py. Defaults are the OFFICIAL English model
// (ResembleAI/chatterbox t3_cfg.safetensors); small test models describe themselves with a
// t3_cfg.json in the oracle's format, read by from_json().
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace chatterbox {

class SafetensorsFile;

struct T3Config {
  // --- Llama backbone (HF LlamaConfig) ---
  int64_t hidden_size = 1024;        // D
  int64_t intermediate_size = 4096;  // SwiGLU width
  int64_t num_hidden_layers = 30;    // L
  int64_t num_attention_heads = 16;  // H
  int64_t num_key_value_heads = 16;  // no GQA in any released T3
  int64_t head_dim = 64;             // Dh
  double rms_norm_eps = 1e-5;
  int64_t llama_vocab_size = 8;  // tfmr.embed_tokens rows (dummy, never used)
  int64_t max_position_embeddings = 131072;
  // RoPE: theta and "llama3" frequency scaling (rope_type "default" disables the scaling).
  double rope_theta = 500000.0;
  std::string rope_type = "llama3";
  double rope_factor = 8.0;
  double rope_low_freq_factor = 1.0;
  double rope_high_freq_factor = 4.0;
  int64_t rope_original_max_position_embeddings = 8192;

  // --- T3 vocabularies and special ids ---
  int64_t start_text_token = 255;
  int64_t stop_text_token = 0;
  int64_t text_tokens_dict_size = 704;
  int64_t max_text_tokens = 2048;     // text_pos_emb has max_text_tokens + 2 rows
  int64_t start_speech_token = 6561;  // also the S3 codebook size: valid codec ids are < this
  int64_t stop_speech_token = 6562;
  int64_t speech_tokens_dict_size = 8194;
  int64_t max_speech_tokens = 4096;  // speech_pos_emb has max_speech_tokens + 4 rows
  int64_t speech_cond_prompt_len = 150;

  // --- conditioning encoder (T3CondEnc) ---
  int64_t speaker_embed_size = 256;
  bool use_perceiver_resampler = true;
  bool emotion_adv = true;
  int64_t perceiver_query_tokens = 32;  // pre_attention_query_token
  int64_t perceiver_query_size = 1024;  // pre_attention_query_size
  int64_t perceiver_embedding_dim = 1024;
  int64_t perceiver_heads = 4;  // 4 heads of 256 at full size (not 16 x 64)

  // Rows of the learned position tables.
  int64_t text_pos_rows() const { return max_text_tokens + 2; }
  int64_t speech_pos_rows() const { return max_speech_tokens + 4; }
  // Length of the conditioning prefix: speaker (1) + perceiver queries + emotion (1).
  int64_t cond_len() const {
    return 1 + (use_perceiver_resampler ? perceiver_query_tokens : 0) + (emotion_adv ? 1 : 0);
  }

  // Reads the oracle's weights/t3_cfg.json format ({"llama_config": {...}, "t3_config": {...},
  // "perceiver": {...}}); absent keys keep the official defaults, a null json gives the defaults.
  // Throws Error(kModelFile) on a value of the wrong type or an unsupported setting.
  static T3Config from_json(const nlohmann::json& j);
  // from_json, then the text vocabulary from the checkpoint's text_emb.weight when the json does
  // not give it (704 English, 2454 multilingual: the released files carry no hyper-parameters).
  static T3Config from_checkpoint(const SafetensorsFile& file, const nlohmann::json& j);
};

}  // namespace chatterbox
