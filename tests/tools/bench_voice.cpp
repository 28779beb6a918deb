// chatterbox-bench case `voice`: building a voice conditioning from a 10 s reference on the
// full-size VoiceEncoder, CAMPPlus and S3TokenizerV2.
//
//   chatterbox-bench --model DIR voice [seconds=10] [oracle=DIR]
//
// DIR/ve.safetensors and DIR/s3gen.safetensors (+ ve.json / s3gen.json) are used when present;
// otherwise random full-size `ve.*`, `speaker_encoder.*` and `tokenizer.*` weights are written
// once (to /tmp) from the oracle's real_checkpoint_layout.json (oracle=DIR, else
// $CHATTERBOX_ORACLE_DIR, else the oracle directory the build was configured with).
// Measures: load ms; the first build() after load ("cold": weights paged in from the mapping,
// allocator and thread pools not warmed) with its page faults; the warm build() median; and a
// warm breakdown by stage (resampling, VoiceEncoder, S3Gen prompt mel, CAMPPlus, S3 tokens of the
// 10 s S3Gen reference, S3 tokens of the 6 s T3 prompt).
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "bench.h"
#include "io/safetensors.h"
#include "voice/voice_builder.h"

namespace {

using chatterbox::VoiceBuilder;
using chatterbox::VoiceBuilderConfig;

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return in ? nlohmann::json::parse(in) : nlohmann::json();
}

// Random weights for the tensors of `file` in the real layout whose names start with one of
// `prefixes`, scaled like trained ones (weights N(0, 1/fan_in), norms and BN variances 1, biases
// and BN means 0). Written once and reused.
std::string random_full_weights(const std::string& oracle_dir, const std::string& file,
                                const std::vector<std::string>& prefixes, const std::string& path) {
  if (bench::file_exists(path)) return path;
  const std::string layout_path = oracle_dir + "/real_checkpoint_layout.json";
  std::ifstream in(layout_path);
  if (!in) throw std::runtime_error("bench voice: no --model and no " + layout_path);
  nlohmann::json layout = nlohmann::json::parse(in)[file];
  at::manual_seed(0);
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  auto ends_with = [](const std::string& s, const std::string& e) {
    return s.size() >= e.size() && s.compare(s.size() - e.size(), e.size(), e) == 0;
  };
  for (auto it = layout.begin(); it != layout.end(); ++it) {
    const std::string& name = it.key();
    bool wanted = false;
    for (const auto& p : prefixes) wanted |= name.rfind(p, 0) == 0;
    if (!wanted) continue;
    const std::vector<int64_t> shape = it.value()["shape"].get<std::vector<int64_t>>();
    at::Tensor t;
    if (it.value()["dtype"].get<std::string>().find("int") != std::string::npos) {
      t = at::zeros(shape, at::kLong);
    } else if (ends_with(name, ".bias") || ends_with(name, "running_mean")) {
      t = at::zeros(shape);
    } else if (ends_with(name, "running_var") ||
               (shape.size() == 1 && ends_with(name, ".weight"))) {
      t = at::ones(shape);
    } else if (shape.size() >= 2) {
      int64_t fan_in = 1;
      for (size_t i = 1; i < shape.size(); ++i) fan_in *= shape[i];
      t = at::randn(shape) / std::sqrt(static_cast<double>(fan_in));
    } else {
      t = at::randn(shape) * 0.1;
    }
    tensors.emplace_back(name, t);
  }
  chatterbox::write_safetensors(path + ".tmp", tensors);
  std::rename((path + ".tmp").c_str(), path.c_str());
  return path;
}

// A deterministic voice-like 24 kHz signal: gliding 110-220 Hz harmonic tone with a syllable
// envelope, short pauses and faint noise.
std::vector<float> synthetic_reference(double seconds, int sr) {
  const int64_t n = static_cast<int64_t>(seconds * sr);
  std::vector<float> wav(n);
  uint32_t state = 12345;
  double phase = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double t = static_cast<double>(i) / sr;
    const double f0 = 165.0 + 55.0 * std::sin(2 * M_PI * 0.3 * t);
    phase += 2 * M_PI * f0 / sr;
    double v = 0.0;
    for (int h = 1; h <= 12; ++h) v += std::sin(h * phase) / h;
    const double env =
        std::max(0.0, std::sin(2 * M_PI * 2.5 * t)) * (std::fmod(t, 2.0) < 1.7 ? 1.0 : 0.0);
    state = state * 1664525u + 1013904223u;
    const double noise = (static_cast<double>(state) / 4294967296.0 - 0.5) * 0.002;
    wav[i] = static_cast<float>(0.25 * env * v + noise);
  }
  return wav;
}

}  // namespace

