// HiFT vocoder: HiFTGenerator (chatterbox/models/s3gen/hifigan.py, from CosyVoice's
// cosyvoice/hifigan/generator.py) = F0 predictor -> neural-source-filter excitation
// (SourceModuleHnNSF + Chatterbox's SineGen) -> upsampling generator fused with the STFT of the
// excitation -> iSTFT. 80-bin natural-log mel at 50 Hz in, 24 kHz waveform out, 480 samples per
// mel frame (docs/model.md §6 HiFT vocoder).
//
// Weights: `mel2wav.*` of s3gen.safetensors; the weight-normalised convs are folded at load time.
// The model is immutable after load and may be shared between threads; the randomness lives in a
// HiftRandom owned by the caller (per utterance).
#pragma once

#include <ATen/Tensor.h>
#include <c10/core/TensorOptions.h>

#include <vector>

#include "io/weights.h"
#include "s3gen/f0_predictor.h"
#include "s3gen/hift_random.h"
#include "s3gen/s3gen_config.h"

namespace chatterbox {

// ResBlock (hifigan.py): three (Snake, dilated conv, Snake, conv) residual units.
//   for i in 0..2: x = x + convs2[i](Snake2[i](convs1[i](Snake1[i](x))))
// Snake(x) = x + 1 / (alpha + 1e-9) * sin^2(alpha x), alpha per channel, linear scale.
struct HiftResBlock {
  std::vector<int64_t> dilations;
  int64_t kernel_size = 0;
  std::vector<at::Tensor> convs1_weight, convs1_bias;  // convs1.{i}: [C, C, k], [C]
  std::vector<at::Tensor> convs2_weight, convs2_bias;  // convs2.{i}: [C, C, k], [C]
  std::vector<at::Tensor> alpha1, inv_alpha1;          // activations1.{i}.alpha as [1, C, 1]
  std::vector<at::Tensor> alpha2, inv_alpha2;          // activations2.{i}.alpha as [1, C, 1]

  static HiftResBlock load(WeightReader reader, int64_t channels, int64_t kernel_size,
                           const std::vector<int64_t>& dilations);
  // x [B, C, T] -> [B, C, T]
  at::Tensor forward(const at::Tensor& x) const;
};

// Where a streamed call's harmonic phase must meet the previous call's (see inference()).
struct HiftPhaseAnchor {
  int64_t sample = 0;  // index into this call's samples
  at::Tensor cycles;   // [B, H, 1] running phase in cycles at that sample
};

// One vocoder call's results.
struct HiftOutput {
  at::Tensor wav;           // [B, S] in [-audio_limit, audio_limit], S = 480 F
  at::Tensor source;        // [B, 1, S] the excitation actually used (after cache_source overwrite)
  at::Tensor f0;            // [B, F] Hz
  at::Tensor phase_cycles;  // [B, H, S] running phase of each harmonic in cycles, wrapped to [0, 1)
};

class HiftModel {
 public:
  // `reader` is scoped to "mel2wav."; weights take the reader's dtype and device.
  static HiftModel load(WeightReader reader, const HiftConfig& config);

  const HiftConfig& config() const { return config_; }
  int64_t samples_per_frame() const { return config_.samples_per_frame(); }
  int64_t harmonics() const { return config_.nb_harmonics + 1; }

  // HiFTGenerator.inference: mel [B, 80, F] -> wav, excitation, f0.
  // `start_sample` is the absolute output position of the first sample of this call (indexes the
  // seeded noise; 0 for an offline utterance). `cache_source` [B, 1, Lc] (Lc <= S, may be
  // undefined or empty) overwrites the first Lc excitation samples, so a streaming call
  // continues the previous call's excitation seamlessly.
  // `anchor` (may be null) continues the harmonics' running phase from an earlier call: the
  // phase is shifted so that at sample anchor->sample of this call it equals anchor->cycles
  // (that call's phase_cycles at the same absolute sample). Choose a sample that both calls
  // see with a few mel frames of context on each side: the F0 predictor's convolutions are
  // off near the edges, and the phase integrates F0, so an edge error would shift the phase of
  // everything after it. (The reference restarts the phase at every call; no anchor is that.)
  HiftOutput inference(const at::Tensor& mel, HiftRandom& random, int64_t start_sample = 0,
                       const at::Tensor& cache_source = at::Tensor(),
                       const HiftPhaseAnchor* anchor = nullptr) const;

  // The stages of inference(), exposed for parity tests and streaming.
  // f0_predictor: mel [B, 80, F] -> f0 [B, F]
  at::Tensor predict_f0(const at::Tensor& mel) const { return f0_predictor_.forward(mel); }
  // f0_upsamp (nearest x480): f0 [B, F] -> [B, S, 1]
  at::Tensor upsample_f0(const at::Tensor& f0) const;
  // m_source: f0_upsampled [B, S, 1] -> excitation [B, 1, S]
  // anchor / phase_cycles: see inference().
  at::Tensor source(const at::Tensor& f0_upsampled, HiftRandom& random, int64_t start_sample,
                    const HiftPhaseAnchor* anchor = nullptr,
                    at::Tensor* phase_cycles = nullptr) const;
  // decode: mel [B, 80, F] + excitation [B, 1, S] -> wav [B, S]
  at::Tensor decode(const at::Tensor& mel, const at::Tensor& source) const;

  // The periodic Hann window of the 16-point STFT/iSTFT [n_fft] (scipy get_window("hann",
  // fftbins=True)).
  const at::Tensor& stft_window() const { return stft_window_; }

 private:
  HiftConfig config_;
  c10::TensorOptions options_;
  F0Predictor f0_predictor_;

  at::Tensor l_linear_weight_, l_linear_bias_;  // m_source.l_linear: [1, H], [1]
  at::Tensor conv_pre_weight_, conv_pre_bias_;  // conv_pre: [C0, 80, 7], [C0]
  std::vector<at::Tensor> ups_weight_,
      ups_bias_;  // ups.{i}: [C_i, C_i/2, k_i] (ConvTranspose: [in, out, k])
  std::vector<at::Tensor> source_downs_weight_,
      source_downs_bias_;  // source_downs.{i}: [C_i/2, n_fft + 2, k]
  std::vector<int64_t> source_downs_stride_, source_downs_padding_;
  std::vector<HiftResBlock> source_resblocks_;    // source_resblocks.{i}
  std::vector<HiftResBlock> resblocks_;           // resblocks.{3 i + j}
  at::Tensor conv_post_weight_, conv_post_bias_;  // conv_post: [n_fft + 2, C_last, 7]
  at::Tensor stft_window_;                        // [n_fft]
};

}  // namespace chatterbox
