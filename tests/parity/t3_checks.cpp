// Parity checks for T3 (src/t3/): fixtures t3_cond, t3_forward, t3_inference (English set),
// t3_mtl_cond, t3_mtl_forward, t3_mtl_inference, t3_mtl_analyzer (multilingual set), and the
// token post-processing recorded in e2e. See parity.h.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "parity.h"
#include "t3/small_linear.h"
#include "t3/t3.h"
#include "tap_recorder.h"

namespace {

using chatterbox::T3Config;
using chatterbox::T3Model;

std::shared_ptr<const T3Model> load_t3(parity::Context& ctx, const std::string& weights,
                                       T3Config* config_out = nullptr) {
  T3Config config = T3Config::from_json(ctx.weights_config(weights));
  if (config_out) *config_out = config;
  return T3Model::load(ctx.weights(weights), config, at::TensorOptions().dtype(at::kFloat));
}

// The voice of a T3 fixture: conds.t3, recorded as the fixture's own inputs where it has them
// (multilingual set), else as the cond fixture's (English set).
chatterbox::VoiceConditioning t3_voice(parity::Context& ctx, const std::string& fixture,
                                       const std::string& cond_fixture) {
  const std::string& f = ctx.has(fixture, "input.speaker_emb") ? fixture : cond_fixture;
  chatterbox::VoiceConditioning v;
  v.speaker_emb = ctx.input(f, "input.speaker_emb");
  v.cond_prompt_speech_tokens = ctx.input(f, "input.cond_prompt_speech_tokens");
  v.exaggeration = ctx.input(f, "input.emotion_adv").item<float>();
  return v;
}

std::vector<int64_t> to_vector(const at::Tensor& t) {
  at::Tensor c = t.to(at::kLong).contiguous().view({-1});
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

using parity::TapRecorder;

// One fixture set's names: the English set (t3_cfg, t3_cond, ...) or the multilingual one.
struct T3Fixtures {
  const char* weights;
  const char* cond;
  const char* forward;
  const char* inference;
};
constexpr T3Fixtures kEnglish{"t3_cfg", "t3_cond", "t3_forward", "t3_inference"};
constexpr T3Fixtures kMultilingual{"t3_mtl23ls_v2", "t3_mtl_cond", "t3_mtl_forward",
                                   "t3_mtl_inference"};

void check_cond(parity::Context& ctx, const T3Fixtures& f) {
  c10::InferenceMode guard;
  auto model = load_t3(ctx, f.weights);
  chatterbox::VoiceConditioning voice = t3_voice(ctx, f.cond, f.cond);
  TapRecorder rec;
  at::Tensor cond = model->cond_embedding(voice.speaker_emb, voice.cond_prompt_speech_tokens,
                                          voice.exaggeration, rec.tap());
  for (const char* key :
       {"spkr_enc_out", "prompt_speech_emb", "perceiver_out", "emotion_adv_out"}) {
    ctx.compare(f.cond, key, rec.values[key][-1]);
  }
  ctx.compare(f.cond, "cond_emb", cond);
  // The VoiceConditioning entry point must give the same prefix.
  at::Tensor via_voice = model->cond_embedding(voice, voice.exaggeration);
  ctx.report(std::string(f.cond) + ":cond_emb via VoiceConditioning (max diff)",
             (via_voice - cond).abs().max().item<double>(), 0.0, at::equal(via_voice, cond));
}

void check_forward(parity::Context& ctx, const T3Fixtures& f) {
  c10::InferenceMode guard;
  auto model = load_t3(ctx, f.weights);
  chatterbox::VoiceConditioning voice = t3_voice(ctx, f.forward, f.cond);
  at::Tensor cond = model->cond_embedding(voice, voice.exaggeration);
  chatterbox::T3ForwardOutput out = model->forward(cond, ctx.input(f.forward, "input.text_tokens"),
                                                   ctx.input(f.forward, "input.speech_tokens"));
  ctx.compare(f.forward, "text_logits", out.text_logits);
  ctx.compare(f.forward, "speech_logits", out.speech_logits);
  ctx.compare(f.forward, "hidden_states", out.hidden_states);
}

// Tolerance for logits that the alignment control may set to +-32768 (and the penalty, the
// temperature to multiples of it): 1e-4 of the largest ordinary logit, absolute, so the edited
// entries must match as tightly as the rest.
parity::Tolerance edited_logits_tolerance(const at::Tensor& reference) {
  at::Tensor a = reference.abs();
  at::Tensor ordinary = a.masked_select(a.isfinite().logical_and(a < 16384));
  return parity::Tolerance{0.0, 1e-4 * (ordinary.numel() ? ordinary.max().item<double>() : 1.0)};
}

// Compares the analyzer's per-step results with the fixture's `prefix`.<flag> tensors: every
// flag the fixture records (false_start and last_token_passed only where it has them).
void compare_analysis(parity::Context& ctx, const std::string& fx, const std::string& prefix,
                      const std::vector<chatterbox::AlignmentStepResult>& results) {
  using R = chatterbox::AlignmentStepResult;
  const std::vector<std::pair<const char*, int64_t (*)(const R&)>> fields = {
      {"cur_text_posn", [](const R& r) { return r.cur_text_posn; }},
      {"text_position", [](const R& r) { return r.text_position; }},
      {"false_start", [](const R& r) { return int64_t(r.false_start); }},
      {"started", [](const R& r) { return int64_t(r.started); }},
      {"complete", [](const R& r) { return int64_t(r.complete); }},
      {"discontinuity", [](const R& r) { return int64_t(r.discontinuity); }},
      {"long_tail", [](const R& r) { return int64_t(r.long_tail); }},
      {"alignment_repetition", [](const R& r) { return int64_t(r.alignment_repetition); }},
      {"token_repetition", [](const R& r) { return int64_t(r.token_repetition); }},
      {"eos_suppressed", [](const R& r) { return int64_t(r.eos_suppressed); }},
      {"forced_eos", [](const R& r) { return int64_t(r.forced_eos); }},
      {"last_token_passed", [](const R& r) { return r.last_token; }}};
  for (const auto& [key, get] : fields) {
    if (!ctx.has(fx, prefix + key)) continue;
    std::vector<int64_t> v;
    for (const R& r : results) v.push_back(get(r));
    ctx.compare(fx, prefix + key, at::tensor(v, at::kLong));
  }
}

// The multilingual analyzer inside the sampling loop: the attention maps it read (captured from
// our own backbone during the same forward passes), its alignment and every per-step flag.
void check_inference_analyzer(parity::Context& ctx, const std::string& fx,
                              const chatterbox::T3Session& session, const TapRecorder& rec) {
  const chatterbox::AlignmentStreamAnalyzer* analyzer = session.analyzer();
  if (!analyzer) {
    ctx.fail_check(fx, "the multilingual T3 session runs no alignment analyzer");
    return;
  }
  ctx.compare(
      fx, "analyzer.text_tokens_slice",
      at::tensor(std::vector<int64_t>{analyzer->text_begin(), analyzer->text_end()}, at::kLong));
  const auto& maps = rec.values.at("analyzer.aligned_attn");  // step -> [3, T, total]
  ctx.compare(fx, "analyzer.aligned_attn_prefill", maps.at(0));
  at::Tensor ref_steps =
      ctx.input(fx, "analyzer.aligned_attn_steps");  // [N - 1, 3, width] zero-padded
  at::Tensor steps = at::zeros_like(ref_steps);
  for (int64_t s = 1; s <= ref_steps.size(0) && maps.count(s); ++s) {
    at::Tensor m = maps.at(s).select(1, 0);  // [3, total]
    steps[s - 1].narrow(1, 0, m.size(1)).copy_(m);
  }
  ctx.compare(fx, "analyzer.aligned_attn_steps", steps);
  ctx.compare(fx, "analyzer.alignment_final", analyzer->alignment());
  compare_analysis(ctx, fx, "analyzer.", session.analysis());
}

void check_inference(parity::Context& ctx, const T3Fixtures& f) {
  c10::InferenceMode guard;
  T3Config config;
  auto model = load_t3(ctx, f.weights, &config);
  chatterbox::VoiceConditioning voice = t3_voice(ctx, f.inference, f.cond);
  const std::string fx = f.inference;

  // RoPE tables: this model's and the official configuration's.
  ctx.compare(fx, "rope_inv_freq_tiny", chatterbox::rope_inv_freq(config));
  if (ctx.has(fx, "rope_inv_freq_real_llama520m")) {
    ctx.compare(fx, "rope_inv_freq_real_llama520m", chatterbox::rope_inv_freq(T3Config{}));
    ctx.compare(fx, "rope_attention_scaling_real",
                at::ones({1}));  // llama3 scaling keeps attention scale 1
  }

  // Text ids wrapped as generate() does: [start_text, ids..., stop_text], both CFG rows.
  std::vector<int64_t> text = to_vector(ctx.input(fx, "input.text_ids"));
  text.insert(text.begin(), config.start_text_token);
  text.push_back(config.stop_text_token);
  at::Tensor wrapped = at::tensor(text, at::kLong).unsqueeze(0);
  ctx.compare(fx, "input.text_tokens_cfg", at::cat({wrapped, wrapped}, 0));

  chatterbox::T3SamplingParams params;
  params.cfg_weight = ctx.input(fx, "input.cfg_weight").item<float>();
  params.temperature = ctx.input(fx, "input.temperature").item<float>();
  params.top_p = ctx.input(fx, "input.top_p").item<float>();
  params.min_p = ctx.input(fx, "input.min_p").item<float>();
  params.repetition_penalty = ctx.input(fx, "input.repetition_penalty").item<float>();
  params.seed = uint64_t(ctx.input(fx, "input.sampling_seed").item<int64_t>());
  // Teacher forcing with the reference's draws; generation must not stop before them.
  const std::vector<int64_t> reference_tokens = to_vector(ctx.input(fx, "sampled_tokens"));
  params.max_new_tokens = int64_t(reference_tokens.size());
  if (ctx.has(fx, "input.max_new_tokens"))
    ctx.compare(fx, "input.max_new_tokens", at::full({1}, params.max_new_tokens, at::kLong));

  TapRecorder rec;
  chatterbox::T3Session session(model, voice, voice.exaggeration, text, params);
  session.set_tap(rec.tap());
  for (int64_t tok : reference_tokens) {
    if (session.finished()) break;
    session.step_forced(tok);
  }
  if (session.tokens().size() != reference_tokens.size()) {
    ctx.fail_check(fx,
                   "session stopped after " + std::to_string(session.tokens().size()) + " tokens");
    return;
  }

  ctx.compare(fx, "len_cond", at::full({1}, config.cond_len(), at::kLong));
  ctx.compare(fx, "input_embeds", rec.values["input_embeds"][-1]);
  ctx.compare(fx, "prefill_embeds_with_bos", rec.values["prefill_embeds_with_bos"][-1]);
  // HF hidden_states: the input, the output of every layer but the last, then the last layer's
  // output after the final norm.
  std::vector<at::Tensor> hs;
  for (int64_t i = 0; i < config.num_hidden_layers; ++i)
    hs.push_back(rec.values["hidden_states"][i]);
  hs.push_back(rec.values["prefill_final_hidden"][-1]);
  ctx.compare(fx, "prefill_hidden_states", at::stack(hs, 0));
  for (const char* key : {"step_logits_raw", "step_logits_cfg", "step_probs"})
    ctx.compare(fx, key, rec.stacked(key));
  for (const char* key :
       {"step_logits_after_analyzer", "step_logits_after_rep_penalty",
        "step_logits_after_temperature", "step_logits_after_min_p", "step_logits_after_top_p"}) {
    if (!ctx.has(fx, key)) continue;  // after_analyzer: multilingual only
    if (!rec.values.count(key)) {
      ctx.fail_check(fx, std::string("no ") + key + " recorded");
      continue;
    }
    if (model->multilingual())
      ctx.compare(fx, key, rec.stacked(key), edited_logits_tolerance(ctx.input(fx, key)));
    else
      ctx.compare(fx, key, rec.stacked(key));
  }
  if (model->multilingual()) check_inference_analyzer(ctx, fx, session, rec);

  // sampled_tokens: the session's own draws (same seed, same probabilities) must be valid
  // samples, i.e. have non-zero probability, and a free-running session must be deterministic.
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
    chatterbox::T3SamplingParams p = params;
    p.seed = seed;
    chatterbox::T3Session s(model, voice, voice.exaggeration, text, p);
    while (!s.finished()) s.step();
    return s.tokens();
  };
  const auto a = run_free(params.seed), b = run_free(params.seed);
  ctx.report(fx + ":sampled_tokens (free-running, same seed twice: mismatches)", a == b ? 0.0 : 1.0,
             0.0, a == b && !a.empty());
  ctx.mark_used(fx, "sampled_tokens");

  // cfg_weight = 0 runs a single conditional row: its raw logits equal row 0 of the CFG batch.
  {
    chatterbox::T3SamplingParams p = params;
    p.cfg_weight = 0.0f;
    TapRecorder rec1;
    chatterbox::T3Session s(model, voice, voice.exaggeration, text, p);
    s.set_tap(rec1.tap());
    for (size_t i = 0; i < 3 && i < reference_tokens.size(); ++i)
      s.step_forced(reference_tokens[i]);
    at::Tensor single = rec1.stacked("step_logits_raw").select(1, 0);
    at::Tensor batched = rec.stacked("step_logits_raw").narrow(0, 0, single.size(0)).select(1, 0);
    const double err = (single - batched).abs().max().item<double>();
    const double tol = 1e-4 * batched.abs().max().item<double>();
    ctx.report(fx + ":cfg_weight=0 single row vs CFG row 0", err, tol, err <= tol);
  }
}

}  // namespace

