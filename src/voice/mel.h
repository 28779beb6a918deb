// The four feature front ends of voice cloning (docs/model.md §7.3 Mel front ends) and librosa's
// silence trim (§7.6 step 1). Each front end is a small immutable struct holding its computed
// filterbank and window (never loaded from a checkpoint), built once per model on the model's
// device. Waveforms are float in [-1, 1].
#pragma once

#include <ATen/Tensor.h>
#include <c10/core/TensorOptions.h>

#include <cstdint>

namespace chatterbox {

// librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax) with the defaults htk=False (Slaney mel
// scale) and norm="slaney" (area normalisation), float32 rounding as librosa 0.11 does it.
// [n_mels, n_fft / 2 + 1] on the CPU.
at::Tensor slaney_mel_filterbank(int64_t sample_rate, int64_t n_fft, int64_t n_mels, double fmin,
                                 double fmax);

// torchaudio.compliance.kaldi.get_mel_banks (no VTLN warp) for a padded window of `n_fft`
// samples, padded with a zero column for the Nyquist bin: [n_mels, n_fft / 2 + 1] float32 on the
// CPU. Kaldi mel scale 1127 ln(1 + f / 700), triangles between low_freq and high_freq (<= 0:
// relative to Nyquist), no area normalisation.
at::Tensor kaldi_mel_banks(int64_t n_mels, int64_t n_fft, double sample_rate, double low_freq,
                           double high_freq);

// A. S3Gen prompt mel: chatterbox/models/s3gen/utils/mel.py mel_spectrogram (Matcha-TTS style)
// with the S3Gen settings (24 kHz, n_fft 1920, hop 480, 80 bands, fmax 8000).
struct S3GenMel {
  int64_t sample_rate = 24000, n_fft = 1920, hop = 480, win = 1920, n_mels = 80;
  double fmin = 0.0, fmax = 8000.0;
  at::Tensor mel_basis;  // [80, 961]
  at::Tensor window;     // [1920] periodic Hann

  explicit S3GenMel(c10::TensorOptions options);
  // wav [B, S] -> natural-log mel [B, 80, F], F = floor(S / 480) (S >= 480).
  at::Tensor operator()(const at::Tensor& wav) const;
};

// B. S3Tokenizer log-mel: chatterbox S3Tokenizer.log_mel_spectrogram (Whisper style): centred
// STFT (reflect), last frame dropped, power, log10, floor at (max - 8), (x + 4) / 4.
struct S3TokenizerLogMel {
  int64_t sample_rate = 16000, n_fft = 400, hop = 160, n_mels = 128;
  at::Tensor mel_filters;  // [n_mels, 201] (= tokenizer._mel_filters)
  at::Tensor window;       // [400] periodic Hann (= tokenizer.window)

  S3TokenizerLogMel(int64_t n_mels, c10::TensorOptions options);
  // wav [B, S] -> [B, n_mels, floor(S / 160)]; the floor uses the maximum over the whole input.
  at::Tensor operator()(const at::Tensor& wav) const;
};

// C. CAMPPlus input: torchaudio.compliance.kaldi.fbank(wav, num_mel_bins=80) with every other
// argument at its default (25 ms / 10 ms frames, snip_edges, DC removal, pre-emphasis 0.97,
// povey window, 512-point power spectrum, log with float epsilon floor), minus the time mean
// (chatterbox xvector.py extract_feature).
struct KaldiFbank {
  int64_t sample_rate = 16000, frame_length = 400, frame_shift = 160, n_fft = 512, n_mels = 80;
  double preemphasis = 0.97;
  at::Tensor mel_banks;  // [80, 257]
  at::Tensor window;     // [400] povey = symmetric Hann ^ 0.85

  KaldiFbank(int64_t n_mels, c10::TensorOptions options);
  // wav [S] -> CMN-ed log fbank [F, 80], F = 1 + floor((S - 400) / 160). Needs S >= 400.
  at::Tensor operator()(const at::Tensor& wav) const;
};

// D. VoiceEncoder mel: chatterbox/models/voice_encoder/melspec.py melspectrogram with
// VoiceEncConfig (librosa.stft centred/reflect, power 2, 40 Slaney bands, no log, no pre-emphasis).
// librosa runs the FFT in float64 and stores complex64: done the same way here.
struct VoiceEncoderMel {
  int64_t sample_rate = 16000, n_fft = 400, hop = 160, win = 400, n_mels = 40;
  double fmin = 0.0, fmax = 8000.0, power = 2.0;
  at::Tensor mel_basis;  // [40, 201] float32
  at::Tensor window;     // [400] periodic Hann, float64

  VoiceEncoderMel(int64_t sample_rate, int64_t n_fft, int64_t hop, int64_t win, int64_t n_mels,
                  double fmin, double fmax, double power, c10::TensorOptions options);
  // wav [S] -> [n_mels, 1 + floor(S / hop)] (mel-major, as librosa returns it). Needs S > n_fft
  // / 2.
  at::Tensor operator()(const at::Tensor& wav) const;
};

// librosa.effects.trim(wav, top_db) with frame 2048 / hop 512: the half-open sample range
// [start, end) from the first to the last frame whose RMS is within top_db of the loudest
// frame. start == end == 0 when no frame qualifies (all silent).
struct TrimRange {
  int64_t start = 0, end = 0;
};
TrimRange librosa_trim(const at::Tensor& wav, double top_db = 20.0, int64_t frame_length = 2048,
                       int64_t hop_length = 512);

}  // namespace chatterbox
