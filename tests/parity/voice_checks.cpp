// Parity checks for voice cloning (src/voice/): audio_frontend, voice_encoder, campplus,
// s3tokenizer, s3gen_embed_ref, conds. Each component is fed the fixture's own inputs.
#include <ATen/ATen.h>

#include "common/error.h"
#include "parity.h"
#include "tap_recorder.h"
#include "voice/campplus.h"
#include "voice/mel.h"
#include "voice/resample.h"
#include "voice/s3tokenizer.h"
#include "voice/voice_builder.h"
#include "voice/voice_encoder.h"

using namespace chatterbox;

namespace {

const c10::TensorOptions kCpu = at::TensorOptions().dtype(at::kFloat);

// An end-to-end result that is compared with a fixture already compared stage by stage: report
// it under its own name so that the stage checks stay "from the fixture's own inputs".
void report_close(parity::Context& ctx, const std::string& name, const at::Tensor& actual,
                  const at::Tensor& expected, parity::Tolerance tol = parity::kModelOutput) {
  at::Tensor a = actual.detach().to(at::kCPU, at::kDouble), e = expected.to(at::kDouble);
  if (a.sizes() != e.sizes()) {
    ctx.report(name + " (shape mismatch)", INFINITY, 0.0, false);
    return;
  }
  const double err = (a - e).abs().max().item<double>();
  const double tolerance = tol.rel_to_max * e.abs().max().item<double>() + tol.abs;
  ctx.report(name, err, tolerance, err <= tolerance);
}

// FSQ tokens: exact, except that a flip is accepted where one of the 8 projected values of that
// frame is within rounding noise of a +-0.5 boundary (a genuine tie between implementations).
// `z` [1, T, 8] are our projected values (tanh(.) * 0.999) when available.
constexpr double kTieNoise = 1e-4;
void compare_token_ids(parity::Context& ctx, const std::string& f, const std::string& key,
                       const at::Tensor& tokens, const at::Tensor* z) {
  at::Tensor expected = ctx.input(f, key).to(at::kLong);
  at::Tensor actual = tokens.to(at::kCPU, at::kLong);
  const std::string name = f + ":" + key;
  if (actual.sizes() != expected.sizes()) {
    ctx.report(name + " (shape " + shape_string(actual.sizes().vec()) + " vs " +
                   shape_string(expected.sizes().vec()) + ")",
               INFINITY, 0.0, false);
    return;
  }
  at::Tensor diff = actual.ne(expected).reshape({-1});
  const int64_t flips = diff.sum().item<int64_t>();
  int64_t ties = 0;
  double min_margin = INFINITY;
  if (z) {
    // distance of every projected value to the nearest .5 boundary, per frame
    at::Tensor margin =
        ((z->to(at::kCPU, at::kDouble).abs() - 0.5).abs()).reshape({-1, z->size(-1)}).amin(1);
    min_margin = margin.min().item<double>();
    ties = (diff & margin.lt(kTieNoise)).sum().item<int64_t>();
  }
  const bool pass = flips == ties;
  std::string label =
      name + " (exact; flips=" + std::to_string(flips) + ", at ties=" + std::to_string(ties) + ")";
  ctx.report(label, static_cast<double>(flips - ties), 0.0, pass);
  if (z)
    std::printf("    %s: smallest distance of a projected value to a .5 boundary = %.3e\n",
                name.c_str(), min_margin);
}

void compare_tokens(parity::Context& ctx, const std::string& f, const std::string& key,
                    const S3Tokenizer& tok, const at::Tensor& hidden) {
  at::Tensor z = tok.project(hidden);
  compare_token_ids(ctx, f, key, tok.quantize(hidden), &z);
}

}  // namespace

PARITY_CHECK(voice_audio_frontend, "fixtures/audio_frontend.safetensors") {
  const std::string f = "audio_frontend";
  at::Tensor ref24 = ctx.input(f, "ref_wav_24k");  // [1, S]
  ctx.compare(f, "ref_wav_16k", resample(ref24, 24000, 16000), parity::kModelOutput);

  S3GenMel s3gen_mel(kCpu);
  ctx.compare(f, "s3gen_mel_24k.mel_basis", s3gen_mel.mel_basis);
  ctx.compare(f, "s3gen_mel_24k.ref", s3gen_mel(ref24), parity::kLogMel);
  ctx.compare(f, "s3gen_mel_24k.tone", s3gen_mel(ctx.input(f, "tone_wav_24k")), parity::kLogMel);

  S3TokenizerLogMel tok_mel(128, kCpu);
  ctx.compare(f, "s3tok_logmel_16k.mel_filters", tok_mel.mel_filters);
  ctx.compare(f, "s3tok_logmel_16k.ref", tok_mel(ctx.input(f, "ref_wav_16k")), parity::kLogMel);
  at::Tensor tone16 = ctx.input(f, "tone_wav_16k");
  ctx.compare(f, "s3tok_logmel_16k.tone", tok_mel(tone16), parity::kLogMel);

  KaldiFbank fbank(80, kCpu);
  ctx.compare(f, "campplus_fbank_16k.ref", fbank(ctx.input(f, "ref_wav_16k")).unsqueeze(0),
              parity::kLogMel);

  VoiceEncoderMel ve_mel(16000, 400, 160, 400, 40, 0.0, 8000.0, 2.0, kCpu);
  ctx.compare(f, "ve_mel_16k.tone", ve_mel(tone16));
}

