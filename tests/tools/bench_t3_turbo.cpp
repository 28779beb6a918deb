// chatterbox-bench case `t3_turbo`: Turbo T3 (GPT-2 medium) prefill and single-row decode speed.
//
//   chatterbox-bench [--model DIR] t3_turbo [text=40] [prompt=375] [tokens=40]
//   [variants=kernel,bf16,int8]
//
// DIR/t3_turbo_v1.safetensors is used when given; otherwise random full-size weights (GPT-2
// medium: width 1024, 24 layers, 16 heads, text vocab 50276, speech vocab 6563) are written once
// to /tmp. Variants: how the 1-row decode products are computed (src/t3/small_linear.h):
//   kernel  the dedicated AVX-512 kernel, fp32 weights (default engine path)
//   blas    at::linear
//   bf16    the kernel with bf16-stored weights (half the bytes; arithmetic fp32)
// Measures per variant: prefill seconds, decode ms/token and the gemv floor for the bytes a
// decode step must stream (every backbone matrix and the speech head once), ratio = decode / floor.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "bench.h"
#include "io/safetensors.h"
#include "model.h"
#include "t3/small_linear.h"
#include "t3/t3_turbo.h"

namespace {

// Random full-size Turbo T3 weights under the checkpoint's names (Conv1D weights [in, out]):
// matrices N(0, 1/fan_in), LayerNorm weights 1, biases 0, tables N(0, 0.5^2). Written once.
std::string random_full_turbo_weights() {
  const std::string path = "/tmp/chatterbox-bench-t3-turbo-full.safetensors";
  if (bench::file_exists(path)) return path;
  const int64_t D = 1024, L = 24, text_vocab = 50276, speech_vocab = 6563, positions = 8196;
  at::manual_seed(0);
  std::vector<std::pair<std::string, at::Tensor>> t;
  auto mat = [](int64_t in, int64_t out) {
    return at::randn({in, out}) * (1.0 / std::sqrt(double(in)));
  };
  t.emplace_back("tfmr.wte.weight", at::randn({text_vocab, D}) * 0.5);
  t.emplace_back("tfmr.wpe.weight", at::randn({positions, D}) * 0.2);
  for (int64_t i = 0; i < L; ++i) {
    const std::string p = "tfmr.h." + std::to_string(i) + ".";
    t.emplace_back(p + "ln_1.weight", at::ones({D}));
    t.emplace_back(p + "ln_1.bias", at::zeros({D}));
    t.emplace_back(p + "attn.c_attn.weight", mat(D, 3 * D));
    t.emplace_back(p + "attn.c_attn.bias", at::zeros({3 * D}));
    t.emplace_back(p + "attn.c_proj.weight", mat(D, D));
    t.emplace_back(p + "attn.c_proj.bias", at::zeros({D}));
    t.emplace_back(p + "ln_2.weight", at::ones({D}));
    t.emplace_back(p + "ln_2.bias", at::zeros({D}));
    t.emplace_back(p + "mlp.c_fc.weight", mat(D, 4 * D));
    t.emplace_back(p + "mlp.c_fc.bias", at::zeros({4 * D}));
    t.emplace_back(p + "mlp.c_proj.weight", mat(4 * D, D));
    t.emplace_back(p + "mlp.c_proj.bias", at::zeros({D}));
  }
  t.emplace_back("tfmr.ln_f.weight", at::ones({D}));
  t.emplace_back("tfmr.ln_f.bias", at::zeros({D}));
  t.emplace_back("cond_enc.spkr_enc.weight", at::randn({D, 256}) * (1.0 / 16));
  t.emplace_back("cond_enc.spkr_enc.bias", at::zeros({D}));
  t.emplace_back("text_emb.weight", at::randn({text_vocab, D}) * 0.5);
  t.emplace_back("speech_emb.weight", at::randn({speech_vocab, D}) * 0.5);
  t.emplace_back("text_head.weight", at::randn({text_vocab, D}) * (1.0 / 32));
  t.emplace_back("speech_head.weight", at::randn({speech_vocab, D}) * (1.0 / 32));
  t.emplace_back("speech_head.bias", at::zeros({speech_vocab}));
  chatterbox::write_safetensors(path + ".tmp", t);
  std::rename((path + ".tmp").c_str(), path.c_str());
  return path;
}

}  // namespace

