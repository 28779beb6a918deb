// VoiceEncoder: the 256-d speaker vector T3 conditions on (docs/model.md §2.8, §7.6 VoiceEncoder).
// Ports chatterbox/models/voice_encoder/voice_encoder.py (VoiceEncoder, embeds_from_wavs,
// inference, get_num_wins, get_frame_step) and config.py (VoiceEncConfig).
#pragma once

#include <ATen/Tensor.h>

#include <nlohmann/json_fwd.hpp>
#include <vector>

#include "common/tensor_tap.h"
#include "io/weights.h"
#include "voice/mel.h"

namespace chatterbox {

// VoiceEncConfig; defaults are the released model (= the oracle's ve.json).
struct VoiceEncoderConfig {
  int64_t sample_rate = 16000;
  int64_t num_mels = 40;
  int64_t n_fft = 400, hop_size = 160, win_size = 400;
  double fmin = 0.0, fmax = 8000.0;
  double mel_power = 2.0;        // mel_type "amp", no log, not normalised
  int64_t hidden_size = 256;     // ve_hidden_size
  int64_t embed_size = 256;      // speaker_embed_size
  int64_t num_layers = 3;        // LSTM layers
  int64_t partial_frames = 160;  // ve_partial_frames
  bool final_relu = true;        // ve_final_relu
  // embeds_from_wavs / inference defaults used by the English API
  double rate = 1.3;  // partials per second ("Resemble's default"), overrides overlap
  double min_coverage = 0.8;
  double trim_top_db = 20.0;

  // Reads the oracle's ve.json (VoiceEncConfig field names); absent keys keep the defaults.
  static VoiceEncoderConfig from_json(const nlohmann::json& j);
  // get_frame_step with a rate: round((sample_rate / rate) / partial_frames) = 77 frames.
  int64_t frame_step() const;
};

class VoiceEncoder {
 public:
  // Loads `lstm.*` and `proj.*` from a reader on ve.safetensors (similarity_* are training-only).
  VoiceEncoder(const VoiceEncoderConfig& config, WeightReader reader);

  const VoiceEncoderConfig& config() const { return config_; }

  // VoiceEncoder.forward: mels [B, T, 40] -> L2-normalised ReLU(proj(h_T of the top LSTM layer))
  // [B, 256]. h_n / c_n (if given) receive the final LSTM states [L, B, 256].
  at::Tensor forward(const at::Tensor& mels, at::Tensor* h_n = nullptr,
                     at::Tensor* c_n = nullptr) const;

  // The 40-band power mel of a 16 kHz waveform [S], time-major [F, 40].
  at::Tensor mel(const at::Tensor& wav16) const;
  // VoiceEncoder.inference partitioning: mel [F, 40] -> partial windows [P, 160, 40] (zero-padded
  // to cover the utterance with min_coverage).
  at::Tensor partials(const at::Tensor& mel) const;

  // embeds_from_wavs([wav16], 16000) for one waveform [S]: trim, mel, partials, forward, mean,
  // L2 norm -> [1, 256]. Throws Error(kInvalidInput) when trimming leaves no audio or too little
  // for one analysis frame. tap (index -1, oracle-turbo voice names): "ve.trim_index" [2] int64
  // (librosa.effects.trim's [start, end) in samples), "ve.trimmed_wav" [S'], "ve.mel" [F, 40]
  // time-major, "ve.partial_mels" [P, 160, 40], "ve.partial_embeds" [P, 256].
  at::Tensor embed(const at::Tensor& wav16, const TensorTap& tap = {}) const;

 private:
  VoiceEncoderConfig config_;
  VoiceEncoderMel mel_;
  std::vector<at::Tensor>
      lstm_params_;  // per layer: weight_ih [4H, in], weight_hh [4H, H], bias_ih, bias_hh [4H]
  at::Tensor proj_weight_;  // [256, 256]
  at::Tensor proj_bias_;    // [256]
};

}  // namespace chatterbox
