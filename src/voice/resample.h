// The one resampler of the engine (docs/model.md §7.7 Resamplers).
//
// Ports torchaudio.functional.resample (torchaudio 0.13, `_get_sinc_resample_kernel` +
// `_apply_sinc_resample_kernel`): a windowed-sinc polyphase filter on the gcd-reduced rate
// ratio. With the defaults (Hann window, lowpass_filter_width 6, rolloff 0.99) it is exactly the
// resampler S3Gen.embed_ref uses for 24 kHz -> 16 kHz, and the oracle fixtures use it for every
// 24 -> 16 kHz conversion. The original English API uses librosa/soxr HQ for the whole-file
// 16 kHz signal (T3 prompt tokens, VoiceEncoder) and for loading files at other rates; soxr is
// not available here, so every conversion goes through this function, and `ResamplerParams`
// lets tools measure how much another filter (e.g. librosa's kaiser_best, a stand-in for soxr)
// moves the results (docs/voice.md).
#pragma once

#include <ATen/Tensor.h>

namespace chatterbox {

enum class ResampleWindow {
  kHann,    // torchaudio "sinc_interp_hann" (the default)
  kKaiser,  // torchaudio "sinc_interp_kaiser"
};

struct ResamplerParams {
  int lowpass_filter_width = 6;  // zero crossings of the sinc on each side
  double rolloff = 0.99;         // cut-off as a fraction of the lower Nyquist rate
  ResampleWindow window = ResampleWindow::kHann;
  double beta = 14.769656459379492;  // Kaiser window shape (torchaudio's default)

  // torchaudio defaults: what S3Gen.embed_ref and the fixtures use.
  static ResamplerParams torchaudio_default() { return {}; }
  // librosa "kaiser_best" expressed in torchaudio terms (torchaudio's documented equivalent):
  // a longer, sharper filter standing in for librosa's soxr HQ default.
  static ResamplerParams kaiser_best() {
    return {64, 0.9475937167399596, ResampleWindow::kKaiser, 14.769656459379492};
  }
};

// The polyphase kernel for the gcd-reduced ratio orig -> new: [new, 1, 2 * width + orig] float32
// (computed in float64), and the one-sided width in input samples.
at::Tensor sinc_resample_kernel(int64_t orig, int64_t new_rate, const ResamplerParams& params,
                                int64_t* width);

// wav [..., S] float -> [..., ceil(S * new_sr / orig_sr)] on the same device. Returns `wav`
// itself when the rates are equal. Throws Error(kInvalidInput) for non-positive rates.
at::Tensor resample(const at::Tensor& wav, int64_t orig_sr, int64_t new_sr,
                    const ResamplerParams& params = ResamplerParams::torchaudio_default());

}  // namespace chatterbox