PARITY_CHECK(t3_cond, "fixtures/t3_cond.safetensors") { check_cond(ctx, kEnglish); }
PARITY_CHECK(t3_forward, "fixtures/t3_forward.safetensors") { check_forward(ctx, kEnglish); }
PARITY_CHECK(t3_inference, "fixtures/t3_inference.safetensors") { check_inference(ctx, kEnglish); }
PARITY_CHECK(t3_mtl_cond, "fixtures/t3_mtl_cond.safetensors") { check_cond(ctx, kMultilingual); }
PARITY_CHECK(t3_mtl_forward, "fixtures/t3_mtl_forward.safetensors") {
  check_forward(ctx, kMultilingual);
}
PARITY_CHECK(t3_mtl_inference, "fixtures/t3_mtl_inference.safetensors") {
  check_inference(ctx, kMultilingual);
}

PARITY_CHECK(t3_mtl_analyzer, "fixtures/t3_mtl_analyzer.safetensors") {
  // AlignmentStreamAnalyzer.step on the designed attention maps of three scenarios: every flag
  // per step, the alignment and the edited logits.
  c10::InferenceMode guard;
  const std::string fx = "t3_mtl_analyzer";
  const std::vector<int64_t> slice = to_vector(ctx.input(fx, "input.text_tokens_slice"));
  const int64_t prefill = ctx.input(fx, "input.prefill_len").item<int64_t>();
  const at::Tensor logits_in = ctx.input(fx, "input.logits");  // [N, V]
  const int64_t eos = 6562;                                    // T3Config: stop_speech_token
  for (const std::string name : {"long_tail", "alignment_repetition", "token_repetition"}) {
    const at::Tensor prefill_maps = ctx.input(fx, name + ".attn_prefill");  // [3, P, P]
    const at::Tensor step_maps = ctx.input(fx, name + ".attn_steps");       // [N - 1, 3, width]
    const std::vector<int64_t> next_token = to_vector(ctx.input(fx, name + ".next_token"));
    chatterbox::AlignmentStreamAnalyzer analyzer(slice[0], slice[1], eos);
    std::vector<chatterbox::AlignmentStepResult> results;
    std::vector<float> out_eos;
    std::vector<int64_t> equals_in, forced_pattern;
    for (int64_t s = 0; s < logits_in.size(0); ++s) {
      std::vector<at::Tensor> maps;
      for (int64_t h = 0; h < 3; ++h)
        maps.push_back(s == 0 ? prefill_maps[h]
                              : step_maps[s - 1][h].narrow(0, 0, prefill + s).unsqueeze(0));
      at::Tensor logits = logits_in[s].unsqueeze(0).clone();  // [1, V]
      results.push_back(analyzer.step(maps, logits, next_token[s]));
      out_eos.push_back(logits[0][eos].item<float>());
      at::Tensor others = at::ones({logits.size(1)}, at::kBool);
      others[eos] = false;
      equals_in.push_back(
          at::equal(logits[0].masked_select(others), logits_in[s].masked_select(others)));
      at::Tensor pattern =
          at::full({logits.size(1)}, chatterbox::AlignmentStreamAnalyzer::kSuppressedLogit);
      pattern[eos] = chatterbox::AlignmentStreamAnalyzer::kForcedLogit;
      forced_pattern.push_back(at::equal(logits[0], pattern));
    }
    compare_analysis(ctx, fx, name + ".", results);
    ctx.compare(fx, name + ".logits_out_eos", at::tensor(out_eos, at::kFloat),
                parity::Tolerance{0.0, 0.0});
    ctx.compare(fx, name + ".out_equals_in_except_eos", at::tensor(equals_in, at::kLong));
    ctx.compare(fx, name + ".out_is_forced_pattern", at::tensor(forced_pattern, at::kLong));
    ctx.compare(fx, name + ".alignment_final", analyzer.alignment(), parity::Tolerance{0.0, 0.0});
    ctx.compare(fx, name + ".started_at", at::full({1}, analyzer.started_at(), at::kLong));
    ctx.compare(fx, name + ".completed_at", at::full({1}, analyzer.completed_at(), at::kLong));
  }
}

