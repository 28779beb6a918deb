#include "voice/loudness.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace chatterbox {

namespace {

// numpy's pairwise summation (add.reduce on a contiguous array): plain loop below 8 values,
// eight interleaved accumulators up to 128, halves (multiple of 8) above.
template <typename T>
T pairwise_sum(const T* a, int64_t n) {
  if (n < 8) {
    T r = 0;
    for (int64_t i = 0; i < n; ++i) r += a[i];
    return r;
  }
  if (n <= 128) {
    T r[8];
    for (int k = 0; k < 8; ++k) r[k] = a[k];
    int64_t i = 8;
    for (; i < n - (n % 8); i += 8)
      for (int k = 0; k < 8; ++k) r[k] += a[i + k];
    T res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  int64_t half = n / 2;
  half -= half % 8;
  return pairwise_sum(a, half) + pairwise_sum(a + half, n - half);
}

// np.sum: the reduction runs over buffers of 8192 values, each summed pairwise and added to the
// running result in the array's own dtype.
template <typename T>
T numpy_sum(const T* a, int64_t n) {
  constexpr int64_t kBuffer = 8192;
  T out = 0;
  for (int64_t i = 0; i < n; i += kBuffer) out += pairwise_sum(a + i, std::min(kBuffer, n - i));
  return out;
}

struct Biquad {
  double b0, b1, b2, a1, a2;  // normalised by a0
};

// pyloudnorm IIRfilter.generate_coefficients (RBJ audio-EQ cookbook): gain_db, Q, centre frequency.
Biquad high_shelf(double gain_db, double q, double fc, double rate) {
  const double A = std::pow(10.0, gain_db / 40.0);
  const double w0 = 2.0 * M_PI * (fc / rate);
  const double alpha = std::sin(w0) / (2.0 * q);
  const double c = std::cos(w0), s = 2.0 * std::sqrt(A) * alpha;
  const double b0 = A * ((A + 1) + (A - 1) * c + s);
  const double b1 = -2 * A * ((A - 1) + (A + 1) * c);
  const double b2 = A * ((A + 1) + (A - 1) * c - s);
  const double a0 = (A + 1) - (A - 1) * c + s;
  const double a1 = 2 * ((A - 1) - (A + 1) * c);
  const double a2 = (A + 1) - (A - 1) * c - s;
  return {b0 / a0, b1 / a0, b2 / a0, a1 / a0, a2 / a0};
}

Biquad high_pass(double q, double fc, double rate) {
  const double w0 = 2.0 * M_PI * (fc / rate);
  const double alpha = std::sin(w0) / (2.0 * q);
  const double c = std::cos(w0);
  const double a0 = 1 + alpha;
  return {((1 + c) / 2) / a0, (-(1 + c)) / a0, ((1 + c) / 2) / a0, (-2 * c) / a0, (1 - alpha) / a0};
}

// scipy.signal.lfilter (direct form II transposed, zero initial state) in float64; the result is
// stored back into the float32 buffer as pyloudnorm's in-place assignment does.
void filter_in_place(std::vector<float>& x, const Biquad& f) {
  double z0 = 0.0, z1 = 0.0;
  for (float& v : x) {
    const double xn = v;
    const double yn = z0 + f.b0 * xn;
    z0 = z1 + xn * f.b1 - yn * f.a1;
    z1 = xn * f.b2 - yn * f.a2;
    v = static_cast<float>(yn);
  }
}

double block_loudness(double mean_square) { return -0.691 + 10.0 * std::log10(mean_square); }

}  // namespace

double integrated_loudness(const at::Tensor& wav, double sample_rate) {
  at::Tensor w = wav.reshape({-1}).to(at::kCPU, at::kFloat).contiguous();
  std::vector<float> x(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
  const double block = 0.4, step = 1.0 - 0.75, gate_abs = -70.0;
  const int64_t n = static_cast<int64_t>(x.size());
  if (static_cast<double>(n) < block * sample_rate) return std::numeric_limits<double>::quiet_NaN();

  // K-weighting: pre-filter (head response) then RLB high-pass.
  filter_in_place(x, high_shelf(4.0, 1.0 / std::sqrt(2.0), 1500.0, sample_rate));
  filter_in_place(x, high_pass(0.5, 38.0, sample_rate));
  std::vector<float> squares(x.size());
  for (size_t i = 0; i < x.size(); ++i) squares[i] = x[i] * x[i];  // float32, as np.square

  // Block bounds exactly as pyloudnorm computes them (the last block may run past the end and is
  // still divided by the full block length).
  const double duration = static_cast<double>(n) / sample_rate;
  const int64_t blocks =
      static_cast<int64_t>(std::nearbyint((duration - block) / (block * step))) + 1;
  std::vector<double> z(std::max<int64_t>(blocks, 0)), l(z.size());
  for (int64_t j = 0; j < blocks; ++j) {
    const double jd = static_cast<double>(j);
    const int64_t lo = std::min(n, static_cast<int64_t>(block * (jd * step) * sample_rate));
    const int64_t hi = std::min(n, static_cast<int64_t>(block * (jd * step + 1) * sample_rate));
    const float sum = hi > lo ? numpy_sum(squares.data() + lo, hi - lo) : 0.0f;
    z[j] = (1.0 / (block * sample_rate)) * static_cast<double>(sum);
    l[j] = block_loudness(z[j]);
  }
  // Mean of the selected block energies (np.mean: pairwise sum / count; NaN when none).
  auto gated_mean = [&](auto keep) {
    std::vector<double> kept;
    for (size_t j = 0; j < z.size(); ++j)
      if (keep(l[j])) kept.push_back(z[j]);
    if (kept.empty()) return std::numeric_limits<double>::quiet_NaN();
    return numpy_sum(kept.data(), static_cast<int64_t>(kept.size())) /
           static_cast<double>(kept.size());
  };
  const double gate_rel =
      block_loudness(gated_mean([&](double lj) { return lj >= gate_abs; })) - 10.0;
  double mean = gated_mean([&](double lj) { return lj > gate_rel && lj > gate_abs; });
  if (std::isnan(mean)) mean = 0.0;  // np.nan_to_num: silence -> -inf LUFS
  return block_loudness(mean);
}

at::Tensor normalize_loudness(const at::Tensor& wav, double sample_rate, double target_lufs,
                              LoudnessNormalization* info) {
  LoudnessNormalization norm;
  norm.loudness_lufs = integrated_loudness(wav, sample_rate);
  norm.gain_linear = std::pow(10.0, (target_lufs - norm.loudness_lufs) / 20.0);
  norm.applied = std::isfinite(norm.gain_linear) && norm.gain_linear > 0.0;
  if (info) *info = norm;
  if (!norm.applied) return wav;
  return wav.to(at::kFloat) *
         at::scalar_tensor(static_cast<float>(norm.gain_linear), wav.options().dtype(at::kFloat));
}

}  // namespace chatterbox
