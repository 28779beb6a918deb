#include "voice/mel.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace chatterbox {

namespace {

// librosa.core.convert.hz_to_mel / mel_to_hz with htk=False (Slaney: linear below 1 kHz, log
// above).
constexpr double kSlaneyFsp = 200.0 / 3.0;
constexpr double kSlaneyMinLogHz = 1000.0;
constexpr double kSlaneyMinLogMel = kSlaneyMinLogHz / kSlaneyFsp;
const double kSlaneyLogStep = std::log(6.4) / 27.0;

double hz_to_mel_slaney(double f) {
  if (f >= kSlaneyMinLogHz)
    return kSlaneyMinLogMel + std::log(f / kSlaneyMinLogHz) / kSlaneyLogStep;
  return f / kSlaneyFsp;
}

double mel_to_hz_slaney(double m) {
  if (m >= kSlaneyMinLogMel)
    return kSlaneyMinLogHz * std::exp(kSlaneyLogStep * (m - kSlaneyMinLogMel));
  return kSlaneyFsp * m;
}

}  // namespace

// librosa/filters.py mel(): float64 triangles, stored into a float32 array, then scaled in place
// by the float64 Slaney norm (so each weight is rounded to float32 twice, as librosa does).
at::Tensor slaney_mel_filterbank(int64_t sample_rate, int64_t n_fft, int64_t n_mels, double fmin,
                                 double fmax) {
  const int64_t n_bins = 1 + n_fft / 2;
  // np.fft.rfftfreq(n_fft, d=1/sr): k * (1 / (n_fft * (1 / sr)))
  const double bin_hz =
      1.0 / (static_cast<double>(n_fft) * (1.0 / static_cast<double>(sample_rate)));
  std::vector<double> fft_freqs(n_bins);
  for (int64_t k = 0; k < n_bins; ++k) fft_freqs[k] = static_cast<double>(k) * bin_hz;
  // mel_frequencies(n_mels + 2, fmin, fmax): np.linspace in mel, back to Hz
  const double min_mel = hz_to_mel_slaney(fmin), max_mel = hz_to_mel_slaney(fmax);
  const int64_t n_points = n_mels + 2;
  const double step = (max_mel - min_mel) / static_cast<double>(n_points - 1);
  std::vector<double> mel_f(n_points);
  for (int64_t i = 0; i < n_points; ++i) {
    const double m = (i == n_points - 1) ? max_mel : static_cast<double>(i) * step + min_mel;
    mel_f[i] = mel_to_hz_slaney(m);
  }
  at::Tensor weights = at::zeros({n_mels, n_bins}, at::kFloat);
  float* w = weights.data_ptr<float>();
  for (int64_t i = 0; i < n_mels; ++i) {
    const double fdiff_lo = mel_f[i + 1] - mel_f[i], fdiff_hi = mel_f[i + 2] - mel_f[i + 1];
    const double enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
    for (int64_t k = 0; k < n_bins; ++k) {
      const double lower = -(mel_f[i] - fft_freqs[k]) / fdiff_lo;
      const double upper = (mel_f[i + 2] - fft_freqs[k]) / fdiff_hi;
      const float tri = static_cast<float>(std::max(0.0, std::min(lower, upper)));
      w[i * n_bins + k] = static_cast<float>(static_cast<double>(tri) * enorm);
    }
  }
  return weights;
}