BENCH_CASE(t3_turbo) {
  c10::InferenceMode guard;
  const int64_t text_len = std::stoll(bench::arg_value(options, "text", "40"));
  const int64_t prompt_len = std::stoll(bench::arg_value(options, "prompt", "375"));
  const int64_t tokens = std::stoll(bench::arg_value(options, "tokens", "40"));
  const auto variants = bench::arg_list(options, "variants", "kernel,bf16,int8");

  const std::string weights = options.model_dir.empty()
                                  ? random_full_turbo_weights()
                                  : options.model_dir + "/t3_turbo_v1.safetensors";
  auto file = std::make_shared<const chatterbox::SafetensorsFile>(weights);
  const chatterbox::T3TurboConfig config =
      chatterbox::T3TurboConfig::from_checkpoint(*file, nullptr);

  at::manual_seed(1);
  chatterbox::VoiceConditioning voice;
  voice.speaker_emb = at::randn({1, config.speaker_embed_size});
  voice.speaker_emb /= voice.speaker_emb.norm();
  voice.cond_prompt_speech_tokens =
      at::randint(0, config.start_speech_token, {1, prompt_len}, at::kLong);
  std::vector<int64_t> text(text_len);
  for (int64_t i = 0; i < text_len; ++i) text[i] = (i * 37) % config.text_tokens_dict_size;
  // Forced speech tokens so every run decodes exactly `tokens` steps (random weights might stop).
  std::vector<int64_t> forced(tokens);
  for (int64_t i = 0; i < tokens; ++i) forced[i] = 1 + (i * 101) % (config.start_speech_token - 1);

  bench::emit("t3_turbo", "threads", at::get_num_threads(),
              "torch intra-op threads (kernel uses these)");
  for (const std::string& variant : variants) {
    chatterbox::T3TurboLoadOptions load_options;
    if (variant == "blas")
      load_options.small_linear_path = chatterbox::SmallLinearPath::kBlas;
    else if (variant == "bf16")
      load_options.matmul_dtype = at::kBFloat16;
    else if (variant == "int8")
      load_options.matmul_dtype = at::kChar;
    else if (variant != "kernel")
      throw std::runtime_error("bench t3_turbo: unknown variant " + variant);

    double t0 = bench::now_seconds();
    auto model = chatterbox::T3TurboModel::load(file, config, at::TensorOptions().dtype(at::kFloat),
                                                load_options);
    const double load_s = bench::now_seconds() - t0;

    const double weight_bytes = double(model->decode_weight_bytes());
    const double floor_s = bench::gemv_floor_seconds(weight_bytes);

    chatterbox::T3TurboSamplingParams params;
    params.max_new_tokens = tokens;
    params.seed = 7;
    double best_prefill = 1e30, best_decode = 1e30;
    int64_t prefill_positions = 0;
    for (int r = 0; r < std::max(1, options.repeat); ++r) {
      chatterbox::T3TurboSession session(model, voice, text, params);
      prefill_positions = session.prefill_length();
      double a = bench::now_seconds();
      session.prefill();
      best_prefill = std::min(best_prefill, bench::now_seconds() - a);
      session.step_forced(forced[0]);  // the first token comes from the prefill logits
      a = bench::now_seconds();
      for (int64_t i = 1; i < tokens; ++i) session.step_forced(forced[i]);
      best_decode = std::min(best_decode, (bench::now_seconds() - a) / double(tokens - 1));
    }
    const nlohmann::json extra = {
        {"variant", variant}, {"prefill_positions", prefill_positions}, {"rows", 1}};
    auto with = [&](nlohmann::json more) {
      nlohmann::json j = extra;
      for (auto it = more.begin(); it != more.end(); ++it) j[it.key()] = it.value();
      return j;
    };
    bench::emit("t3_turbo", "load_seconds", load_s, "s", extra);
    bench::emit("t3_turbo", "prefill_seconds", best_prefill, "s", extra);
    bench::emit("t3_turbo", "decode_ms_per_token", best_decode * 1e3, "ms",
                with({{"floor", floor_s * 1e3},
                      {"ratio", best_decode / floor_s},
                      {"weight_bytes", weight_bytes}}));
    bench::emit("t3_turbo", "tokens_per_second", 1.0 / best_decode, "tokens/s", extra);
  }
}

