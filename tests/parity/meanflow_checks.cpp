// Parity checks for Chatterbox-Turbo's mean-flow S3Gen: fixtures s3gen_meanflow_estimator (the
// U-Net with its end time r), s3gen_meanflow_flow (token -> mel with the mean-flow solver) and
// s3gen_turbo_inference (flow -> HiFT -> trim/fade on tokens with Turbo's silence tail). The
// reference's random draws (two for the CFM start point, the sine source's) are injected.
#include <ATen/ATen.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/error.h"
#include "flow_trace_checks.h"
#include "parity.h"
#include "s3gen/flow.h"
#include "s3gen/s3gen.h"
#include "s3gen_offline.h"
#include "stream/chunk_decoder.h"
#include "stream/chunk_plan.h"
#include "tap_recorder.h"

namespace {

using chatterbox::FlowConfig;
using chatterbox::FlowModel;
using chatterbox::FlowNoise;
using chatterbox::HiftRandom;
using chatterbox::WeightReader;

// `attention_block_bytes` 1: attention in 16-row blocks (the path long utterances take).
FlowModel load_meanflow_flow(parity::Context& ctx,
                             int64_t attention_block_bytes = FlowConfig().attention_block_bytes) {
  const auto options = at::TensorOptions().dtype(at::kFloat);
  WeightReader reader(ctx.weights("s3gen_meanflow"), options);
  WeightReader flow = reader.scoped("flow.");
  FlowConfig config = FlowConfig::from_json(ctx.weights_config("s3gen_meanflow"));
  config.attention_block_bytes = attention_block_bytes;
  FlowModel model = FlowModel::load(flow, config, options);
  reader.finish();
  return model;
}

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

// Compares `actual` with the fixture tensor `key` under another report name (for a value the
// engine computes a second way).
void compare_as(parity::Context& ctx, const std::string& fx, const std::string& key,
                const std::string& label, const at::Tensor& actual) {
  at::Tensor ref = ctx.input(fx, key);
  const double tol = parity::kModelOutput.rel_to_max * ref.abs().max().item<double>();
  const double err = max_abs_diff(actual, ref);
  ctx.report(fx + ":" + key + "(" + label + ")", err, tol, err <= tol);
}

chatterbox::VoiceConditioning fixture_voice(parity::Context& ctx, const std::string& fx) {
  chatterbox::VoiceConditioning voice;
  voice.prompt_token = ctx.input(fx, "input.prompt_token");
  voice.prompt_feat = ctx.input(fx, "input.prompt_feat");
  voice.embedding = ctx.input(fx, "input.embedding");
  // The reference's prompt length is the whole prompt_token row (batch 1, no padding).
  ctx.compare(fx, "input.prompt_token_len", at::full({1}, voice.prompt_token.size(1), at::kLong));
  return voice;
}

// The reference's CFM start point from its two draws (flow_inference's, then the CFM's).
FlowNoise fixture_noise(parity::Context& ctx, const std::string& fx) {
  return FlowNoise::injected_meanflow(ctx.input(fx, "flow.noised_mels_draw"),
                                      ctx.input(fx, "cfm.z_draw"));
}

}  // namespace

PARITY_CHECK(meanflow_estimator, "fixtures/s3gen_meanflow_estimator.safetensors") {
  const std::string fx = "s3gen_meanflow_estimator";
  c10::InferenceMode guard;
  FlowModel model = load_meanflow_flow(ctx);
  const auto& estimator = model.estimator();
  ctx.report(fx + ":model is mean-flow (config and mixer tensor)", 0.0, 0.0,
             model.meanflow() && estimator.meanflow() && model.config().default_n_timesteps() == 2);

  parity::TapRecorder time;
  estimator.time_embedding(ctx.input(fx, "input.t"), ctx.input(fx, "input.r"), time.tap());
  for (const char* key : {"time_emb.t_sinusoidal", "time_emb.r_sinusoidal", "time_emb.t_mlp",
                          "time_emb.r_mlp", "time_emb.mixed"}) {
    ctx.compare(fx, key, time.values[key][-1], parity::kModelOutput);
  }

  at::Tensor out = estimator.forward(ctx.input(fx, "input.x"), ctx.input(fx, "input.mask"),
                                     ctx.input(fx, "input.mu"), ctx.input(fx, "input.t"),
                                     ctx.input(fx, "input.spks"), ctx.input(fx, "input.cond"),
                                     ctx.input(fx, "input.r"));
  ctx.compare(fx, "output", out, parity::kModelOutput);

  // Attention in 16-row blocks (the long-utterance path), with the padded item's key bias.
  {
    const FlowModel blocked_model = load_meanflow_flow(ctx, 1);
    at::Tensor blocked = blocked_model.estimator().forward(
        ctx.input(fx, "input.x"), ctx.input(fx, "input.mask"), ctx.input(fx, "input.mu"),
        ctx.input(fx, "input.t"), ctx.input(fx, "input.spks"), ctx.input(fx, "input.cond"),
        ctx.input(fx, "input.r"));
    compare_as(ctx, fx, "output", "attention in 16-row blocks", blocked);
  }

  // A mean-flow estimator without r is a caller error, not a silent fallback to t alone.
  bool threw = false;
  try {
    estimator.forward(ctx.input(fx, "input.x"), ctx.input(fx, "input.mask"),
                      ctx.input(fx, "input.mu"), ctx.input(fx, "input.t"),
                      ctx.input(fx, "input.spks"), ctx.input(fx, "input.cond"));
  } catch (const chatterbox::Error& e) {
    threw = e.kind() == chatterbox::ErrorKind::kInvalidInput;
  }
  ctx.report(fx + ":forward without r throws kInvalidInput", 0.0, 0.0, threw);
}