BENCH_CASE(voice) {
  const auto tensor_options = at::TensorOptions().dtype(at::kFloat);
  std::string ve_path, s3gen_path;
  nlohmann::json ve_json, s3gen_json, t3_json;
  bool random_weights = false;
  if (!options.model_dir.empty() && bench::file_exists(options.model_dir + "/ve.safetensors") &&
      bench::file_exists(options.model_dir + "/s3gen.safetensors")) {
    ve_path = options.model_dir + "/ve.safetensors";
    s3gen_path = options.model_dir + "/s3gen.safetensors";
    ve_json = read_json(options.model_dir + "/ve.json");
    s3gen_json = read_json(options.model_dir + "/s3gen.json");
    t3_json = read_json(options.model_dir + "/t3_cfg.json");
  } else {
    const std::string oracle = bench::oracle_dir(options);
    ve_path = random_full_weights(oracle, "ve.safetensors", {""},
                                  "/tmp/chatterbox-bench-voice-ve-full.safetensors");
    s3gen_path =
        random_full_weights(oracle, "s3gen.safetensors", {"speaker_encoder.", "tokenizer."},
                            "/tmp/chatterbox-bench-voice-s3gen-full.safetensors");
    random_weights = true;
  }
  const double seconds = std::stod(bench::arg_value(options, "seconds", "10"));
  const std::vector<float> wav = synthetic_reference(seconds, 24000);
  const nlohmann::json extra = {{"reference_seconds", seconds}, {"random_weights", random_weights}};

  long faults0 = bench::page_faults();
  double t0 = bench::now_seconds();
  auto builder = VoiceBuilder::load(ve_path, s3gen_path,
                                    VoiceBuilderConfig::from_json(ve_json, s3gen_json, t3_json),
                                    tensor_options);
  const double load_s = bench::now_seconds() - t0;
  bench::emit("voice", "load_ms", load_s * 1e3, "ms", extra);

  faults0 = bench::page_faults();
  t0 = bench::now_seconds();
  chatterbox::VoiceConditioning conds = builder->build(wav, 24000, 0.5f);
  const double cold_s = bench::now_seconds() - t0;
  nlohmann::json cold_extra = extra;
  cold_extra["page_faults"] = bench::page_faults() - faults0;
  cold_extra["prompt_tokens"] = conds.prompt_token.size(1);
  cold_extra["t3_prompt_tokens"] = conds.cond_prompt_speech_tokens.size(1);
  bench::emit("voice", "build_cold_ms", cold_s * 1e3, "ms", cold_extra);
  bench::emit("voice", "load_plus_build_cold_ms", (load_s + cold_s) * 1e3, "ms", extra);

  std::vector<double> warm;
  long warm_faults = 0;
  for (int r = 0; r < std::max(1, options.repeat); ++r) {
    faults0 = bench::page_faults();
    t0 = bench::now_seconds();
    builder->build(wav, 24000, 0.5f);
    warm.push_back(bench::now_seconds() - t0);
    warm_faults = bench::page_faults() - faults0;
  }
  nlohmann::json warm_extra = extra;
  warm_extra["page_faults_last"] = warm_faults;
  warm_extra["rtf"] = bench::median(warm) / seconds;
  bench::emit("voice", "build_warm_ms", bench::median(warm) * 1e3, "ms", warm_extra);

  // Warm breakdown by stage, the same calls build_24k makes.
  c10::InferenceMode guard;
  at::Tensor w24 =
      at::from_blob(const_cast<float*>(wav.data()), {static_cast<int64_t>(wav.size())}, at::kFloat)
          .clone();
  auto time_ms = [&](const std::string& measure, auto&& fn) {
    std::vector<double> runs;
    for (int r = 0; r < std::max(1, options.repeat); ++r) {
      const double s = bench::now_seconds();
      fn();
      runs.push_back(bench::now_seconds() - s);
    }
    bench::emit("voice", measure, bench::median(runs) * 1e3, "ms", extra);
  };
  at::Tensor w16;
  time_ms("stage_resample_24k_to_16k_ms", [&] { w16 = chatterbox::resample(w24, 24000, 16000); });
  time_ms("stage_voice_encoder_ms", [&] { builder->voice_encoder().embed(w16); });
  at::Tensor w24_ref = w24.narrow(0, 0, std::min<int64_t>(w24.size(0), 240000));
  at::Tensor w16_ref = chatterbox::resample(w24_ref, 24000, 16000);
  time_ms("stage_s3gen_mel_ms", [&] { builder->s3gen_mel()(w24_ref.unsqueeze(0)); });
  time_ms("stage_campplus_ms", [&] { builder->campplus().inference(w16_ref); });
  time_ms("stage_tokenizer_s3gen_ref_ms", [&] { builder->tokenizer().tokenize(w16_ref); });
  time_ms("stage_tokenizer_t3_prompt_ms", [&] {
    builder->tokenizer().tokenize(w16.narrow(0, 0, std::min<int64_t>(w16.size(0), 96000)),
                                  builder->config().speech_cond_prompt_len);
  });
  bench::emit("voice", "peak_rss_mb", bench::peak_rss_bytes() / 1e6, "MB", extra);
}

