#include "voice/voice_builder.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "voice/loudness.h"
#include "voice/soxr_resample.h"

namespace chatterbox {

namespace {

std::string seconds_string(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f s", s);
  return buf;
}

}  // namespace

VoiceBuilderConfig VoiceBuilderConfig::from_json(const nlohmann::json& ve,
                                                 const nlohmann::json& s3gen,
                                                 const nlohmann::json& t3, ModelVariant variant) {
  VoiceBuilderConfig c;
  c.variant = variant;
  const bool turbo = uses_turbo_pipeline(variant);
  if (turbo) {
    c.enc_cond_seconds = 15.0;       // ChatterboxTurboTTS.ENC_COND_LEN = 15 * S3_SR
    c.speech_cond_prompt_len = 375;  // from_local: hp.speech_cond_prompt_len = 375
    c.min_reference_seconds = 5.0;   // assert len / sr > 5.0
    c.tokenizer.attn_ln_eps = 1e-5;  // s3tokenizer 0.3
  }
  c.voice_encoder = VoiceEncoderConfig::from_json(ve);
  if (s3gen.is_object()) {
    if (s3gen.contains("tokenizer")) {
      const double eps = c.tokenizer.attn_ln_eps;
      c.tokenizer = S3TokenizerConfig::from_json(s3gen["tokenizer"]);
      if (!s3gen["tokenizer"].contains("attn_ln_eps")) c.tokenizer.attn_ln_eps = eps;
    }
    if (s3gen.contains("speaker_encoder"))
      c.campplus = CampplusConfig::from_json(s3gen["speaker_encoder"]);
  }
  if (t3.is_object()) {
    if (t3.contains("t3_config") && t3["t3_config"].is_object())
      c.speech_cond_prompt_len =
          t3["t3_config"].value("speech_cond_prompt_len", c.speech_cond_prompt_len);
    c.speech_cond_prompt_len = t3.value("speech_cond_prompt_len", c.speech_cond_prompt_len);
  }
  return c;
}

VoiceBuilder::VoiceBuilder(std::shared_ptr<const SafetensorsFile> ve_file,
                           std::shared_ptr<const SafetensorsFile> s3gen_file,
                           const VoiceBuilderConfig& config, c10::TensorOptions options)
    : config_(config),
      options_(options),
      voice_encoder_(config.voice_encoder, WeightReader(ve_file, options)),
      campplus_(config.campplus, WeightReader(s3gen_file, options).scoped("speaker_encoder.")),
      tokenizer_(config.tokenizer, WeightReader(s3gen_file, options).scoped("tokenizer.")),
      s3gen_mel_(options) {}

std::shared_ptr<const VoiceBuilder> VoiceBuilder::load(const std::string& ve_path,
                                                       const std::string& s3gen_path,
                                                       const VoiceBuilderConfig& config,
                                                       c10::TensorOptions options) {
  return std::make_shared<const VoiceBuilder>(std::make_shared<const SafetensorsFile>(ve_path),
                                              std::make_shared<const SafetensorsFile>(s3gen_path),
                                              config, options);
}

S3GenReference VoiceBuilder::embed_ref(const at::Tensor& wav24) const {
  c10::InferenceMode guard;
  at::Tensor w24 = wav24.reshape({1, -1}).to(options_.device(), at::kFloat);
  return embed_ref(
      w24, resample(w24, config_.s3gen_sample_rate, config_.s3_sample_rate, config_.resampler));
}

// S3Gen.embed_ref with the 16 kHz signal already resampled: prompt mel at 24 kHz, x-vector and
// tokens at 16 kHz, tokens cut to floor(F / 2) when the lengths disagree (the mel is kept).
S3GenReference VoiceBuilder::embed_ref(const at::Tensor& wav24, const at::Tensor& wav16) const {
  S3GenReference ref;
  ref.wav16 = wav16.reshape({1, -1});
  ref.prompt_feat = s3gen_mel_(wav24.reshape({1, -1})).transpose(1, 2).contiguous();  // [1, F, 80]
  ref.embedding = campplus_.inference(ref.wav16.reshape({-1}));                       // [1, 192]
  ref.prompt_token = tokenizer_.tokenize(ref.wav16.reshape({-1}));                    // [1, Tg]
  const int64_t frames = ref.prompt_feat.size(1);
  if (frames != 2 * ref.prompt_token.size(1))
    ref.prompt_token =
        ref.prompt_token.narrow(1, 0, std::min(ref.prompt_token.size(1), frames / 2));
  return ref;
}

VoiceConditioning VoiceBuilder::build(const std::vector<float>& wav, int sample_rate,
                                      float exaggeration) const {
  if (sample_rate <= 0)
    throw Error(ErrorKind::kInvalidInput,
                "reference audio: invalid sample rate " + std::to_string(sample_rate));
  if (wav.empty()) throw Error(ErrorKind::kInvalidInput, "reference audio is empty");
  c10::InferenceMode guard;
  at::Tensor w =
      at::from_blob(const_cast<float*>(wav.data()), {static_cast<int64_t>(wav.size())}, at::kFloat)
          .to(options_.device(), at::kFloat, /*non_blocking=*/false, /*copy=*/true);
  // librosa.load(path, sr=S3GEN_SR): any input rate is brought to 24 kHz first (librosa's default
  // soxr_hq for Turbo; the English recipe keeps the one resampler its fixtures were made with).
  at::Tensor w24 = turbo() ? resample_soxr_hq(w, sample_rate, config_.s3gen_sample_rate)
                           : resample(w, sample_rate, config_.s3gen_sample_rate, config_.resampler);
  return build_24k(w24, exaggeration);
}

VoiceConditioning VoiceBuilder::build_24k(const at::Tensor& wav24_in, float exaggeration) const {
  c10::InferenceMode guard;
  if (!std::isfinite(exaggeration))
    throw Error(ErrorKind::kInvalidInput, "exaggeration must be a finite number");
  at::Tensor w24 = wav24_in.reshape({-1}).to(options_.device(), at::kFloat);
  const double sr24 = static_cast<double>(config_.s3gen_sample_rate);
  const double seconds = static_cast<double>(w24.size(0)) / sr24;
  if (turbo() ? !(seconds > config_.min_reference_seconds)
              : seconds < config_.min_reference_seconds)
    throw Error(ErrorKind::kInvalidInput, "reference audio is " + seconds_string(seconds) +
                                              " long; " + (turbo() ? "more than " : "at least ") +
                                              seconds_string(config_.min_reference_seconds) +
                                              " is needed (5-10 s of clear speech works best)");
  const double peak = w24.abs().max().item<double>();
  if (!std::isfinite(peak))
    throw Error(ErrorKind::kInvalidInput, "reference audio contains NaN or infinite samples");
  // librosa's trim measures loudness relative to the loudest frame, so all-zero or near-zero
  // audio passes it; refuse it here.
  if (peak < config_.silence_peak)
    throw Error(ErrorKind::kInvalidInput,
                "reference audio is silent (peak level below " +
                    std::to_string(static_cast<int>(20.0 * std::log10(config_.silence_peak))) +
                    " dBFS)");

  if (turbo()) return build_turbo_24k(w24, exaggeration);

  // 16 kHz version of the whole file (the original uses librosa/soxr here; see resample.h).
  at::Tensor w16_full =
      resample(w24, config_.s3gen_sample_rate, config_.s3_sample_rate, config_.resampler);

  // VoiceEncoder on the whole 16 kHz signal first: its trim is the cheap test for silence.
  VoiceConditioning conds;
  conds.speaker_emb = voice_encoder_.embed(w16_full);  // [1, 256]

  // S3Gen reference: first 10 s at 24 kHz; its 16 kHz signal is resampled from that slice
  // (for a reference within the cap that is exactly w16_full).
  const int64_t dec_len = static_cast<int64_t>(std::llround(config_.dec_cond_seconds * sr24));
  at::Tensor w24_ref = w24.narrow(0, 0, std::min(dec_len, w24.size(0)));
  at::Tensor w16_ref =
      w24_ref.size(0) == w24.size(0)
          ? w16_full
          : resample(w24_ref, config_.s3gen_sample_rate, config_.s3_sample_rate, config_.resampler);
  add_reference_and_prompt(conds, embed_ref(w24_ref, w16_ref), w16_full);
  conds.exaggeration = exaggeration;
  return conds;
}

void VoiceBuilder::add_reference_and_prompt(VoiceConditioning& conds, const S3GenReference& ref,
                                            const at::Tensor& w16) const {
  conds.prompt_token = ref.prompt_token;
  conds.prompt_feat = ref.prompt_feat;
  conds.embedding = ref.embedding;
  // T3 speech prompt: S3 tokens of the first enc_cond_seconds of the 16 kHz signal (English 6 s,
  // at most 150 tokens; Turbo 15 s, 375 tokens).
  const int64_t enc_len = static_cast<int64_t>(
      std::llround(config_.enc_cond_seconds * static_cast<double>(config_.s3_sample_rate)));
  conds.cond_prompt_speech_tokens = tokenizer_.tokenize(
      w16.narrow(0, 0, std::min(enc_len, w16.size(0))), config_.speech_cond_prompt_len);
}

// ChatterboxTurboTTS.prepare_conditionals from the loaded 24 kHz signal on.
VoiceConditioning VoiceBuilder::build_turbo_24k(const at::Tensor& w24_in,
                                                float exaggeration) const {
  const double sr24 = static_cast<double>(config_.s3gen_sample_rate);
  at::Tensor w24 =
      config_.normalize_loudness ? normalize_loudness(w24_in, sr24, config_.target_lufs) : w24_in;
  // One 16 kHz signal (librosa soxr_hq) for the T3 prompt and the VoiceEncoder.
  at::Tensor w16 = resample_soxr_hq(w24, config_.s3gen_sample_rate, config_.s3_sample_rate);

  VoiceConditioning conds;
  conds.speaker_emb = voice_encoder_.embed(w16);  // [1, 256]

  // S3Gen reference: the first 10 s at 24 kHz; embed_ref resamples it again with its own
  // (torchaudio) resampler, so its 16 kHz signal differs from w16.
  const int64_t dec_len = static_cast<int64_t>(std::llround(config_.dec_cond_seconds * sr24));
  add_reference_and_prompt(conds, embed_ref(w24.narrow(0, 0, std::min(dec_len, w24.size(0)))), w16);
  conds.exaggeration = exaggeration;  // T3Cond.emotion_adv: stored, unused by Turbo's T3
  return conds;
}

}  // namespace chatterbox