PARITY_CHECK(meanflow_flow, "fixtures/s3gen_meanflow_flow.safetensors") {
  const std::string fx = "s3gen_meanflow_flow";
  c10::InferenceMode guard;
  FlowModel model = load_meanflow_flow(ctx);
  chatterbox::VoiceConditioning voice = fixture_voice(ctx, fx);
  const int n_timesteps = static_cast<int>(ctx.input(fx, "input.n_cfm_timesteps").item<int64_t>());
  // The reference drew both tensors from torch's generator seeded with input.noise_seed; the
  // recorded draws are injected instead (compared below through cfm.noise_z).
  ctx.mark_used(fx, "input.noise_seed");
  ctx.mark_used(fx, "flow.noised_mels_draw");
  ctx.mark_used(fx, "cfm.z_draw");
  FlowNoise noise = fixture_noise(ctx, fx);
  at::Tensor tokens = ctx.input(fx, "input.speech_tokens");

  parity::TapRecorder rec;
  at::Tensor mel = model.inference(voice, tokens, /*finalize=*/true, noise, n_timesteps, rec.tap());

  parity::compare_flow_trace(ctx, fx, rec);
  ctx.compare(fx, "cfm.step0.r_in", rec.values["cfm.step.r_in"][0], parity::kModelOutput);
  auto& dxdt = rec.values["cfm.step.dxdt_out"];
  if (dxdt.size() != static_cast<size_t>(n_timesteps)) {
    ctx.report(fx + ":cfm step count", double(dxdt.size()), double(n_timesteps), false);
  } else {
    // The fixture's cfm.step{k}.t / .r are the estimator's time inputs of step k.
    for (int k = 0; k < n_timesteps; ++k) {
      const std::string step = "cfm.step" + std::to_string(k);
      ctx.compare(fx, step + ".t", rec.values["cfm.step.t_in"][k], parity::kModelOutput);
      ctx.compare(fx, step + ".r", rec.values["cfm.step.r_in"][k], parity::kModelOutput);
      ctx.compare(fx, step + ".dxdt_out", dxdt[k], parity::kModelOutput);
    }
  }
  ctx.compare(fx, "cfm.x_after_each_step", rec.stacked("cfm.x_after_each_step"),
              parity::kModelOutput);
  ctx.compare(fx, "cfm.output_full", rec.values["cfm.output_full"][-1], parity::kModelOutput);
  ctx.compare(fx, "output_mel", mel, parity::kModelOutput);
  compare_as(ctx, fx, "cfm.step0.dxdt_out", "step0 trace", dxdt[0]);

  // The estimator alone on the recorded step-0 inputs (isolates it from the encoder).
  compare_as(ctx, fx, "cfm.step0.dxdt_out", "from fixture inputs",
             model.estimator().forward(
                 ctx.input(fx, "cfm.step0.x_in"), ctx.input(fx, "cfm.step0.mask_in"),
                 ctx.input(fx, "cfm.step0.mu_in"), ctx.input(fx, "cfm.step0.t_in"),
                 ctx.input(fx, "cfm.step0.spks_in"), ctx.input(fx, "cfm.step0.cond_in"),
                 ctx.input(fx, "cfm.step0.r_in")));

  // n_timesteps <= 0 takes the model's default, which for mean-flow is the fixture's 2; the
  // combined start point injected directly gives the same mel.
  compare_as(
      ctx, fx, "output_mel", "default steps, cfm.noise_z injected",
      model.inference(voice, tokens, true, FlowNoise::injected(ctx.input(fx, "cfm.noise_z")), 0));

  // Cancellation is polled between mean-flow steps too.
  std::atomic<bool> cancel{true};
  bool cancelled = false;
  try {
    model.inference(voice, tokens, true, noise, n_timesteps, {}, &cancel);
  } catch (const chatterbox::Error& e) {
    cancelled = e.kind() == chatterbox::ErrorKind::kCancelled;
  }
  ctx.report(fx + ":cancel flag stops the mean-flow solver", 0.0, 0.0, cancelled);
}

