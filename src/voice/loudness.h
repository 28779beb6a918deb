// Integrated loudness (ITU-R BS.1770-4) computed the way pyloudnorm 0.2 computes it
// (Meter(rate).integrated_loudness), and the loudness normalisation of Turbo's
// prepare_conditionals (chatterbox/tts_turbo.py norm_loudness: gain to -27 LUFS).
//
// Why not libebur128: it designs its K-weighting filters from the standard's analogue prototype
// (shelf 1681.97 Hz / +3.9998 dB / Q 0.7072, high-pass 38.14 Hz / Q 0.5003), pyloudnorm from RBJ
// cookbook biquads (shelf 1500 Hz / +4 dB / Q 1/sqrt(2), high-pass 38 Hz / Q 0.5). On the Turbo
// oracle's 5.6 s reference at 24 kHz libebur128 1.2.6 measures -21.8426 LUFS against pyloudnorm's
// -21.9264 (+0.084 LU), a gain 0.96 % off: 100 times the 1e-4 tolerance on the normalised signal.
// This implementation reproduces pyloudnorm to 1e-14 LU on that reference (the normalised signal
// is bit-identical).
#pragma once

#include <ATen/Tensor.h>

namespace chatterbox {

// pyloudnorm Meter(sample_rate).integrated_loudness(wav) for mono float32 audio [S] (any device):
// K-weighting (high shelf then high-pass biquad, coefficients designed for `sample_rate`,
// filtered in float64 and stored back as float32 like pyloudnorm does for float32 input), mean
// square over 400 ms blocks with 75 % overlap, absolute gate -70 LUFS, relative gate -10 LU.
// Returns -inf for silence (every block gated out) and NaN when the input is shorter than one
// block (pyloudnorm raises there).
double integrated_loudness(const at::Tensor& wav, double sample_rate);

struct LoudnessNormalization {
  double loudness_lufs = 0.0;  // measured integrated loudness
  double gain_linear = 1.0;    // 10^((target - loudness) / 20)
  bool applied = false;        // false when the gain was not finite or not positive (e.g. silence)
};

// tts_turbo.norm_loudness: wav [S] float32 -> wav * float32(gain) (float32, as numpy 1.x keeps
// it), or `wav` itself when the gain is not finite and positive. `info` (if given) receives the
// measurement.
at::Tensor normalize_loudness(const at::Tensor& wav, double sample_rate, double target_lufs,
                              LoudnessNormalization* info = nullptr);

}  // namespace chatterbox
