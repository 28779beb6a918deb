#include "voice/voice_encoder.h"

#include <ATen/ATen.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "common/error.h"

namespace chatterbox {

VoiceEncoderConfig VoiceEncoderConfig::from_json(const nlohmann::json& j) {
  VoiceEncoderConfig c;
  if (!j.is_object()) return c;
  c.sample_rate = j.value("sample_rate", c.sample_rate);
  c.num_mels = j.value("num_mels", c.num_mels);
  c.n_fft = j.value("n_fft", c.n_fft);
  c.hop_size = j.value("hop_size", c.hop_size);
  c.win_size = j.value("win_size", c.win_size);
  c.fmin = j.value("fmin", c.fmin);
  c.fmax = j.value("fmax", c.fmax);
  c.mel_power = j.value("mel_power", c.mel_power);
  c.hidden_size = j.value("ve_hidden_size", c.hidden_size);
  c.embed_size = j.value("speaker_embed_size", c.embed_size);
  c.num_layers = j.value("lstm_num_layers", c.num_layers);
  c.partial_frames = j.value("ve_partial_frames", c.partial_frames);
  c.final_relu = j.value("ve_final_relu", c.final_relu);
  if (j.value("mel_type", std::string("amp")) != "amp" || j.value("normalized_mels", false) ||
      j.value("preemphasis", 0.0) != 0.0)
    throw Error(ErrorKind::kModelFile,
                "ve.json: only mel_type \"amp\", unnormalised mels without pre-emphasis "
                "are supported (the released VoiceEncoder)");
  return c;
}

int64_t VoiceEncoderConfig::frame_step() const {
  // np.round is round-half-to-even; std::nearbyint uses the current (to-nearest-even) mode.
  return static_cast<int64_t>(std::nearbyint((static_cast<double>(sample_rate) / rate) /
                                             static_cast<double>(partial_frames)));
}

VoiceEncoder::VoiceEncoder(const VoiceEncoderConfig& config, WeightReader reader)
    : config_(config),
      mel_(config.sample_rate, config.n_fft, config.hop_size, config.win_size, config.num_mels,
           config.fmin, config.fmax, config.mel_power, reader.options()) {
  const int64_t H = config_.hidden_size;
  for (int64_t l = 0; l < config_.num_layers; ++l) {
    const std::string s = std::to_string(l);
    const int64_t in = l == 0 ? config_.num_mels : H;
    lstm_params_.push_back(reader.take("lstm.weight_ih_l" + s, {4 * H, in}));
    lstm_params_.push_back(reader.take("lstm.weight_hh_l" + s, {4 * H, H}));
    lstm_params_.push_back(reader.take("lstm.bias_ih_l" + s, {4 * H}));
    lstm_params_.push_back(reader.take("lstm.bias_hh_l" + s, {4 * H}));
  }
  proj_weight_ = reader.take("proj.weight", {config_.embed_size, H});
  proj_bias_ = reader.take("proj.bias", {config_.embed_size});
  reader.finish();
}

at::Tensor VoiceEncoder::forward(const at::Tensor& mels, at::Tensor* h_n, at::Tensor* c_n) const {
  const int64_t B = mels.size(0);
  at::Tensor h0 = at::zeros({config_.num_layers, B, config_.hidden_size}, mels.options());
  auto out = at::lstm(mels, {h0, h0}, lstm_params_, /*has_biases=*/true, config_.num_layers,
                      /*dropout=*/0.0,
                      /*train=*/false, /*bidirectional=*/false, /*batch_first=*/true);
  at::Tensor hidden = std::get<1>(out);  // [L, B, H]
  if (h_n) *h_n = hidden;
  if (c_n) *c_n = std::get<2>(out);
  at::Tensor raw = at::linear(hidden[config_.num_layers - 1], proj_weight_, proj_bias_);  // [B, E]
  if (config_.final_relu) raw = at::relu(raw);
  return raw / at::linalg_norm(raw, c10::nullopt, {1}, /*keepdim=*/true);
}

at::Tensor VoiceEncoder::mel(const at::Tensor& wav16) const {
  return mel_(wav16).t().contiguous();  // [F, 40]
}

// inference(): get_num_wins, zero padding to the target length, windows every frame_step frames.
at::Tensor VoiceEncoder::partials(const at::Tensor& mel) const {
  const int64_t n_frames = mel.size(0), win = config_.partial_frames, step = config_.frame_step();
  int64_t n_wins = std::max<int64_t>(n_frames - win + step, 0) / step;
  const int64_t remainder = std::max<int64_t>(n_frames - win + step, 0) % step;
  if (n_wins == 0 || static_cast<double>(remainder + (win - step)) / static_cast<double>(win) >=
                         config_.min_coverage)
    n_wins += 1;
  const int64_t target = win + step * (n_wins - 1);
  at::Tensor padded = mel;
  if (target > n_frames)
    padded = at::constant_pad_nd(mel, {0, 0, 0, target - n_frames}, 0.0);  // [target, 40]
  std::vector<at::Tensor> windows;
  for (int64_t i = 0; i < n_wins; ++i) windows.push_back(padded.narrow(0, i * step, win));
  return at::stack(windows);  // [P, 160, 40]
}

at::Tensor VoiceEncoder::embed(const at::Tensor& wav16, const TensorTap& tap) const {
  at::Tensor wav = wav16.reshape({-1});
  const TrimRange range = librosa_trim(wav, config_.trim_top_db);
  if (range.end <= range.start)
    throw Error(ErrorKind::kInvalidInput,
                "reference audio is silent: no part of it is within " +
                    std::to_string(static_cast<int>(config_.trim_top_db)) +
                    " dB of its loudest part");
  at::Tensor trimmed = wav.narrow(0, range.start, range.end - range.start);
  // librosa's centred reflect padding needs more than n_fft / 2 samples.
  if (trimmed.size(0) <= config_.n_fft / 2)
    throw Error(ErrorKind::kInvalidInput, "reference audio has only " +
                                              std::to_string(trimmed.size(0)) +
                                              " non-silent samples at 16 kHz; need more than " +
                                              std::to_string(config_.n_fft / 2));
  at::Tensor mel_tf = mel(trimmed);                           // [F, 40]
  at::Tensor windows = partials(mel_tf);                      // [P, 160, 40]
  at::Tensor partial_embeds = forward(windows);               // [P, 256]
  at::Tensor raw = partial_embeds.mean(0, /*keepdim=*/true);  // [1, 256]
  at::Tensor embed = raw / at::linalg_norm(raw, c10::nullopt, {1}, /*keepdim=*/true);
  if (tap) {
    tap("ve.trim_index", -1, at::tensor({range.start, range.end}, at::kLong));
    tap("ve.trimmed_wav", -1, trimmed);
    tap("ve.mel", -1, mel_tf);
    tap("ve.partial_mels", -1, windows);
    tap("ve.partial_embeds", -1, partial_embeds);
  }
  return embed;
}

}  // namespace chatterbox
