// Parity checks for Turbo's voice cloning (ChatterboxTurboTTS.prepare_conditionals): loudness
// normalisation, librosa soxr_hq resampling, the 15 s / 375-token T3 prompt with s3tokenizer
// 0.3 numerics, the VoiceEncoder and S3Gen.embed_ref. Each stage is fed the fixture's own inputs;
// the whole VoiceBuilder run from the raw reference is reported separately ("end to end").
#include <ATen/ATen.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "parity.h"
#include "tap_recorder.h"
#include "voice/loudness.h"
#include "voice/soxr_resample.h"
#include "voice/voice_builder.h"

using namespace chatterbox;

namespace {

const c10::TensorOptions kCpu = at::TensorOptions().dtype(at::kFloat);
// librosa soxr_hq output against libsoxr here: absolute, on a signal in [-1, 1].
constexpr parity::Tolerance kResampled{0.0, 1e-4};

void report_close(parity::Context& ctx, const std::string& name, const at::Tensor& actual,
                  const at::Tensor& expected, parity::Tolerance tol = parity::kModelOutput) {
  at::Tensor a = actual.detach().to(at::kCPU, at::kDouble), e = expected.to(at::kDouble);
  if (a.sizes() != e.sizes()) {
    ctx.report(name + " (shape " + shape_string(a.sizes().vec()) + " vs " +
                   shape_string(e.sizes().vec()) + ")",
               INFINITY, 0.0, false);
    return;
  }
  const double err = (a - e).abs().max().item<double>();
  const double tolerance = tol.rel_to_max * e.abs().max().item<double>() + tol.abs;
  ctx.report(name, err, tolerance, err <= tolerance);
}

void report_exact(parity::Context& ctx, const std::string& name, const at::Tensor& actual,
                  const at::Tensor& expected) {
  at::Tensor a = actual.to(at::kCPU, at::kLong), e = expected.to(at::kLong);
  if (a.sizes() != e.sizes()) {
    ctx.report(name + " (shape " + shape_string(a.sizes().vec()) + " vs " +
                   shape_string(e.sizes().vec()) + ")",
               INFINITY, 0.0, false);
    return;
  }
  const int64_t mismatches = a.ne(e).sum().item<int64_t>();
  ctx.report(name + " (exact, mismatches)", static_cast<double>(mismatches), 0.0, mismatches == 0);
}

// A float64 scalar of turbo_conds.json.
void report_scalar(parity::Context& ctx, const std::string& name, double actual, double expected,
                   double tolerance) {
  const double err = std::fabs(actual - expected);
  std::printf("    %s: %.17g (reference %.17g)\n", name.c_str(), actual, expected);
  ctx.report("turbo_conds.json:" + name, std::isnan(err) ? INFINITY : err, tolerance,
             err <= tolerance);
}

}  // namespace

