// S3TokenizerV2 ("speech_tokenizer_v2_25hz"): 16 kHz audio -> 25 Hz speech tokens in [0, 6561)
// (docs/model.md §2.7 and §7.4 S3TokenizerV2). Ports s3tokenizer/model_v2.py (AudioEncoderV2,
// ResidualAttentionBlock, FSMNMultiHeadAttention, FSQCodebook, S3TokenizerV2.quantize) and
// chatterbox/models/s3tokenizer/s3tokenizer.py (S3Tokenizer.forward, log_mel_spectrogram).
// Checkpoint names under `tokenizer.`; `_mel_filters` and `window` are recomputed, not loaded.
#pragma once

#include <ATen/Tensor.h>

#include <nlohmann/json_fwd.hpp>
#include <vector>

#include "io/weights.h"
#include "voice/mel.h"

namespace chatterbox {

// ModelConfig of s3tokenizer; defaults: the released speech_tokenizer_v2_25hz.
struct S3TokenizerConfig {
  int64_t n_mels = 128;
  int64_t n_audio_state = 1280;
  int64_t n_audio_head = 20;  // head_dim stays 64: the rotary table is built for 64
  int64_t n_audio_layer = 6;
  int64_t n_codebook_size = 6561;  // 3^8 (FSQ, 8 dims x 3 levels)
  int64_t fsmn_kernel = 31;
  int64_t rope_positions = 2048;  // precompute_freqs_cis(64, 1024 * 2)
  // LayerNorm eps of the encoder blocks' attn_ln: 1e-6 in s3tokenizer 0.2 (what the English model
  // was checked against), 1e-5 from s3tokenizer 0.3 (what Turbo's reference ran). mlp_ln is 1e-5
  // in both.
  double attn_ln_eps = 1e-6;

  // Reads the "tokenizer" object of the oracle's s3gen.json (and "attn_ln_eps" if present);
  // absent keys keep the defaults.
  static S3TokenizerConfig from_json(const nlohmann::json& j);
};

class S3Tokenizer {
 public:
  static constexpr int64_t kMaxMelFrames =
      3000;  // 30 s: longer input needs the sliding-window path

  // `reader` scoped to "tokenizer.".
  S3Tokenizer(const S3TokenizerConfig& config, WeightReader reader);

  const S3TokenizerConfig& config() const { return config_; }

  // The Whisper-style log-mel of a 16 kHz waveform [S] -> [1, 128, floor(S / 160)].
  at::Tensor log_mel(const at::Tensor& wav16) const { return log_mel_(wav16.reshape({1, -1})); }
  // AudioEncoderV2 on one unpadded clip: mel [1, 128, F] -> hidden [1, T2, D], T2 =
  // ceil(ceil(F/2)/2).
  at::Tensor encode(const at::Tensor& mel) const;
  // FSQ projection before rounding: tanh(project_down(hidden)) * 0.999 [1, T2, 8]. Values within
  // rounding noise of +-0.5 are genuine ties (a token may flip there between implementations).
  at::Tensor project(const at::Tensor& hidden) const;
  // FSQCodebook.encode: hidden [1, T2, D] -> tokens [1, T2] int64.
  at::Tensor quantize(const at::Tensor& hidden) const;
  // S3Tokenizer.forward([wav16], max_len): log-mel of the whole clip, mel truncated to
  // 4 * max_tokens frames when max_tokens > 0, encoder, FSQ -> [1, T] int64. Throws
  // Error(kInvalidInput) for clips over 30 s (the sliding-window path is not implemented) or
  // too short for one mel frame. `projected` (if given) receives project() of the encoder output.
  at::Tensor tokenize(const at::Tensor& wav16, int64_t max_tokens = -1,
                      at::Tensor* projected = nullptr) const;

 private:
  struct Block {                  // ResidualAttentionBlock with FSMNMultiHeadAttention
    at::Tensor query_w, query_b;  // [D, D], [D]
    at::Tensor key_w;             // [D, D] (no bias)
    at::Tensor value_w, value_b;
    at::Tensor out_w, out_b;
    at::Tensor fsmn_w;                // [D, 1, 31] depthwise
    at::Tensor attn_ln_w, attn_ln_b;  // LayerNorm eps config.attn_ln_eps
    at::Tensor mlp0_w, mlp0_b;        // [4D, D]
    at::Tensor mlp2_w, mlp2_b;        // [D, 4D]
    at::Tensor mlp_ln_w, mlp_ln_b;    // LayerNorm eps 1e-5
  };
  at::Tensor attention(const Block& b, const at::Tensor& x, const at::Tensor& cos,
                       const at::Tensor& sin) const;

  S3TokenizerConfig config_;
  S3TokenizerLogMel log_mel_;
  at::Tensor conv1_w_, conv1_b_;  // [D, 128, 3]
  at::Tensor conv2_w_, conv2_b_;  // [D, D, 3]
  std::vector<Block> blocks_;
  at::Tensor project_down_w_, project_down_b_;  // [8, D], [8]
  at::Tensor rope_cos_, rope_sin_;              // [2048, 64] ([a, a] duplicated halves)
  at::Tensor fsq_powers_;                       // [8] float: 3^i
};

}  // namespace chatterbox
