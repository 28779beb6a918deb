// Hyper-parameters of the Turbo T3 (GPT-2 backbone, no CFG).
// Ports what chatterbox/tts_turbo.py ChatterboxTurboTTS.from_local sets in T3Config
// (chatterbox/models/t3/modules/t3_config.py) and the "GPT2_medium" entry of
// chatterbox/models/t3/llama_configs.py. Defaults are the released Turbo model; the sizes of a
// checkpoint are read from its tensor shapes (from_checkpoint), so Nano (GPT-2 small) and small
// test models load the same way. Small test models may add a json in the oracle's
// t3_turbo_v1.json format.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>

#include "io/safetensors.h"
#include "t3/gpt2.h"

namespace chatterbox {

struct T3TurboConfig {
  Gpt2Config gpt2;  // GPT-2 medium: 1024 wide, 24 layers, 16 heads of 64

  int64_t text_tokens_dict_size = 50276;  // len(tokenizer): 50257 GPT-2 + 19 added tokens
  int64_t start_speech_token = 6561;      // also the S3 codebook size: valid codec ids are < this
  int64_t stop_speech_token = 6562;
  int64_t speech_tokens_dict_size = 6563;
  int64_t speech_cond_prompt_len = 375;  // at most this many prompt tokens (made by the voice code)
  int64_t speaker_embed_size = 256;

  // Conditioning prefix length for a prompt of `prompt_tokens` tokens: speaker (1) + prompt.
  int64_t cond_len(int64_t prompt_tokens) const { return 1 + prompt_tokens; }

  // The oracle's t3_turbo_v1.json ({"gpt2_config": {...}, "t3_config": {...}}); absent keys keep
  // the defaults, null gives the defaults. Throws Error(kModelFile) on a wrong type or a setting
  // Turbo does not have (perceiver, emotion, T3 position embeddings, another activation).
  static T3TurboConfig from_json(const nlohmann::json& j);
  // from_json(j), then every size the tensors fix taken from `file`: width and positions from
  // tfmr.wpe.weight, the layer count from tfmr.h.N, the vocabularies from text_emb / speech_emb,
  // the speaker width from cond_enc.spkr_enc.weight. Heads: the json's n_head, else width / 64
  // (every released GPT-2 size). Throws Error(kModelFile) when the json contradicts the file.
  // Missing tensors are left to T3TurboModel::load to report.
  static T3TurboConfig from_checkpoint(const SafetensorsFile& file, const nlohmann::json& j);
};

}  // namespace chatterbox