// torchaudio/compliance/kaldi.py get_mel_banks: the scalar ends of the mel range are Python
// floats (float64), the per-bin grids are float32 tensors; reproduced with the same tensor ops.
at::Tensor kaldi_mel_banks(int64_t n_mels, int64_t n_fft, double sample_rate, double low_freq,
                           double high_freq) {
  const int64_t num_fft_bins = n_fft / 2;
  const double nyquist = 0.5 * sample_rate;
  if (high_freq <= 0.0) high_freq += nyquist;
  const double fft_bin_width = sample_rate / static_cast<double>(n_fft);
  auto mel_scalar = [](double f) { return 1127.0 * std::log(1.0 + f / 700.0); };
  const double mel_low = mel_scalar(low_freq), mel_high = mel_scalar(high_freq);
  const double delta = (mel_high - mel_low) / static_cast<double>(n_mels + 1);
  at::Tensor bin = at::arange(n_mels, at::kLong).unsqueeze(1);  // [M, 1]
  at::Tensor left = bin * delta + mel_low;
  at::Tensor center = (bin + 1.0) * delta + mel_low;
  at::Tensor right = (bin + 2.0) * delta + mel_low;
  at::Tensor freqs = at::arange(static_cast<double>(num_fft_bins), at::kFloat) * fft_bin_width;
  at::Tensor mel = ((freqs / 700.0 + 1.0).log() * 1127.0).unsqueeze(0);  // [1, K]
  at::Tensor up = (mel - left) / (center - left);
  at::Tensor down = (right - mel) / (right - center);
  at::Tensor banks = at::max(at::zeros({1}, at::kFloat), at::min(up, down));  // [M, K]
  return at::constant_pad_nd(banks, {0, 1}, 0.0);                             // [M, K + 1]
}

S3GenMel::S3GenMel(c10::TensorOptions options) {
  mel_basis = slaney_mel_filterbank(sample_rate, n_fft, n_mels, fmin, fmax).to(options.device());
  window = at::hann_window(win, at::TensorOptions().dtype(at::kFloat)).to(options.device());
}

// Matcha mel_spectrogram: y = reflect_pad(y, (n_fft - hop) / 2); |STFT| with center=False;
// log(clamp(mel_basis @ |X|, 1e-5)).
at::Tensor S3GenMel::operator()(const at::Tensor& wav) const {
  const int64_t pad = (n_fft - hop) / 2;
  at::Tensor y = at::reflection_pad1d(wav.unsqueeze(1), {pad, pad}).squeeze(1);  // [B, S + 2 pad]
  at::Tensor spec = at::stft(y, n_fft, hop, win, window, /*normalized=*/false, /*onesided=*/true,
                             /*return_complex=*/true);  // [B, 961, F]
  spec = at::view_as_real(spec).pow(2).sum(-1).add(1e-9).sqrt();
  at::Tensor mel = at::matmul(mel_basis, spec);  // [B, 80, F]
  return at::log(at::clamp_min(mel, 1e-5));
}

S3TokenizerLogMel::S3TokenizerLogMel(int64_t n_mels_in, c10::TensorOptions options)
    : n_mels(n_mels_in) {
  mel_filters = slaney_mel_filterbank(sample_rate, n_fft, n_mels, 0.0, sample_rate / 2.0)
                    .to(options.device());
  window = at::hann_window(n_fft, at::TensorOptions().dtype(at::kFloat)).to(options.device());
}

at::Tensor S3TokenizerLogMel::operator()(const at::Tensor& wav) const {
  at::Tensor stft =
      at::stft(wav, n_fft, hop, n_fft, window, /*center=*/true, "reflect", /*normalized=*/false,
               /*onesided=*/true, /*return_complex=*/true);                    // [B, 201, F + 1]
  at::Tensor magnitudes = stft.narrow(-1, 0, stft.size(-1) - 1).abs().pow(2);  // [B, 201, F]
  at::Tensor mel = at::matmul(mel_filters, magnitudes);                        // [B, M, F]
  at::Tensor log_spec = at::clamp_min(mel, 1e-10).log10();
  log_spec = at::maximum(log_spec, log_spec.max() - 8.0);
  return (log_spec + 4.0) / 4.0;
}

KaldiFbank::KaldiFbank(int64_t n_mels_in, c10::TensorOptions options) : n_mels(n_mels_in) {
  mel_banks = kaldi_mel_banks(n_mels, n_fft, static_cast<double>(sample_rate), 20.0, 0.0)
                  .to(options.device());
  window = at::hann_window(frame_length, /*periodic=*/false, at::TensorOptions().dtype(at::kFloat))
               .pow(0.85)
               .to(options.device());
}

