// Parity checks for the HiFT vocoder and the S3Gen wrapper: fixtures s3gen_hift, s3gen_inference,
// e2e. Each stage is fed the fixture's own inputs; the sine-generator draws are injected.
#include <ATen/ATen.h>

#include <algorithm>
#include <vector>

#include "parity.h"
#include "s3gen/hift.h"
#include "s3gen/s3gen.h"
#include "s3gen_offline.h"
#include "t3/t3.h"
#include "tap_recorder.h"
#include "voice/conditioning.h"

namespace {

using chatterbox::HiftConfig;
using chatterbox::HiftModel;
using chatterbox::HiftRandom;
using chatterbox::WeightReader;

HiftModel load_hift(parity::Context& ctx) {
  WeightReader reader(ctx.weights("s3gen"), at::TensorOptions().dtype(at::kFloat));
  HiftModel model = HiftModel::load(reader.scoped("mel2wav."),
                                    HiftConfig::from_json(ctx.weights_config("s3gen")));
  reader.finish();
  return model;
}

// The S3Gen side of fixtures/conds.safetensors (the analogue of conds.pt's "gen" dict).
chatterbox::VoiceConditioning fixture_voice(parity::Context& ctx) {
  chatterbox::VoiceConditioning v;
  v.prompt_token = ctx.input("conds", "gen.prompt_token");
  v.prompt_feat = ctx.input("conds", "gen.prompt_feat");
  v.embedding = ctx.input("conds", "gen.embedding");
  return v;
}

// ChatterboxTTS.generate's token clean-up for S3Gen (docs/model.md §4.6 Stop rules), as the engine
// does it (src/t3/t3.h): [1, N] raw T3 output -> [1, M] codec tokens.
at::Tensor tokens_for_s3gen(const at::Tensor& raw_in) {
  at::Tensor raw = raw_in.reshape({-1}).to(at::kLong).contiguous();
  std::vector<int64_t> ids(raw.data_ptr<int64_t>(), raw.data_ptr<int64_t>() + raw.numel());
  return at::tensor(chatterbox::t3_tokens_for_s3gen(ids), at::kLong).view({1, -1});
}

HiftRandom injected_draws(parity::Context& ctx, const std::string& fixture) {
  return HiftRandom::injected(ctx.input(fixture, "sinegen.phase_vec_uniform"),
                              ctx.input(fixture, "sinegen.noise_randn"));
}

}  // namespace

PARITY_CHECK(hift_stages, "fixtures/s3gen_hift.safetensors") {
  const std::string fx = "s3gen_hift";
  c10::InferenceMode guard;
  HiftModel model = load_hift(ctx);
  ctx.compare(fx, "stft_window", model.stft_window(), parity::kModelOutput);

  // Stage by stage, each from the fixture's own input.
  at::Tensor mel = ctx.input(fx, "input.mel");  // [1, 80, F]
  ctx.compare(fx, "f0", model.predict_f0(mel), parity::kModelOutput);
  ctx.compare(fx, "f0_upsampled", model.upsample_f0(ctx.input(fx, "f0")), parity::kModelOutput);
  {
    HiftRandom random = injected_draws(ctx, fx);
    ctx.compare(fx, "source", model.source(ctx.input(fx, "f0_upsampled"), random, 0),
                parity::kModelOutput);
  }
  // decode with a given excitation (the generator alone).
  at::Tensor test_mel = ctx.input(fx, "decode_test.mel");
  ctx.compare(fx, "decode_test.wav", model.decode(test_mel, ctx.input(fx, "decode_test.source")),
              parity::kModelOutput);
  ctx.compare(fx, "decode_test.f0", model.predict_f0(test_mel), parity::kModelOutput);

  // The whole vocoder from the mel: the excitation is regenerated from our own F0.
  HiftRandom random = injected_draws(ctx, fx);
  chatterbox::HiftOutput out = model.inference(mel, random);
  ctx.compare(fx, "output_wav", out.wav, parity::kWaveform);
  // The seed the reference used and its unused noise branch draw: the draws above stand in.
  ctx.mark_used(fx, "input.noise_seed");
  ctx.mark_used(fx, "source_module.noise_randn_unused");

  // cache_source: the first Lc excitation samples are the cached ones, the rest unchanged.
  const int64_t lc = 3840;
  at::Tensor cache = at::randn({1, 1, lc}) * 0.1;
  HiftRandom random2 = injected_draws(ctx, fx);
  chatterbox::HiftOutput cached = model.inference(mel, random2, 0, cache);
  const double head = (cached.source.narrow(2, 0, lc) - cache).abs().max().item<double>();
  const double tail = (cached.source.narrow(2, lc, out.source.size(2) - lc) -
                       out.source.narrow(2, lc, out.source.size(2) - lc))
                          .abs()
                          .max()
                          .item<double>();
  ctx.report("hift:cache_source_overwrites_head", std::max(head, tail), 0.0,
             head == 0.0 && tail == 0.0);

  // Seeded draws: the same seed reproduces the waveform; zero frames give zero samples.
  HiftRandom seeded_a(99), seeded_b(99);
  at::Tensor wav_a = model.inference(mel, seeded_a).wav, wav_b = model.inference(mel, seeded_b).wav;
  const bool empty_ok = model.inference(mel.narrow(2, 0, 0), seeded_a).wav.size(1) == 0;
  const double seeded_err = (wav_a - wav_b).abs().max().item<double>();
  ctx.report("hift:seeded_reproducible_and_empty_input", seeded_err, 0.0,
             seeded_err == 0.0 && empty_ok);
}