PARITY_CHECK(meanflow_s3gen_inference, "fixtures/s3gen_turbo_inference.safetensors") {
  // S3Gen.inference on Turbo's tokens (T3's ids + 3 silence tokens): mean-flow flow (finalize)
  // -> HiFT -> trim/fade, with every recorded draw injected, through the element's decoder.
  const std::string fx = "s3gen_turbo_inference";
  c10::InferenceMode guard;
  auto model = chatterbox::S3GenModel::load(ctx.weights("s3gen_meanflow"),
                                            ctx.weights_config("s3gen_meanflow"),
                                            at::TensorOptions().dtype(at::kFloat));
  ctx.compare(fx, "trim_fade", model->trim_fade(), parity::kModelOutput);

  at::Tensor tokens = chatterbox::append_turbo_silence(ctx.input(fx, "input.speech_tokens_raw"));
  ctx.compare(fx, "input.speech_tokens", tokens);
  ctx.mark_used(fx, "input.speech_tokens_raw");
  // generate() leaves n_cfm_timesteps to S3Gen's default: the model's own must be the same.
  const int64_t steps = ctx.input(fx, "input.n_cfm_timesteps").item<int64_t>();
  const int64_t default_steps = model->flow().config().default_n_timesteps();
  ctx.report(fx + ":input.n_cfm_timesteps(model default)", double(std::abs(default_steps - steps)),
             0.0, model->meanflow() && default_steps == steps);
  ctx.mark_used(fx, "input.n_cfm_timesteps");

  chatterbox::VoiceConditioning voice = fixture_voice(ctx, fx);
  FlowNoise noise = fixture_noise(ctx, fx);
  HiftRandom random = HiftRandom::injected(ctx.input(fx, "sinegen.phase_vec_uniform"),
                                           ctx.input(fx, "sinegen.noise_randn"));
  parity::TapRecorder rec;
  at::Tensor wav = parity::decode_offline(*model, voice, tokens, noise, random, rec.tap());
  ctx.compare(fx, "output_mel", rec.values["output_mel"][-1], parity::kModelOutput);
  ctx.compare(fx, "f0", rec.values["f0"][-1], parity::kModelOutput);
  ctx.compare(fx, "output_wav", wav, parity::kWaveform);
  ctx.compare(fx, "output_source", rec.values["output_source"][-1], parity::kWaveform);
  ctx.mark_used(fx, "input.noise_seed");
  ctx.mark_used(fx, "flow.noised_mels_draw");
  ctx.mark_used(fx, "cfm.z_draw");
  ctx.mark_used(fx, "sinegen.phase_vec_uniform");
  ctx.mark_used(fx, "sinegen.noise_randn");
  ctx.mark_used(fx, "source_module.noise_randn_unused");
}

PARITY_CHECK(meanflow_chunk_decoder, "fixtures/s3gen_turbo_inference.safetensors") {
  // The streaming decoder on the mean-flow model in every stitch mode (2 flow steps by default):
  // every token's audio comes out exactly once, over several chunks, and is finite.
  const std::string fx = "s3gen_turbo_inference";
  c10::InferenceMode guard;
  auto model = chatterbox::S3GenModel::load(ctx.weights("s3gen_meanflow"),
                                            ctx.weights_config("s3gen_meanflow"),
                                            at::TensorOptions().dtype(at::kFloat));
  chatterbox::VoiceConditioning voice;
  voice.prompt_token = ctx.input(fx, "input.prompt_token");
  voice.prompt_feat = ctx.input(fx, "input.prompt_feat");
  voice.embedding = ctx.input(fx, "input.embedding");
  at::Tensor ids = ctx.input(fx, "input.speech_tokens").reshape({-1}).contiguous();
  const std::vector<int64_t> tokens(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.numel());
  const int64_t expected = int64_t(tokens.size()) * 2 * model->hift().samples_per_frame();

  for (chatterbox::StitchMode mode :
       {chatterbox::StitchMode::kNone, chatterbox::StitchMode::kOverlapAdd,
        chatterbox::StitchMode::kContext}) {
    chatterbox::ChunkSchedule schedule;
    schedule.stitch_mode = mode;
    schedule.first_chunk_tokens = 6;
    schedule.chunk_tokens = schedule.max_chunk_tokens = 8;
    schedule.overlap_tokens = 4;
    chatterbox::ChunkPlanner planner(schedule);
    chatterbox::ChunkDecoder decoder(model->flow(), model->hift(), voice, planner.schedule(),
                                     /*cfm_steps=*/0, 7);
    std::vector<float> audio;
    chatterbox::ChunkPlan plan;
    int chunks = 0;
    while (planner.next(int(tokens.size()), /*done=*/true, plan)) {
      std::vector<float> chunk = decoder.decode(plan, tokens);
      audio.insert(audio.end(), chunk.begin(), chunk.end());
      chunks++;
      if (plan.last) break;
    }
    const bool finite = at::isfinite(at::tensor(audio)).all().item<bool>();
    const char* mode_name = mode == chatterbox::StitchMode::kNone         ? "none"
                            : mode == chatterbox::StitchMode::kOverlapAdd ? "overlap-add"
                                                                          : "context";
    const std::string name = fx + ":chunk decoder " + mode_name + " (" + std::to_string(chunks) +
                             " chunks) sample count, finite";
    ctx.report(name, double(int64_t(audio.size()) - expected), 0.0,
               int64_t(audio.size()) == expected && finite && chunks > 1);
  }
}