PARITY_CHECK(turbo_conds, "fixtures/turbo_conds.safetensors") {
  const std::string f = "turbo_conds";
  const std::string json_path = ctx.dir() + "/fixtures/turbo_conds.json";
  std::ifstream json_in(json_path);
  if (!json_in) {
    ctx.fail_check("turbo_conds", json_path + ": cannot open");
    return;
  }
  const nlohmann::json scalars = nlohmann::json::parse(json_in);

  const VoiceBuilderConfig config =
      VoiceBuilderConfig::from_json(ctx.weights_config("ve"), ctx.weights_config("s3gen_meanflow"),
                                    ctx.weights_config("t3_turbo_v1"), ModelVariant::kTurbo);
  auto vb = std::make_shared<const VoiceBuilder>(ctx.weights("ve"), ctx.weights("s3gen_meanflow"),
                                                 config, kCpu);
  const double sr24 = static_cast<double>(config.s3gen_sample_rate),
               sr16 = static_cast<double>(config.s3_sample_rate);

  // The recipe's constants against the ones the reference ran with.
  report_scalar(ctx, "target_lufs", config.target_lufs, scalars.at("target_lufs").get<double>(),
                0.0);
  report_scalar(ctx, "ENC_COND_LEN_samples_16k", std::llround(config.enc_cond_seconds * sr16),
                scalars.at("ENC_COND_LEN_samples_16k").get<double>(), 0.0);
  report_scalar(ctx, "DEC_COND_LEN_samples_24k", std::llround(config.dec_cond_seconds * sr24),
                scalars.at("DEC_COND_LEN_samples_24k").get<double>(), 0.0);
  report_scalar(ctx, "speech_cond_prompt_len", static_cast<double>(config.speech_cond_prompt_len),
                scalars.at("speech_cond_prompt_len").get<double>(), 0.0);

  // 1. Loudness normalisation (pyloudnorm, float64) of the reference as loaded.
  at::Tensor wav24 = ctx.input(f, "input.ref_wav_24k");  // [S]
  LoudnessNormalization norm;
  at::Tensor normed = normalize_loudness(wav24, sr24, config.target_lufs, &norm);
  report_scalar(ctx, "loudness_lufs", norm.loudness_lufs, scalars.at("loudness_lufs").get<double>(),
                1e-9);
  report_scalar(ctx, "gain_db", config.target_lufs - norm.loudness_lufs,
                scalars.at("gain_db").get<double>(), 1e-9);
  const double gain = scalars.at("gain_linear").get<double>();
  report_scalar(ctx, "gain_linear", norm.gain_linear, gain, 1e-9 * gain);
  ctx.compare(f, "norm.loudness_lufs",
              at::tensor({norm.loudness_lufs}, at::kDouble).to(at::kFloat));
  ctx.compare(f, "norm.gain_linear", at::tensor({norm.gain_linear}, at::kDouble).to(at::kFloat));
  ctx.compare(f, "norm.ref_wav_24k_normed", normed);

  // 2. librosa.resample(normed, 24000, 16000), soxr_hq.
  at::Tensor fixture_normed = ctx.input(f, "norm.ref_wav_24k_normed");
  ctx.compare(f, "ref_wav_16k_librosa", resample_soxr_hq(fixture_normed, 24000, 16000), kResampled);

  // 3. T3 speech prompt: first 15 s of the soxr signal, S3Tokenizer mel cut to 4 * 375 frames.
  at::Tensor wav16 = ctx.input(f, "ref_wav_16k_librosa");  // [S16]
  const int64_t enc_len = std::llround(config.enc_cond_seconds * sr16);
  at::Tensor prompt16 = wav16.narrow(0, 0, std::min(enc_len, wav16.size(0)));
  const S3Tokenizer& tok = vb->tokenizer();
  at::Tensor mel = tok.log_mel(prompt16);
  mel = mel.narrow(-1, 0, std::min(mel.size(-1), 4 * config.speech_cond_prompt_len));
  ctx.compare(f, "t3_tok.log_mel", mel, parity::kLogMel);
  ctx.compare(f, "t3.cond_prompt_speech_tokens",
              tok.tokenize(prompt16, config.speech_cond_prompt_len));

  // 4. VoiceEncoder on the whole soxr signal.
  const VoiceEncoder& ve = vb->voice_encoder();
  parity::TapRecorder rec;
  ve.embed(wav16, rec.tap());
  ctx.compare(f, "ve.trim_index", rec.values["ve.trim_index"][-1]);
  ctx.compare(f, "ve.trimmed_wav", rec.values["ve.trimmed_wav"][-1]);
  ctx.compare(f, "ve.mel", rec.values["ve.mel"][-1].unsqueeze(0));
  ctx.compare(f, "ve.partial_mels", rec.values["ve.partial_mels"][-1]);
  at::Tensor partial_embeds = ve.forward(ctx.input(f, "ve.partial_mels"));
  ctx.compare(f, "ve.partial_embeds", partial_embeds);
  at::Tensor raw = partial_embeds.mean(0, true);
  ctx.compare(f, "t3.speaker_emb", raw / raw.norm(2, {1}, true));

  // 5. S3Gen.embed_ref on the first 10 s of the normalised 24 kHz signal.
  const int64_t dec_len = std::llround(config.dec_cond_seconds * sr24);
  S3GenReference ref =
      vb->embed_ref(fixture_normed.narrow(0, 0, std::min(dec_len, fixture_normed.size(0))));
  ctx.compare(f, "embed_ref.internal_wav_16k", ref.wav16);
  ctx.compare(f, "gen.prompt_feat", ref.prompt_feat, parity::kLogMel);
  ctx.compare(f, "gen.embedding", ref.embedding);
  ctx.compare(f, "gen.prompt_token", ref.prompt_token);
  ctx.compare(f, "gen.prompt_token_len", at::tensor({ref.prompt_token.size(1)}, at::kLong));

  // 6. End to end: VoiceBuilder::build on the reference as loaded.
  const float exaggeration = static_cast<float>(scalars.at("exaggeration").get<double>());
  at::Tensor w = wav24.contiguous();
  std::vector<float> samples(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
  VoiceConditioning conds = vb->build(samples, 24000, exaggeration);
  ctx.compare(f, "t3.emotion_adv", at::full({1, 1, 1}, conds.exaggeration, at::kFloat));
  const std::string e2e = " (end to end)";
  report_close(ctx, f + ":t3.speaker_emb" + e2e, conds.speaker_emb, ctx.input(f, "t3.speaker_emb"));
  report_exact(ctx, f + ":t3.cond_prompt_speech_tokens" + e2e, conds.cond_prompt_speech_tokens,
               ctx.input(f, "t3.cond_prompt_speech_tokens"));
  report_exact(ctx, f + ":gen.prompt_token" + e2e, conds.prompt_token,
               ctx.input(f, "gen.prompt_token"));
  report_close(ctx, f + ":gen.prompt_feat" + e2e, conds.prompt_feat,
               ctx.input(f, "gen.prompt_feat"), parity::kLogMel);
  report_close(ctx, f + ":gen.embedding" + e2e, conds.embedding, ctx.input(f, "gen.embedding"));
}

// Turbo's reference must be longer than 5 s (the original asserts); other rates go through soxr.
PARITY_CHECK(turbo_conds_invalid_input, "fixtures/turbo_conds.safetensors") {
  const VoiceBuilderConfig config =
      VoiceBuilderConfig::from_json(ctx.weights_config("ve"), ctx.weights_config("s3gen_meanflow"),
                                    ctx.weights_config("t3_turbo_v1"), ModelVariant::kTurbo);
  auto vb = std::make_shared<const VoiceBuilder>(ctx.weights("ve"), ctx.weights("s3gen_meanflow"),
                                                 config, kCpu);
  at::Tensor wav24 = ctx.input("turbo_conds", "input.ref_wav_24k").contiguous();
  const float* data = wav24.data_ptr<float>();
  auto expect_invalid = [&](const std::string& what, const std::vector<float>& wav, int sr) {
    try {
      vb->build(wav, sr, 0.0f);
      ctx.report("turbo voice invalid input: " + what + " (no error)", 1.0, 0.0, false);
    } catch (const Error& e) {
      const bool ok = e.kind() == ErrorKind::kInvalidInput;
      std::printf("    %s -> %s: %s\n", what.c_str(), error_kind_name(e.kind()), e.what());
      ctx.report("turbo voice invalid input: " + what, ok ? 0.0 : 1.0, 0.0, ok);
    }
  };
  expect_invalid("exactly 5 s", std::vector<float>(data, data + 5 * 24000), 24000);
  expect_invalid("4 s", std::vector<float>(data, data + 4 * 24000), 24000);
  expect_invalid("silent 6 s", std::vector<float>(6 * 24000, 0.0f), 24000);

  // 44.1 kHz input is brought to 24 kHz by soxr first and builds.
  at::Tensor wav44 = resample_soxr_hq(wav24, 24000, 44100).contiguous();
  std::vector<float> samples(wav44.data_ptr<float>(), wav44.data_ptr<float>() + wav44.numel());
  VoiceConditioning conds = vb->build(samples, 44100, 0.0f);
  ctx.report("turbo voice 44.1 kHz input builds (prompt tokens " +
                 std::to_string(conds.cond_prompt_speech_tokens.size(1)) + ")",
             0.0, 0.0,
             conds.cond_prompt_speech_tokens.size(1) ==
                 ctx.input("turbo_conds", "t3.cond_prompt_speech_tokens").size(1));
}
