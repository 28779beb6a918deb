// Parity checks for the Turbo T3 (src/t3/gpt2, src/t3/t3_turbo): fixtures t3_turbo_cond,
// t3_turbo_forward, t3_turbo_inference, and the T3 stop rules of e2e_turbo. See parity.h.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "parity.h"
#include "t3/t3_turbo.h"
#include "tap_recorder.h"

namespace {

using chatterbox::T3TurboConfig;
using chatterbox::T3TurboModel;

std::shared_ptr<const T3TurboModel> load_turbo(parity::Context& ctx,
                                               T3TurboConfig* config_out = nullptr,
                                               at::ScalarType matmul_dtype = at::kFloat) {
  auto file = ctx.weights("t3_turbo_v1");
  T3TurboConfig config = T3TurboConfig::from_checkpoint(*file, ctx.weights_config("t3_turbo_v1"));
  if (config_out) *config_out = config;
  chatterbox::T3TurboLoadOptions load_options;
  load_options.matmul_dtype = matmul_dtype;
  return T3TurboModel::load(file, config, at::TensorOptions().dtype(at::kFloat), load_options);
}

chatterbox::VoiceConditioning voice_of(parity::Context& ctx, const std::string& fx,
                                       const std::string& prefix) {
  chatterbox::VoiceConditioning v;
  v.speaker_emb = ctx.input(fx, prefix + "speaker_emb");
  v.cond_prompt_speech_tokens = ctx.input(fx, prefix + "cond_prompt_speech_tokens");
  v.exaggeration = 0.0f;  // unused by Turbo
  return v;
}

std::vector<int64_t> to_vector(const at::Tensor& t) {
  at::Tensor c = t.to(at::kLong).contiguous().view({-1});
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

at::Tensor as_row(const std::vector<int64_t>& v) { return at::tensor(v, at::kLong).unsqueeze(0); }

using parity::TapRecorder;

// HF hidden_states: index 0 (input + wpe) and the output of every block but the last, then
// `final` (the last block's output after ln_f).
at::Tensor hf_hidden_states(const TapRecorder& rec, int64_t layers, const at::Tensor& final) {
  std::vector<at::Tensor> hs;
  for (int64_t i = 0; i < layers; ++i) hs.push_back(rec.values.at("hidden_states").at(i));
  hs.push_back(final);
  return at::stack(hs, 0);
}

}  // namespace

PARITY_CHECK(t3_turbo_cond, "fixtures/t3_turbo_cond.safetensors") {
  c10::InferenceMode guard;
  auto model = load_turbo(ctx);
  const std::string fx = "t3_turbo_cond";
  chatterbox::VoiceConditioning voice = voice_of(ctx, fx, "input.");
  TapRecorder rec;
  at::Tensor cond =
      model->cond_embedding(voice.speaker_emb, voice.cond_prompt_speech_tokens, rec.tap());
  ctx.compare(fx, "spkr_enc_out", rec.values["spkr_enc_out"][-1]);
  ctx.compare(fx, "prompt_speech_emb", rec.values["prompt_speech_emb"][-1]);
  ctx.compare(fx, "cond_emb", cond);
  ctx.compare(fx, "len_cond", at::full({1}, cond.size(1), at::kLong));
  at::Tensor via_voice = model->cond_embedding(voice);
  ctx.report("t3_turbo_cond:cond_emb via VoiceConditioning (max diff)",
             (via_voice - cond).abs().max().item<double>(), 0.0, at::equal(via_voice, cond));
}

PARITY_CHECK(t3_turbo_forward, "fixtures/t3_turbo_forward.safetensors") {
  c10::InferenceMode guard;
  T3TurboConfig config;
  auto model = load_turbo(ctx, &config);
  const std::string fx = "t3_turbo_forward";
  chatterbox::VoiceConditioning voice = voice_of(ctx, fx, "input.");
  at::Tensor cond = model->cond_embedding(voice);
  TapRecorder rec;
  chatterbox::T3TurboForwardOutput out = model->forward(
      cond, ctx.input(fx, "input.text_tokens"), ctx.input(fx, "input.speech_tokens"), rec.tap());
  ctx.compare(fx, "len_cond", at::full({1}, cond.size(1), at::kLong));
  ctx.compare(fx, "input_embeds", rec.values["input_embeds"][-1]);
  ctx.compare(fx, "hidden_states_all",
              hf_hidden_states(rec, config.gpt2.num_layers, out.hidden_states));
  ctx.compare(fx, "last_block_out", rec.values["hidden_states"][config.gpt2.num_layers]);
  ctx.compare(fx, "hidden_states", out.hidden_states);
  ctx.compare(fx, "text_logits", out.text_logits);
  ctx.compare(fx, "speech_logits", out.speech_logits);
}

PARITY_CHECK(t3_turbo_inference, "fixtures/t3_turbo_inference.safetensors") {
  c10::InferenceMode guard;
  T3TurboConfig config;
  auto model = load_turbo(ctx, &config);
  const std::string fx = "t3_turbo_inference";
  chatterbox::VoiceConditioning voice = voice_of(ctx, fx, "input.");
  const std::vector<int64_t> text = to_vector(ctx.input(fx, "input.text_tokens"));

  chatterbox::T3TurboSamplingParams params;
  params.temperature = ctx.input(fx, "input.temperature").item<float>();
  params.top_k = ctx.input(fx, "input.top_k").item<int64_t>();
  params.top_p = ctx.input(fx, "input.top_p").item<float>();
  params.repetition_penalty = ctx.input(fx, "input.repetition_penalty").item<float>();
  params.max_new_tokens = ctx.input(fx, "input.max_gen_len").item<int64_t>();
  params.seed = uint64_t(ctx.input(fx, "input.sampling_seed").item<int64_t>());

  // Teacher forcing with the reference's draws: the session must take every one of them and then
  // stop by itself exactly where the reference did (here: max_gen_len + 1 tokens, no EOS).
  const std::vector<int64_t> reference_tokens = to_vector(ctx.input(fx, "sampled_tokens"));
  TapRecorder rec;
  chatterbox::T3TurboSession session(model, voice, text, params);
  session.set_tap(rec.tap());
  for (int64_t tok : reference_tokens) {
    if (session.finished()) break;
    session.step_forced(tok);
  }
  if (session.tokens().size() != reference_tokens.size()) {
    ctx.fail_check(fx, "session stopped after " + std::to_string(session.tokens().size()) + " of " +
                           std::to_string(reference_tokens.size()) + " tokens");
    return;
  }
  ctx.report(fx + ":session finished after the reference's last token",
             session.finished() ? 0.0 : 1.0, 0.0, session.finished());
  ctx.compare(fx, "output_tokens", as_row(session.output_tokens()));

  ctx.compare(fx, "len_cond",
              at::full({1}, config.cond_len(voice.cond_prompt_speech_tokens.numel()), at::kLong));
  ctx.compare(fx, "input_embeds", rec.values["input_embeds"][-1]);
  ctx.compare(
      fx, "prefill_hidden_states",
      hf_hidden_states(rec, config.gpt2.num_layers, rec.values["prefill_final_hidden"][-1]));
  ctx.compare(fx, "prefill_last_block_out", rec.values["hidden_states"][config.gpt2.num_layers]);
  for (const char* key : {"step_hidden_last", "step_logits_raw", "step_logits_after_temperature",
                          "step_logits_after_top_k", "step_logits_after_top_p",
                          "step_logits_after_rep_penalty", "step_probs"})
    ctx.compare(fx, key, rec.stacked(key));

  // The engine's path: the voice's conditioning prefix computed once, the prefill over the text
  // only. Same logits at every step (up to the rounding of the split prefill).
  {
    TapRecorder with_prefix;
    chatterbox::T3TurboSession cached(model, voice, model->prefix(voice), text, params);
    cached.set_tap(with_prefix.tap());
    for (int64_t tok : reference_tokens)
      if (!cached.finished()) cached.step_forced(tok);
    at::Tensor got = with_prefix.stacked("step_logits_raw");
    at::Tensor want = ctx.input(fx, "step_logits_raw");
    const double tol = parity::kModelOutput.rel_to_max * want.abs().max().item<double>();
    const double err = got.sizes() == want.sizes()
                           ? (got.to(at::kDouble) - want.to(at::kDouble)).abs().max().item<double>()
                           : INFINITY;
    ctx.report(fx + ":step_logits_raw(conditioning prefix cached)", err, tol,
               err <= tol && cached.finished());
  }

  // step_processor_input_ids [steps, steps], -1 = padding.
  const int64_t steps = int64_t(reference_tokens.size());
  at::Tensor ids = at::full({steps, steps}, -1, at::kLong);
  for (const auto& [s, t] : rec.values["step_processor_input_ids"])
    ids[s].narrow(0, 0, t.numel()).copy_(t);
  ctx.compare(fx, "step_processor_input_ids", ids);

  // sampled_tokens: the reference's draws come from torch's generator, which this one does not
  // reproduce; so: the reference's tokens and the session's own draws (same seed, same
  // probabilities) must have non-zero probability, and a free-running session must be
  // deterministic for a seed.
  at::Tensor probs = rec.stacked("step_probs");     // [N, V]
  at::Tensor drawn = rec.stacked("sampled_token");  // [N]
  at::Tensor ref = at::tensor(reference_tokens, at::kLong);
  at::Tensor p_drawn = probs.gather(1, drawn.unsqueeze(1)).squeeze(1);
  at::Tensor p_ref = probs.gather(1, ref.unsqueeze(1)).squeeze(1);
  const int64_t invalid = (p_drawn <= 0).sum().item<int64_t>() + (p_ref <= 0).sum().item<int64_t>();
  ctx.report(fx + ":sampled_tokens (draws with zero probability)", double(invalid), 0.0,
             invalid == 0);
  const int64_t agree = drawn.eq(ref).sum().item<int64_t>();
  std::printf(
      "  %s: %lld of %lld generator draws equal the reference's torch draws (informational)\n",
      fx.c_str(), (long long)agree, (long long)ref.numel());
  auto run_free = [&](uint64_t seed) {
    chatterbox::T3TurboSamplingParams p = params;
    p.seed = seed;
    chatterbox::T3TurboSession s(model, voice, text, p);
    while (!s.finished()) s.step();
    return s.tokens();
  };
  const auto a = run_free(params.seed), b = run_free(params.seed);
  ctx.report(fx + ":sampled_tokens (free-running, same seed twice: mismatches)", a == b ? 0.0 : 1.0,
             0.0, a == b && !a.empty());
  ctx.mark_used(fx, "sampled_tokens");

  // bf16-stored matrices (decode through the bf16 kernel): close to fp32, not bit-equal.
  {
    auto bf16 = load_turbo(ctx, nullptr, at::kBFloat16);
    TapRecorder rec16;
    chatterbox::T3TurboSession s(bf16, voice, text, params);
    s.set_tap(rec16.tap());
    for (int64_t tok : reference_tokens) s.step_forced(tok);
    at::Tensor ref_logits = rec.stacked("step_logits_raw");
    const double err = (rec16.stacked("step_logits_raw") - ref_logits).abs().max().item<double>();
    const double tol = 2e-2 * ref_logits.abs().max().item<double>();
    ctx.report(fx + ":step_logits_raw with bf16 matrices (max abs err, 2e-2 of max)", err, tol,
               err <= tol);
  }

  // Stop rules: a stop token sampled from the prefill is fed back and generation goes on; one
  // from a later step ends the session and is dropped from output_tokens().
  {
    chatterbox::T3TurboSession s(model, voice, text, params);
    const int64_t stop = config.stop_speech_token;
    s.step_forced(stop);
    const bool first_ok = !s.finished();
    s.step_forced(stop);
    const bool second_ok =
        s.finished() && s.tokens().size() == 2 && s.output_tokens() == std::vector<int64_t>{stop};
    ctx.report(fx + ":stop token ignored at step 0, ends at step 1",
               first_ok && second_ok ? 0.0 : 1.0, 0.0, first_ok && second_ok);
  }
}

PARITY_CHECK(t3_turbo_e2e_stop, "fixtures/e2e_turbo.safetensors") {
  // generate()'s T3 run ends on a sampled stop token: teacher-forced with its draws (generate's
  // defaults, max_gen_len 1000), the session must end exactly there and return the same tokens.
  c10::InferenceMode guard;
  auto model = load_turbo(ctx);
  const std::string fx = "e2e_turbo";
  chatterbox::VoiceConditioning voice = voice_of(ctx, fx, "t3.");
  chatterbox::T3TurboSamplingParams params;  // generate's defaults
  params.seed = uint64_t(ctx.input(fx, "input.sampling_seed").item<int64_t>());
  const std::vector<int64_t> sampled = to_vector(ctx.input(fx, "t3_sampled_tokens"));
  chatterbox::T3TurboSession s(model, voice, to_vector(ctx.input(fx, "input.text_ids")), params);
  size_t fed = 0;
  for (; fed < sampled.size() && !s.finished(); ++fed) s.step_forced(sampled[fed]);
  const bool ok = fed == sampled.size() && s.finished();
  ctx.report(fx + ":T3 session ends on the reference's stop token", ok ? 0.0 : 1.0, 0.0, ok);
  ctx.compare(fx, "t3_sampled_tokens", as_row(s.tokens()));
  ctx.compare(fx, "t3_output_tokens", as_row(s.output_tokens()));
}
