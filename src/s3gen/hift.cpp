// HiFTGenerator, SourceModuleHnNSF and SineGen (chatterbox/models/s3gen/hifigan.py); see hift.h.
// Operations follow the reference expression by expression (same ops, same order, same scalar
// types), so that on the CPU the result matches the reference to rounding.
#include "s3gen/hift.h"

#include <ATen/ATen.h>

#include <cmath>
#include <string>

#include "common/error.h"

namespace chatterbox {

// ---------------------------------------------------------------------------------------------
// HiftConfig
// ---------------------------------------------------------------------------------------------

int64_t HiftConfig::samples_per_frame() const {
  int64_t p = istft_hop_len;
  for (int64_t u : upsample_rates) p *= u;
  return p;
}

namespace {

template <typename T>
void read_key(const nlohmann::json& j, const char* key, T& out) {
  if (j.is_object() && j.contains(key) && !j.at(key).is_null()) out = j.at(key).get<T>();
}

[[noreturn]] void config_error(const std::string& what) {
  throw Error(ErrorKind::kModelFile, "s3gen.json hift: " + what);
}

}  // namespace

HiftConfig HiftConfig::from_json(const nlohmann::json& s3gen_json) {
  HiftConfig c;
  if (s3gen_json.is_null()) return c;
  try {
    const nlohmann::json h = s3gen_json.value("hift", nlohmann::json::object());
    read_key(h, "in_channels", c.in_channels);
    read_key(h, "base_channels", c.base_channels);
    read_key(h, "nb_harmonics", c.nb_harmonics);
    read_key(h, "sampling_rate", c.sampling_rate);
    read_key(h, "nsf_alpha", c.nsf_alpha);
    read_key(h, "nsf_sigma", c.nsf_sigma);
    read_key(h, "nsf_voiced_threshold", c.nsf_voiced_threshold);
    read_key(h, "upsample_rates", c.upsample_rates);
    read_key(h, "upsample_kernel_sizes", c.upsample_kernel_sizes);
    if (h.contains("istft_params")) {
      read_key(h.at("istft_params"), "n_fft", c.istft_n_fft);
      read_key(h.at("istft_params"), "hop_len", c.istft_hop_len);
    }
    read_key(h, "resblock_kernel_sizes", c.resblock_kernel_sizes);
    read_key(h, "resblock_dilation_sizes", c.resblock_dilation_sizes);
    read_key(h, "source_resblock_kernel_sizes", c.source_resblock_kernel_sizes);
    read_key(h, "source_resblock_dilation_sizes", c.source_resblock_dilation_sizes);
    read_key(h, "lrelu_slope", c.lrelu_slope);
    read_key(h, "audio_limit", c.audio_limit);
    const nlohmann::json f = s3gen_json.value("f0_predictor", nlohmann::json::object());
    read_key(f, "in_channels", c.f0_in_channels);
    read_key(f, "cond_channels", c.f0_cond_channels);
    read_key(f, "num_class", c.f0_num_class);
  } catch (const nlohmann::json::exception& e) {
    config_error(e.what());
  }
  const size_t stages = c.upsample_rates.size();
  if (stages == 0 || c.upsample_kernel_sizes.size() != stages) {
    config_error("upsample_rates and upsample_kernel_sizes must have the same non-zero length");
  }
  // The reference zips the source branches with the stages (one per stage).
  if (c.source_resblock_kernel_sizes.size() != stages ||
      c.source_resblock_dilation_sizes.size() != stages) {
    config_error("one source resblock per upsampling stage expected");
  }
  if (c.resblock_kernel_sizes.empty() ||
      c.resblock_dilation_sizes.size() != c.resblock_kernel_sizes.size()) {
    config_error("resblock_kernel_sizes and resblock_dilation_sizes differ in length");
  }
  if (c.base_channels % (int64_t{1} << stages) != 0 || c.istft_n_fft % 2 != 0) {
    config_error("base_channels must halve exactly at every stage; n_fft must be even");
  }
  if (c.f0_in_channels != c.in_channels)
    config_error("f0_predictor in_channels != hift in_channels");
  return c;
}

// ---------------------------------------------------------------------------------------------
// ResBlock
// ---------------------------------------------------------------------------------------------

namespace {

// Snake (hifigan.py): x + 1 / (alpha + 1e-9) * sin(x * alpha) ** 2, computed in place on a fresh
// tensor; same operations and rounding as the reference.
at::Tensor snake(const at::Tensor& x, const at::Tensor& alpha, const at::Tensor& inv_alpha) {
  at::Tensor t = x * alpha;  // [B, C, T]
  t.sin_();
  t.mul_(t);
  t.mul_(inv_alpha);
  return t.add_(x);
}

int64_t get_padding(int64_t kernel_size, int64_t dilation) {
  return (kernel_size * dilation - dilation) / 2;
}

}  // namespace

HiftResBlock HiftResBlock::load(WeightReader reader, int64_t channels, int64_t kernel_size,
                                const std::vector<int64_t>& dilations) {
  HiftResBlock b;
  b.dilations = dilations;
  b.kernel_size = kernel_size;
  for (size_t i = 0; i < dilations.size(); ++i) {
    const std::string n = std::to_string(i);
    b.convs1_weight.push_back(reader.take_weight("convs1." + n, {channels, channels, kernel_size}));
    b.convs1_bias.push_back(reader.take("convs1." + n + ".bias", {channels}));
    b.convs2_weight.push_back(reader.take_weight("convs2." + n, {channels, channels, kernel_size}));
    b.convs2_bias.push_back(reader.take("convs2." + n + ".bias", {channels}));
    at::Tensor a1 = reader.take("activations1." + n + ".alpha", {channels}).view({1, channels, 1});
    at::Tensor a2 = reader.take("activations2." + n + ".alpha", {channels}).view({1, channels, 1});
    b.alpha1.push_back(a1);
    b.inv_alpha1.push_back(1.0 / (a1 + 1e-9));
    b.alpha2.push_back(a2);
    b.inv_alpha2.push_back(1.0 / (a2 + 1e-9));
  }
  return b;
}

at::Tensor HiftResBlock::forward(const at::Tensor& x_in) const {
  at::Tensor x = x_in;  // [B, C, T]
  for (size_t i = 0; i < dilations.size(); ++i) {
    at::Tensor xt = snake(x, alpha1[i], inv_alpha1[i]);
    xt = at::conv1d(xt, convs1_weight[i], convs1_bias[i], /*stride=*/1,
                    /*padding=*/get_padding(kernel_size, dilations[i]), /*dilation=*/dilations[i]);
    xt = snake(xt, alpha2[i], inv_alpha2[i]);
    xt = at::conv1d(xt, convs2_weight[i], convs2_bias[i], /*stride=*/1,
                    /*padding=*/get_padding(kernel_size, 1));
    x = xt.add_(x);
  }
  return x;
}

// ---------------------------------------------------------------------------------------------
// HiFTGenerator
// ---------------------------------------------------------------------------------------------

HiftModel HiftModel::load(WeightReader reader, const HiftConfig& config) {
  HiftModel m;
  m.config_ = config;
  m.options_ = reader.options();
  const HiftConfig& c = config;
  const int64_t stages = int64_t(c.upsample_rates.size());
  const int64_t n_bins2 = c.istft_n_fft + 2;  // [real; imag] of n_fft / 2 + 1 bins

  m.f0_predictor_ = F0Predictor::load(reader.scoped("f0_predictor."), c);
  m.l_linear_weight_ = reader.take("m_source.l_linear.weight", {1, c.nb_harmonics + 1});
  m.l_linear_bias_ = reader.take("m_source.l_linear.bias", {1});
  m.conv_pre_weight_ = reader.take_weight("conv_pre", {c.base_channels, c.in_channels, 7});
  m.conv_pre_bias_ = reader.take("conv_pre.bias", {c.base_channels});

  for (int64_t i = 0; i < stages; ++i) {
    const std::string n = std::to_string(i);
    const int64_t ch_in = c.base_channels >> i, ch_out = c.base_channels >> (i + 1);
    m.ups_weight_.push_back(
        reader.take_weight("ups." + n, {ch_in, ch_out, c.upsample_kernel_sizes[i]}));
    m.ups_bias_.push_back(reader.take("ups." + n + ".bias", {ch_out}));
  }

  // Source branch i brings the excitation STFT (hop 4 frames) to the length of stage i: the
  // downsampling factor is the product of the upsample rates of the later stages
  // (downsample_rates = [1] + upsample_rates[::-1][:-1], cumulated, reversed: 15, 3, 1).
  for (int64_t i = 0; i < stages; ++i) {
    const std::string n = std::to_string(i);
    int64_t u = 1;
    for (int64_t k = i + 1; k < stages; ++k) u *= c.upsample_rates[k];
    const int64_t ch = c.base_channels >> (i + 1);
    const int64_t kernel = u == 1 ? 1 : 2 * u;
    m.source_downs_weight_.push_back(
        reader.take_weight("source_downs." + n, {ch, n_bins2, kernel}));
    m.source_downs_bias_.push_back(reader.take("source_downs." + n + ".bias", {ch}));
    m.source_downs_stride_.push_back(u);
    m.source_downs_padding_.push_back(u == 1 ? 0 : u / 2);
    m.source_resblocks_.push_back(HiftResBlock::load(reader.scoped("source_resblocks." + n + "."),
                                                     ch, c.source_resblock_kernel_sizes[i],
                                                     c.source_resblock_dilation_sizes[i]));
  }

  const int64_t kernels = int64_t(c.resblock_kernel_sizes.size());
  for (int64_t i = 0; i < stages; ++i) {
    const int64_t ch = c.base_channels >> (i + 1);
    for (int64_t j = 0; j < kernels; ++j) {
      m.resblocks_.push_back(
          HiftResBlock::load(reader.scoped("resblocks." + std::to_string(i * kernels + j) + "."),
                             ch, c.resblock_kernel_sizes[j], c.resblock_dilation_sizes[j]));
    }
  }

  const int64_t ch_last = c.base_channels >> stages;
  m.conv_post_weight_ = reader.take_weight("conv_post", {n_bins2, ch_last, 7});
  m.conv_post_bias_ = reader.take("conv_post.bias", {n_bins2});

  // scipy.signal.get_window("hann", n_fft, fftbins=True): periodic Hann, computed in double and
  // rounded to float32 as the reference does (np.float32 cast).
  at::Tensor window =
      at::hann_window(c.istft_n_fft, /*periodic=*/true, at::TensorOptions().dtype(at::kDouble));
  m.stft_window_ = window.to(m.options_.dtype(at::kFloat));
  return m;
}

at::Tensor HiftModel::upsample_f0(const at::Tensor& f0) const {
  // nn.Upsample(scale_factor=480) (nearest) on f0[:, None] [B, 1, F] -> [B, 1, S]; the same
  // ATen op with the same scale factor picks the same source index for every sample.
  const std::vector<double> scale{double(samples_per_frame())};
  at::Tensor up =
      at::upsample_nearest1d(f0.unsqueeze(1), c10::nullopt, at::ArrayRef<double>(scale));
  return up.transpose(1, 2);  // [B, S, 1]
}

at::Tensor HiftModel::source(const at::Tensor& f0_upsampled, HiftRandom& random,
                             int64_t start_sample, const HiftPhaseAnchor* anchor,
                             at::Tensor* phase_cycles) const {
  const HiftConfig& c = config_;
  const int64_t h_count = harmonics();
  // The source is always computed in float32: a reduced-precision running phase would be useless.
  at::Tensor f0 = f0_upsampled.transpose(1, 2).to(at::kFloat);  // [B, 1, S]
  const int64_t batch = f0.size(0), samples = f0.size(2);
  const auto float_options = f0.options();

  // SineGen.forward. F_mat[:, i] = f0 * (i + 1) / sampling_rate  [B, H, S]
  std::vector<at::Tensor> rows;
  rows.reserve(h_count);
  for (int64_t i = 0; i < h_count; ++i) rows.push_back(f0 * int64_t(i + 1) / c.sampling_rate);
  at::Tensor f_mat = at::cat(rows, 1);
  // theta = 2 pi * (cumsum(F_mat) % 1): the running phase in cycles, wrapped. (ATen's CPU cumsum
  // accumulates float32 in double, as the reference does.)
  at::Tensor cycles = at::cumsum(f_mat, -1);
  if (anchor)
    cycles = cycles + (anchor->cycles - cycles.narrow(2, anchor->sample, 1));  // continue a phase
  cycles = at::remainder(cycles, 1);
  if (phase_cycles) *phase_cycles = cycles;
  at::Tensor theta = cycles * (2 * M_PI);
  at::Tensor phase_vec = random.phases(h_count, float_options).clone();  // [1, H, 1]
  phase_vec.select(1, 0).zero_();  // the fundamental starts at phase 0
  at::Tensor sine_waves = at::sin(theta + phase_vec) * c.nsf_alpha;  // [B, H, S]

  at::Tensor uv = (f0 > c.nsf_voiced_threshold).to(at::kFloat);  // [B, 1, S]
  // Noise std: nsf_sigma where voiced, nsf_alpha / 3 where unvoiced.
  at::Tensor noise_amp = uv * c.nsf_sigma + (1 - uv) * c.nsf_alpha / 3;
  at::Tensor randn = random.noise(start_sample, samples, h_count, float_options);  // [1, H, S]
  if (batch != 1) randn = randn.expand({batch, h_count, samples});
  at::Tensor noise = noise_amp * randn;
  sine_waves = sine_waves * uv + noise;

  // SourceModuleHnNSF: tanh(l_linear(sine_waves^T))  [B, S, H] -> [B, S, 1] -> [B, 1, S]
  at::Tensor merged = at::tanh(at::linear(
      sine_waves.transpose(1, 2), l_linear_weight_.to(at::kFloat), l_linear_bias_.to(at::kFloat)));
  // The reference also draws a noise branch (randn_like(uv) * alpha / 3) that no caller uses.
  return merged.transpose(1, 2);
}

at::Tensor HiftModel::decode(const at::Tensor& mel, const at::Tensor& source) const {
  const HiftConfig& c = config_;
  const int64_t stages = int64_t(c.upsample_rates.size());
  const int64_t kernels = int64_t(c.resblock_kernel_sizes.size());
  const int64_t bins = c.istft_n_fft / 2 + 1;

  // _stft: centred (reflect pad n_fft / 2), onesided -> [B, bins, 120 F + 1] complex;
  // s_stft = [real ; imag] [B, 2 bins, 120 F + 1]
  // STFT/iSTFT in float32 whatever the model dtype (ATen's FFTs take float/double only).
  at::Tensor spec = at::stft(
      source.squeeze(1).to(at::kFloat), c.istft_n_fft, c.istft_hop_len, c.istft_n_fft, stft_window_,
      /*center=*/true, "reflect", /*normalized=*/false, /*onesided=*/c10::nullopt,
      /*return_complex=*/true);
  at::Tensor spec_ri = at::view_as_real(spec);  // [B, bins, frames, 2]
  at::Tensor s_stft =
      at::cat({spec_ri.select(-1, 0), spec_ri.select(-1, 1)}, 1).to(mel.scalar_type());

  at::Tensor x =
      at::conv1d(mel, conv_pre_weight_, conv_pre_bias_, /*stride=*/1, /*padding=*/3);  // [B, C0, F]
  for (int64_t i = 0; i < stages; ++i) {
    x = at::leaky_relu(x, c.lrelu_slope);
    const int64_t u = c.upsample_rates[i], k = c.upsample_kernel_sizes[i];
    x = at::conv_transpose1d(x, ups_weight_[i], ups_bias_[i], /*stride=*/u,
                             /*padding=*/(k - u) / 2);
    // [B, C_i, F * prod(rates[..i])]
    if (i == stages - 1) {
      // ReflectionPad1d((1, 0)): one frame on the left so the length matches the STFT's
      // 120 F + 1 frames.
      x = at::reflection_pad1d(x, {1, 0});
    }
    // Fusion with the excitation's spectrum at this stage's rate.
    at::Tensor si =
        at::conv1d(s_stft, source_downs_weight_[i], source_downs_bias_[i],
                   /*stride=*/source_downs_stride_[i], /*padding=*/source_downs_padding_[i]);
    si = source_resblocks_[i].forward(si);
    x = x + si;

    at::Tensor xs = resblocks_[i * kernels].forward(x);
    for (int64_t j = 1; j < kernels; ++j) xs += resblocks_[i * kernels + j].forward(x);
    x = xs / kernels;
  }
  x = at::leaky_relu(x);  // default slope 0.01 here, not lrelu_slope
  x = at::conv1d(x, conv_post_weight_, conv_post_bias_, /*stride=*/1,
                 /*padding=*/3);  // [B, 2 bins, frames]

  x = x.to(at::kFloat);
  at::Tensor magnitude = at::exp(x.narrow(1, 0, bins));
  at::Tensor phase = at::sin(x.narrow(1, bins, bins));  // the reference's sin of the raw channel
  // _istft
  magnitude = at::clamp_max(magnitude, 1e2);
  at::Tensor real = magnitude * at::cos(phase);
  at::Tensor imag = magnitude * at::sin(phase);
  at::Tensor wav = at::istft(at::complex(real, imag), c.istft_n_fft, c.istft_hop_len, c.istft_n_fft,
                             stft_window_, /*center=*/true, /*normalized=*/false);  // [B, S]
  return at::clamp(wav, -c.audio_limit, c.audio_limit);
}

HiftOutput HiftModel::inference(const at::Tensor& mel, HiftRandom& random, int64_t start_sample,
                                const at::Tensor& cache_source,
                                const HiftPhaseAnchor* anchor) const {
  if (mel.dim() != 3 || mel.size(1) != config_.in_channels) {
    throw Error(ErrorKind::kInvalidInput, "HiftModel::inference: mel must be [B, " +
                                              std::to_string(config_.in_channels) + ", F]");
  }
  HiftOutput out;
  if (mel.size(2) == 0) {
    // No frames, no samples (the STFT's reflect padding needs a non-empty signal).
    out.f0 = mel.new_empty({mel.size(0), 0});
    out.source = mel.new_empty({mel.size(0), 1, 0});
    out.wav = mel.new_empty({mel.size(0), 0});
    return out;
  }
  out.f0 = predict_f0(mel);  // [B, F]
  at::Tensor s =
      source(upsample_f0(out.f0), random, start_sample, anchor, &out.phase_cycles);  // [B, 1, S]
  if (cache_source.defined() && cache_source.numel() > 0) {
    const int64_t lc = cache_source.size(2);
    if (lc > s.size(2)) {
      throw Error(ErrorKind::kInvalidInput,
                  "HiftModel::inference: cache_source longer than the call");
    }
    s = s.contiguous();
    s.narrow(2, 0, lc).copy_(cache_source);
  }
  out.source = s;
  out.wav = decode(mel, s);
  return out;
}

}  // namespace chatterbox