PARITY_CHECK(hift_random_seeded, "") {
  // Seeded draws depend only on (seed, absolute sample): any sub-range equals the matching slice
  // of a longer draw, across block boundaries; the phases are stable; another seed differs.
  c10::InferenceMode guard;
  const int64_t h = 9;
  HiftRandom a(1234), b(1234), c(1235);
  at::Tensor whole = a.noise(0, 3 * HiftRandom::kBlockSamples + 17, h, at::TensorOptions());
  at::Tensor part = b.noise(HiftRandom::kBlockSamples - 100, HiftRandom::kBlockSamples + 300, h,
                            at::TensorOptions());
  double err =
      (whole.narrow(2, HiftRandom::kBlockSamples - 100, HiftRandom::kBlockSamples + 300) - part)
          .abs()
          .max()
          .item<double>();
  err = std::max(err, (a.phases(h, at::TensorOptions()) - b.phases(h, at::TensorOptions()))
                          .abs()
                          .max()
                          .item<double>());
  const bool differs = !at::equal(c.noise(0, 64, h, at::TensorOptions()), whole.narrow(2, 0, 64));
  const bool in_range = a.phases(h, at::TensorOptions()).abs().max().item<double>() <= M_PI;
  ctx.report("hift:random_reproducible_by_absolute_sample", err, 0.0,
             err == 0.0 && differs && in_range);
}

PARITY_CHECK(s3gen_inference, "fixtures/s3gen_inference.safetensors") {
  // S3Gen.inference(speech_tokens, ref_dict=conds.gen): flow (finalize) -> HiFT -> trim/fade,
  // with the recorded CFM start noise and sine-source draws injected, through the element's
  // decoder.
  const std::string fx = "s3gen_inference";
  c10::InferenceMode guard;
  auto model = chatterbox::S3GenModel::load(ctx.weights("s3gen"), ctx.weights_config("s3gen"),
                                            at::TensorOptions().dtype(at::kFloat));
  ctx.compare(fx, "trim_fade", model->trim_fade(), parity::kModelOutput);
  chatterbox::VoiceConditioning voice = fixture_voice(ctx);
  auto noise = chatterbox::FlowNoise::injected(ctx.input(fx, "cfm.noise_z"));
  HiftRandom random = injected_draws(ctx, fx);
  parity::TapRecorder rec;
  at::Tensor wav = parity::decode_offline(*model, voice, ctx.input(fx, "input.speech_tokens"),
                                          noise, random, rec.tap());
  ctx.compare(fx, "output_wav", wav, parity::kWaveform);
  ctx.compare(fx, "output_source", rec.values["output_source"][-1], parity::kWaveform);
  ctx.mark_used(fx, "input.noise_seed");
  ctx.mark_used(fx, "source_module.noise_randn_unused");
}

PARITY_CHECK(s3gen_e2e, "fixtures/e2e.safetensors") {
  // The body of ChatterboxTTS.generate after T3: token clean-up, then S3Gen.inference through
  // the element's decoder (the streaming decoder's one-pass decode).
  const std::string fx = "e2e";
  c10::InferenceMode guard;
  auto model = chatterbox::S3GenModel::load(ctx.weights("s3gen"), ctx.weights_config("s3gen"),
                                            at::TensorOptions().dtype(at::kFloat));
  at::Tensor tokens = tokens_for_s3gen(ctx.input(fx, "t3_sampled_tokens"));
  ctx.compare(fx, "s3gen_input_tokens", tokens);
  chatterbox::VoiceConditioning voice = fixture_voice(ctx);
  auto noise = chatterbox::FlowNoise::injected(ctx.input(fx, "cfm.noise_z"));
  HiftRandom random = injected_draws(ctx, fx);
  at::Tensor wav = parity::decode_offline(*model, voice, tokens, noise, random);
  ctx.compare(fx, "output_wav", wav, parity::kWaveform);
  ctx.mark_used(fx, "noise_seed");
}