PARITY_CHECK(voice_encoder, "fixtures/voice_encoder.safetensors") {
  const std::string f = "voice_encoder";
  VoiceEncoder ve(VoiceEncoderConfig::from_json(ctx.weights_config("ve")),
                  WeightReader(ctx.weights("ve"), kCpu));
  at::Tensor h_n, c_n;
  ctx.compare(f, "forward.output_embeds",
              ve.forward(ctx.input(f, "forward.input_mels"), &h_n, &c_n));
  ctx.compare(f, "forward.lstm_h_n", h_n);
  ctx.compare(f, "forward.lstm_c_n", c_n);

  parity::TapRecorder rec;
  at::Tensor speaker_embed = ve.embed(ctx.input(f, "wav.input_wav_16k"), rec.tap());
  ctx.compare(f, "wav.trim_index", rec.values["ve.trim_index"][-1]);
  ctx.compare(f, "wav.trimmed_wav", rec.values["ve.trimmed_wav"][-1].unsqueeze(0));
  ctx.compare(f, "wav.mel", rec.values["ve.mel"][-1].unsqueeze(0));
  ctx.compare(f, "wav.partial_mels", rec.values["ve.partial_mels"][-1]);
  // Each stage from the fixture's own input: partial embeddings from the recorded partial mels.
  at::Tensor partial_embeds = ve.forward(ctx.input(f, "wav.partial_mels"));
  ctx.compare(f, "wav.partial_embeds", partial_embeds);
  at::Tensor raw = partial_embeds.mean(0, true);
  ctx.compare(f, "wav.speaker_embed", raw / raw.norm(2, {1}, true));
  report_close(ctx, f + ":wav.speaker_embed (end to end)", speaker_embed,
               ctx.input(f, "wav.speaker_embed"));
}

PARITY_CHECK(voice_campplus, "fixtures/campplus.safetensors") {
  const std::string f = "campplus";
  Campplus cam(CampplusConfig::from_json(ctx.weights_config("s3gen")["speaker_encoder"]),
               WeightReader(ctx.weights("s3gen"), kCpu).scoped("speaker_encoder."));
  at::Tensor wav = ctx.input(f, "wav.input_wav_16k");
  ctx.compare(f, "wav.fbank", cam.fbank(wav).unsqueeze(0), parity::kLogMel);
  ctx.compare(f, "fbank.xvector", cam.forward(ctx.input(f, "wav.fbank")));
  ctx.compare(f, "wav.xvector", cam.inference(wav));
}

PARITY_CHECK(voice_s3tokenizer, "fixtures/s3tokenizer.safetensors") {
  const std::string f = "s3tokenizer";
  S3Tokenizer tok(S3TokenizerConfig::from_json(ctx.weights_config("s3gen")["tokenizer"]),
                  WeightReader(ctx.weights("s3gen"), kCpu).scoped("tokenizer."));
  for (const std::string set : {"rand", "wav"}) {
    at::Tensor mel;
    if (set == "wav") {
      ctx.compare(f, "wav.log_mel", tok.log_mel(ctx.input(f, "wav.input_wav_16k")),
                  parity::kLogMel);
    }
    mel = ctx.input(f, set == "wav" ? "wav.log_mel" : "rand.input_mel");
    at::Tensor hidden = tok.encode(mel);
    ctx.compare(f, set + ".encoder_hidden", hidden);
    ctx.compare(f, set + ".encoder_len", at::tensor({hidden.size(1)}, at::kLong));
    // Tokens from the fixture's own hidden state, so only the FSQ projection and rounding differ.
    compare_tokens(ctx, f, set + ".tokens", tok, ctx.input(f, set + ".encoder_hidden"));
    if (set == "wav") ctx.compare(f, "wav.token_lens", at::tensor({hidden.size(1)}, at::kLong));
  }
  // End to end from the waveform, including the T3 prompt variant (first 6 s, <= 150 tokens).
  at::Tensor wav = ctx.input(f, "wav.input_wav_16k").reshape({-1});
  at::Tensor z;
  at::Tensor tokens = tok.tokenize(wav, -1, &z);
  compare_token_ids(ctx, f, "wav.tokens", tokens, &z);
  at::Tensor prompt_wav = wav.narrow(0, 0, std::min<int64_t>(wav.size(0), 6 * 16000));
  tokens = tok.tokenize(prompt_wav, 150, &z);
  compare_token_ids(ctx, f, "wav.t3_prompt_tokens_maxlen150", tokens, &z);
}