// The effect of each reduced precision against fp32 on the same weights (case
// `turbo_precision_effect`): a seeded fp32 run makes `tokens` speech tokens; each precision is
// then teacher-forced with them (max |logit difference| relative to max |logit|, and how often
// its most likely token is fp32's), and run free with the same seed (how many tokens agree
// before the first difference, and in all).
//   chatterbox-bench [--model DIR] turbo_precision_effect [tokens=100] [precisions=bf16,int8]
BENCH_CASE(turbo_precision_effect) {
  c10::InferenceMode guard;
  const int64_t n = std::stoll(bench::arg_value(options, "tokens", "100"));
  const std::string weights = options.model_dir.empty()
                                  ? random_full_turbo_weights()
                                  : options.model_dir + "/t3_turbo_v1.safetensors";
  auto file = std::make_shared<const chatterbox::SafetensorsFile>(weights);
  const auto config = chatterbox::T3TurboConfig::from_checkpoint(*file, nullptr);
  at::manual_seed(1);
  chatterbox::VoiceConditioning voice;
  voice.speaker_emb = at::randn({1, config.speaker_embed_size});
  voice.speaker_emb /= voice.speaker_emb.norm();
  voice.cond_prompt_speech_tokens = at::randint(0, config.start_speech_token, {1, 375}, at::kLong);
  std::vector<int64_t> text(40);
  for (size_t i = 0; i < text.size(); ++i) text[i] = int64_t(1 + (i * 37) % 1000);

  struct Run {
    std::vector<int64_t> tokens;
    std::vector<at::Tensor> logits;  // [V] raw logits per step
  };
  auto run = [&](const std::shared_ptr<const chatterbox::T3TurboModel>& model,
                 const std::vector<int64_t>* forced) {
    chatterbox::T3TurboSamplingParams params;
    params.max_new_tokens = n;
    params.seed = 11;
    chatterbox::T3TurboSession session(model, voice, text, params);
    Run r;
    session.set_tap([&](const std::string& name, int64_t, const at::Tensor& v) {
      if (name == "step_logits_raw") r.logits.push_back(v.reshape({-1}).to(at::kDouble).clone());
    });
    for (int64_t i = 0; i < n && !session.finished(); ++i)
      r.tokens.push_back(forced ? session.step_forced((*forced)[size_t(i)]) : session.step());
    return r;
  };
  auto reference_model =
      chatterbox::T3TurboModel::load(file, config, at::TensorOptions().dtype(at::kFloat));
  // The fp32 run is free (seeded) and may end early on the stop token; the others follow it.
  const Run reference = run(reference_model, nullptr);
  reference_model.reset();
  for (const std::string& precision : bench::arg_list(options, "precisions", "bf16,int8")) {
    chatterbox::T3TurboLoadOptions load_options;
    load_options.matmul_dtype = chatterbox::t3_matmul_dtype(precision);
    auto model = chatterbox::T3TurboModel::load(file, config, at::TensorOptions().dtype(at::kFloat),
                                                load_options);
    const Run forced = run(model, &reference.tokens);
    double worst = 0, scale = 0;
    int64_t argmax_same = 0;
    const size_t steps = std::min(forced.logits.size(), reference.logits.size());
    for (size_t i = 0; i < steps; ++i) {
      worst = std::max(worst, (forced.logits[i] - reference.logits[i]).abs().max().item<double>());
      scale = std::max(scale, reference.logits[i].abs().max().item<double>());
      argmax_same +=
          forced.logits[i].argmax().item<int64_t>() == reference.logits[i].argmax().item<int64_t>();
    }
    const Run free_run = run(model, nullptr);
    size_t first_difference = 0, equal = 0;
    const size_t both = std::min(free_run.tokens.size(), reference.tokens.size());
    while (first_difference < both &&
           free_run.tokens[first_difference] == reference.tokens[first_difference])
      ++first_difference;
    for (size_t i = 0; i < both; ++i) equal += free_run.tokens[i] == reference.tokens[i];
    bench::emit("turbo_precision_effect", "logit_error_rel_to_max", scale > 0 ? worst / scale : 0,
                "x",
                {{"precision", precision},
                 {"max_abs_logit_error", worst},
                 {"max_abs_logit", scale},
                 {"steps", steps},
                 {"argmax_agreement", steps ? double(argmax_same) / double(steps) : 0.0}});
    bench::emit("turbo_precision_effect", "seeded_tokens_equal_before_first_difference",
                double(first_difference), "tokens",
                {{"precision", precision},
                 {"equal_fraction", both ? double(equal) / double(both) : 0.0},
                 {"reference_tokens", reference.tokens.size()},
                 {"tokens", free_run.tokens.size()}});
  }
}