PARITY_CHECK(t3_tokens_for_s3gen, "fixtures/e2e.safetensors") {
  // ChatterboxTTS.generate: drop start/stop and ids >= 6561 before S3Gen.
  std::vector<int64_t> raw = to_vector(ctx.input("e2e", "t3_sampled_tokens"));
  std::vector<int64_t> out = chatterbox::t3_tokens_for_s3gen(raw);
  ctx.compare("e2e", "s3gen_input_tokens", at::tensor(out, at::kLong).unsqueeze(0));
}

PARITY_CHECK(t3_small_linear, "") {
  // The decode kernel (and the portable scalar loop) against at::linear on the matrix the
  // storage represents: fp32, bf16 (compared with the same rounded weights in fp32) and per-row
  // int8 (with its dequantised weights), with and without bias, 1-4 rows, 1-3 threads, K not a
  // multiple of 8, 16 or 32 to cover the tails.
  c10::InferenceMode guard;
  at::manual_seed(3);
  const std::vector<at::ScalarType> dtypes = {at::kFloat, at::kBFloat16, at::kChar};
  std::vector<double> worst(dtypes.size(), 0.0);
  double worst_scalar = 0.0;
  const int saved_threads = at::get_num_threads();
  for (int threads : {1, 2, 3}) {
    at::set_num_threads(threads);  // the kernel splits its rows over these
    for (int64_t rows : {1, 2, 3, 4}) {
      for (auto nk : std::vector<std::pair<int64_t, int64_t>>{
               {192, 64}, {67, 1024}, {130, 100}, {33, 40}, {21, 13}, {3072, 1024}, {70, 1027}}) {
        at::Tensor w = at::randn({nk.first, nk.second});
        at::Tensor x = at::randn({rows, 1, nk.second});
        at::Tensor b = at::randn({nk.first});
        for (size_t d = 0; d < dtypes.size(); ++d) {
          const chatterbox::LinearWeight lw = chatterbox::make_linear_weight(w, dtypes[d]);
          for (bool with_bias : {false, true}) {
            const at::Tensor bias = with_bias ? b : at::Tensor();
            at::Tensor ref = at::linear(x, lw.dequantized(), bias);
            auto rel = [&](const at::Tensor& got) {
              return ((got - ref).abs().max() / ref.abs().max()).item<double>();
            };
            worst[d] = std::max(worst[d], rel(chatterbox::small_linear(x, lw, bias)));
            if (!with_bias && dtypes[d] != at::kChar)  // the original tensor overload
              worst[d] = std::max(worst[d], rel(chatterbox::small_linear(x, lw.weight)));
            chatterbox::LinearWeight scalar = lw;
            scalar.path = chatterbox::SmallLinearPath::kScalar;
            worst_scalar = std::max(worst_scalar, rel(chatterbox::small_linear(x, scalar, bias)));
          }
        }
      }
    }
  }
  at::set_num_threads(saved_threads);
  const std::string isa = chatterbox::small_linear_kernel_isa();
  const char* names[] = {"fp32", "bf16", "int8"};
  for (size_t d = 0; d < dtypes.size(); ++d)
    ctx.report("t3:small_linear " + isa + " kernel " + names[d] + " vs at::linear (max rel err)",
               worst[d], 1e-5, worst[d] <= 1e-5);
  ctx.report("t3:small_linear scalar loop vs at::linear (max rel err)", worst_scalar, 1e-5,
             worst_scalar <= 1e-5);
}