namespace {

std::shared_ptr<const VoiceBuilder> oracle_voice_builder(parity::Context& ctx) {
  return std::make_shared<const VoiceBuilder>(
      ctx.weights("ve"), ctx.weights("s3gen"),
      VoiceBuilderConfig::from_json(ctx.weights_config("ve"), ctx.weights_config("s3gen"),
                                    ctx.weights_config("t3_cfg")),
      kCpu);
}

// Tokens with the tie rule: the projected values are recomputed from our own encoder on `wav16`.
void compare_wav_tokens(parity::Context& ctx, const std::string& f, const std::string& key,
                        const VoiceBuilder& vb, const at::Tensor& tokens, const at::Tensor& wav16,
                        int64_t max_tokens) {
  at::Tensor z;
  vb.tokenizer().tokenize(wav16.reshape({-1}), max_tokens, &z);
  z = z.narrow(1, 0, std::min(z.size(1), tokens.size(1)));
  compare_token_ids(ctx, f, key, tokens, &z);
}

}  // namespace

PARITY_CHECK(voice_s3gen_embed_ref, "fixtures/s3gen_embed_ref.safetensors") {
  const std::string f = "s3gen_embed_ref";
  auto vb = oracle_voice_builder(ctx);
  S3GenReference ref = vb->embed_ref(ctx.input(f, "input_wav_24k"));
  ctx.compare(f, "internal_wav_16k", ref.wav16);
  ctx.compare(f, "prompt_feat", ref.prompt_feat, parity::kLogMel);
  ctx.compare(f, "embedding", ref.embedding);
  compare_wav_tokens(ctx, f, "prompt_token", *vb, ref.prompt_token, ref.wav16, -1);
  ctx.compare(f, "prompt_token_len", at::tensor({ref.prompt_token.size(1)}, at::kLong));
}

PARITY_CHECK(voice_conds, "fixtures/conds.safetensors") {
  const std::string f = "conds";
  auto vb = oracle_voice_builder(ctx);
  at::Tensor wav24 = ctx.input("audio_frontend", "ref_wav_24k").reshape({-1}).contiguous();
  const float exaggeration = ctx.input(f, "t3.emotion_adv").item<float>();
  std::vector<float> samples(wav24.data_ptr<float>(), wav24.data_ptr<float>() + wav24.numel());
  VoiceConditioning conds = vb->build(samples, 24000, exaggeration);
  ctx.compare(f, "t3.speaker_emb", conds.speaker_emb);
  ctx.compare(f, "t3.emotion_adv", at::full({1, 1, 1}, conds.exaggeration, at::kFloat));
  at::Tensor wav16 = resample(wav24, 24000, 16000);
  compare_wav_tokens(ctx, f, "t3.cond_prompt_speech_tokens", *vb, conds.cond_prompt_speech_tokens,
                     wav16.narrow(0, 0, std::min<int64_t>(wav16.size(0), 6 * 16000)),
                     vb->config().speech_cond_prompt_len);
  compare_wav_tokens(
      ctx, f, "gen.prompt_token", *vb, conds.prompt_token,
      resample(wav24.narrow(0, 0, std::min<int64_t>(wav24.size(0), 240000)), 24000, 16000), -1);
  ctx.compare(f, "gen.prompt_token_len", at::tensor({conds.prompt_token.size(1)}, at::kLong));
  ctx.compare(f, "gen.prompt_feat", conds.prompt_feat, parity::kLogMel);
  ctx.compare(f, "gen.embedding", conds.embedding);
}

// Errors instead of crashes: silent and too-short references.
PARITY_CHECK(voice_invalid_input, "fixtures/audio_frontend.safetensors") {
  auto vb = oracle_voice_builder(ctx);
  auto expect_invalid = [&](const std::string& what, const std::vector<float>& wav, int sr) {
    try {
      vb->build(wav, sr, 0.5f);
      ctx.report("voice invalid input: " + what + " (no error)", 1.0, 0.0, false);
    } catch (const Error& e) {
      const bool ok = e.kind() == ErrorKind::kInvalidInput;
      std::printf("    %s -> %s: %s\n", what.c_str(), error_kind_name(e.kind()), e.what());
      ctx.report("voice invalid input: " + what, ok ? 0.0 : 1.0, 0.0, ok);
    }
  };
  expect_invalid("silent 2 s", std::vector<float>(48000, 0.0f), 24000);
  expect_invalid("0.2 s", std::vector<float>(4800, 0.1f), 24000);
  expect_invalid("empty", {}, 24000);
  expect_invalid("bad rate", std::vector<float>(48000, 0.1f), 0);
  std::vector<float> nan_wav(48000, 0.1f);
  nan_wav[100] = NAN;
  expect_invalid("NaN sample", nan_wav, 24000);
  // Any input rate: 44.1 kHz input resampled to 24 kHz first must work.
  at::Tensor wav24 = ctx.input("audio_frontend", "ref_wav_24k").reshape({-1}).contiguous();
  at::Tensor wav44 = resample(wav24, 24000, 44100).contiguous();
  std::vector<float> samples(wav44.data_ptr<float>(), wav44.data_ptr<float>() + wav44.numel());
  VoiceConditioning conds = vb->build(samples, 44100, 0.5f);
  ctx.report("voice 44.1 kHz input builds (prompt_feat frames " +
                 std::to_string(conds.prompt_feat.size(1)) + ")",
             0.0, 0.0, conds.prompt_feat.size(1) == 2 * conds.prompt_token.size(1));
}