// chatterbox-bench case `voice_resampler`: how much the 24 -> 16 kHz resampler choice moves the
// conditioning. Builds the same reference with the torchaudio default (what the fixtures use) and
// with librosa's kaiser_best filter (a stand-in for the soxr HQ resampler the original API uses
// for the T3/VoiceEncoder signal), on the oracle's small model with its reference and on the
// full-size model with a synthetic 10 s reference. Reports token agreement and embedding changes.
BENCH_CASE(voice_resampler) {
  const std::string oracle = bench::oracle_dir(options);
  const auto tensor_options = at::TensorOptions().dtype(at::kFloat);
  struct Setup {
    std::string name, ve, s3gen;
    nlohmann::json ve_json, s3gen_json, t3_json;
    std::vector<float> wav;
  };
  std::vector<Setup> setups;
  {
    Setup s{"oracle_small",
            oracle + "/weights/ve.safetensors",
            oracle + "/weights/s3gen.safetensors",
            read_json(oracle + "/weights/ve.json"),
            read_json(oracle + "/weights/s3gen.json"),
            read_json(oracle + "/weights/t3_cfg.json"),
            {}};
    chatterbox::SafetensorsFile fx(oracle + "/fixtures/audio_frontend.safetensors");
    at::Tensor w = fx.tensor("ref_wav_24k").reshape({-1}).contiguous();
    s.wav.assign(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
    setups.push_back(std::move(s));
  }
  {
    Setup s{"full_random",
            random_full_weights(oracle, "ve.safetensors", {""},
                                "/tmp/chatterbox-bench-voice-ve-full.safetensors"),
            random_full_weights(oracle, "s3gen.safetensors", {"speaker_encoder.", "tokenizer."},
                                "/tmp/chatterbox-bench-voice-s3gen-full.safetensors"),
            {},
            {},
            {},
            synthetic_reference(10.0, 24000)};
    setups.push_back(std::move(s));
  }
  for (const Setup& s : setups) {
    VoiceBuilderConfig base = VoiceBuilderConfig::from_json(s.ve_json, s.s3gen_json, s.t3_json);
    VoiceBuilderConfig alt = base;
    alt.resampler = chatterbox::ResamplerParams::kaiser_best();
    auto a = VoiceBuilder::load(s.ve, s.s3gen, base, tensor_options);
    auto b = VoiceBuilder::load(s.ve, s.s3gen, alt, tensor_options);
    const auto ca = a->build(s.wav, 24000, 0.5f), cb = b->build(s.wav, 24000, 0.5f);
    auto agreement = [](const at::Tensor& x, const at::Tensor& y) {
      const int64_t n = std::min(x.size(1), y.size(1));
      return x.narrow(1, 0, n).eq(y.narrow(1, 0, n)).to(at::kDouble).mean().item<double>();
    };
    auto rel = [](const at::Tensor& x, const at::Tensor& y) {
      return (x - y).abs().max().item<double>() / y.abs().max().item<double>();
    };
    auto cosine = [](const at::Tensor& x, const at::Tensor& y) {
      return (x * y).sum().item<double>() / (x.norm().item<double>() * y.norm().item<double>());
    };
    const nlohmann::json extra = {{"setup", s.name},
                                  {"alternative", "kaiser_best (width 64, rolloff 0.9476)"}};
    bench::emit("voice_resampler", "t3_prompt_token_agreement",
                agreement(cb.cond_prompt_speech_tokens, ca.cond_prompt_speech_tokens), "fraction",
                extra);
    bench::emit("voice_resampler", "s3gen_prompt_token_agreement",
                agreement(cb.prompt_token, ca.prompt_token), "fraction", extra);
    bench::emit("voice_resampler", "speaker_emb_cosine", cosine(cb.speaker_emb, ca.speaker_emb),
                "cosine", extra);
    bench::emit("voice_resampler", "speaker_emb_max_rel_diff", rel(cb.speaker_emb, ca.speaker_emb),
                "rel", extra);
    bench::emit("voice_resampler", "xvector_cosine", cosine(cb.embedding, ca.embedding), "cosine",
                extra);
    bench::emit("voice_resampler", "xvector_max_rel_diff", rel(cb.embedding, ca.embedding), "rel",
                extra);
    bench::emit("voice_resampler", "prompt_feat_max_abs_diff",
                (cb.prompt_feat - ca.prompt_feat).abs().max().item<double>(), "log-mel", extra);
  }
}