PARITY_CHECK(t3_small_linear_int8_quantisation, "") {
  // make_linear_weight(kChar): symmetric per-row int8, scale = max|row| / 127, so every weight is
  // within half a step of its dequantised value and each row's largest weight is exact; an
  // all-zero row stays zero.
  c10::InferenceMode guard;
  at::manual_seed(4);
  at::Tensor w = at::randn({50, 77}) * at::rand({50, 1}) * 3;
  w[7].zero_();
  const chatterbox::LinearWeight lw = chatterbox::make_linear_weight(w, at::kChar);
  const at::Tensor step = lw.scale.unsqueeze(1);
  const double excess = ((lw.dequantized() - w).abs() - step / 2).max().item<double>();
  ctx.report("t3:int8 |dequantised - w| - scale/2 (max)", excess, 1e-6, excess <= 1e-6);
  const double scale_err = (lw.scale * 127 - w.abs().amax(1)).abs().max().item<double>();
  ctx.report("t3:int8 scale * 127 vs max|row|", scale_err, 1e-5, scale_err <= 1e-5);
  const bool zero_row =
      lw.scale[7].item<float>() == 0.f && lw.dequantized()[7].abs().max().item<float>() == 0.f;
  ctx.report("t3:int8 all-zero row stays zero", zero_row ? 0.0 : 1.0, 0.0, zero_row);
  bool threw = false;
  try {
    chatterbox::make_linear_weight(w, at::kHalf);
  } catch (const chatterbox::Error& e) {
    threw = e.kind() == chatterbox::ErrorKind::kInvalidInput;
  }
  ctx.report("t3:make_linear_weight rejects float16 storage", threw ? 0.0 : 1.0, 0.0, threw);
}