// torchaudio kaldi.fbank -> _get_window (snip_edges framing, DC removal, pre-emphasis with the
// first sample replicated, povey window, zero pad to 512) -> |rfft|^2 -> mel -> log(max(., eps)).
at::Tensor KaldiFbank::operator()(const at::Tensor& wav) const {
  const int64_t n = wav.size(-1);
  const int64_t frames = 1 + (n - frame_length) / frame_shift;
  at::Tensor x = wav.reshape({n}).contiguous();
  at::Tensor strided = x.as_strided({frames, frame_length}, {frame_shift, 1});  // [F, 400]
  strided = strided - strided.mean(1, /*keepdim=*/true);
  at::Tensor offset = at::cat({strided.narrow(1, 0, 1), strided.narrow(1, 0, frame_length - 1)}, 1);
  strided = strided - offset * preemphasis;
  strided = strided * window.unsqueeze(0);
  strided = at::constant_pad_nd(strided, {0, n_fft - frame_length}, 0.0);  // [F, 512]
  at::Tensor spectrum = at::fft_rfft(strided).abs().pow(2.0);              // [F, 257]
  at::Tensor energies = at::mm(spectrum, mel_banks.t());                   // [F, 80]
  const double eps = std::numeric_limits<float>::epsilon();
  energies = at::max(energies, at::scalar_tensor(eps, energies.options())).log();
  return energies - energies.mean(0, /*keepdim=*/true);
}

VoiceEncoderMel::VoiceEncoderMel(int64_t sample_rate_in, int64_t n_fft_in, int64_t hop_in,
                                 int64_t win_in, int64_t n_mels_in, double fmin_in, double fmax_in,
                                 double power_in, c10::TensorOptions options)
    : sample_rate(sample_rate_in),
      n_fft(n_fft_in),
      hop(hop_in),
      win(win_in),
      n_mels(n_mels_in),
      fmin(fmin_in),
      fmax(fmax_in),
      power(power_in) {
  mel_basis = slaney_mel_filterbank(sample_rate, n_fft, n_mels, fmin, fmax).to(options.device());
  // librosa get_window("hann", win, fftbins=True) is float64; centred in n_fft when win < n_fft
  at::Tensor w = at::hann_window(win, at::TensorOptions().dtype(at::kDouble));
  if (win < n_fft) {
    const int64_t left = (n_fft - win) / 2;
    w = at::constant_pad_nd(w, {left, n_fft - win - left}, 0.0);
  }
  window = w.to(options.device());
}

at::Tensor VoiceEncoderMel::operator()(const at::Tensor& wav) const {
  at::Tensor y = wav.reshape({-1}).to(at::kDouble);
  at::Tensor stft =
      at::stft(y, n_fft, hop, n_fft, window, /*center=*/true, "reflect", /*normalized=*/false,
               /*onesided=*/true, /*return_complex=*/true);  // [201, F] complex128
  at::Tensor magnitudes = stft.to(at::kComplexFloat).abs();  // float32, as librosa stores
  if (power != 1.0) magnitudes = magnitudes.pow(power);
  return at::matmul(mel_basis, magnitudes);  // [M, F]
}

// librosa.effects.trim -> _signal_to_frame_nonsilent: rms over 2048-sample frames (zero-padded,
// centred), dB relative to the loudest frame, amin 1e-10 on the power.
TrimRange librosa_trim(const at::Tensor& wav, double top_db, int64_t frame_length,
                       int64_t hop_length) {
  at::Tensor y = wav.reshape({-1}).to(at::kCPU, at::kDouble).contiguous();
  const int64_t n = y.size(0);
  at::Tensor padded = at::constant_pad_nd(y, {frame_length / 2, frame_length / 2}, 0.0);
  const int64_t frames = 1 + (padded.size(0) - frame_length) / hop_length;
  at::Tensor framed = padded.as_strided({frames, frame_length}, {hop_length, 1});
  at::Tensor power = framed.pow(2).mean(1);  // rms^2 per frame
  const double ref = power.max().item<double>();
  at::Tensor db =
      10.0 * at::log10(at::clamp_min(power, 1e-10)) - 10.0 * std::log10(std::max(1e-10, ref));
  at::Tensor nonsilent = at::nonzero(db > -top_db).reshape({-1});
  TrimRange range;
  if (nonsilent.numel() == 0) return range;
  range.start = nonsilent[0].item<int64_t>() * hop_length;
  range.end = std::min(n, (nonsilent[-1].item<int64_t>() + 1) * hop_length);
  return range;
}

}  // namespace chatterbox
