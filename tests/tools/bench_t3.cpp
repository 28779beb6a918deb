// chatterbox-bench case `t3`: T3 prefill and CFG decode speed on a full-size model.
//
//   chatterbox-bench --model DIR t3 [text=42] [prompt=150] [tokens=40]
//   [variants=kernel,blas,rowmv,bf16]
//
// DIR/t3_cfg.safetensors (+ t3_cfg.json) is used when given; otherwise random full-size T3 weights
// are written once to /tmp from the oracle's real_checkpoint_layout.json (oracle=DIR, else
// $CHATTERBOX_ORACLE_DIR, else the oracle directory the build was configured with).
// Sizes default to performance-anchors.md: 150 prompt tokens; text 42 ids (with start/stop) so the
// prefill is 34 + 42 + 2 = 78 positions per CFG row; decode batch 2 (CFG).
// Variants: how the 2-row decode products are computed (src/t3/small_linear.h):
//   kernel  the dedicated AVX-512 / AVX2 kernel, fp32 weights (default engine path)
//   blas    at::linear ([2, K] x [K, N] through BLAS)
//   rowmv   one at::mv per CFG row (weights streamed twice)
//   bf16    the kernel with bf16-stored weights (half the bytes; arithmetic fp32)
//   int8    the kernel with int8 weights and per-row scales (a quarter of the bytes)
// Measures per variant: prefill seconds, decode ms/token, tokens/s, and the gemv floor for the
// bytes a decode step must stream (bench::gemv_floor_seconds) with ratio = decode / floor.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "bench.h"
#include "io/safetensors.h"
#include "t3/alignment_analyzer.h"
#include "t3/small_linear.h"
#include "t3/t3.h"

namespace {

using chatterbox::T3Config;
using chatterbox::T3Model;

// Random full-size T3 weights (names/shapes from the real layout): projections N(0, 1/fan_in),
// norms 1, biases 0, embeddings N(0, 0.5^2). Written once and reused. text_vocab > 0: that many
// text ids instead of English's (2454: the multilingual T3, otherwise the same layout).
std::string random_full_t3_weights(const std::string& oracle_dir, int64_t text_vocab = 0) {
  const std::string path =
      text_vocab > 0
          ? "/tmp/chatterbox-bench-t3-full-" + std::to_string(text_vocab) + ".safetensors"
          : std::string("/tmp/chatterbox-bench-t3-full.safetensors");
  if (bench::file_exists(path)) return path;
  const std::string layout_path = oracle_dir + "/real_checkpoint_layout.json";
  std::ifstream in(layout_path);
  if (!in) throw std::runtime_error("bench t3: no --model and no " + layout_path);
  nlohmann::json layout = nlohmann::json::parse(in)["t3_cfg.safetensors"];
  at::manual_seed(0);
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (auto it = layout.begin(); it != layout.end(); ++it) {
    const std::string& name = it.key();
    std::vector<int64_t> shape = it.value()["shape"].get<std::vector<int64_t>>();
    if (text_vocab > 0 && (name == "text_emb.weight" || name == "text_head.weight"))
      shape[0] = text_vocab;
    at::Tensor t;
    const bool bias = name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0;
    if (bias)
      t = at::zeros(shape);
    else if (shape.size() == 1)
      t = at::ones(shape);
    else if (name.find("emb") != std::string::npos || name.find("query") != std::string::npos)
      t = at::randn(shape) * 0.5;
    else
      t = at::randn(shape) * (1.0 / std::sqrt(double(shape.back())));
    tensors.emplace_back(name, t);
  }
  chatterbox::write_safetensors(path + ".tmp", tensors);
  std::rename((path + ".tmp").c_str(), path.c_str());
  return path;
}

// A voice and a text of the benchmark's sizes (random ids: the cost does not depend on them), and
// forced speech tokens so every run decodes exactly `tokens` steps (random weights might stop).
struct BenchInputs {
  chatterbox::VoiceConditioning voice;
  std::vector<int64_t> text;
  std::vector<int64_t> forced;
};
BenchInputs bench_inputs(const T3Config& config, int64_t text_len, int64_t prompt_len,
                         int64_t tokens) {
  at::manual_seed(1);
  BenchInputs in;
  in.voice.speaker_emb = at::randn({1, config.speaker_embed_size});
  in.voice.speaker_emb /= in.voice.speaker_emb.norm();
  in.voice.cond_prompt_speech_tokens =
      at::randint(0, config.start_speech_token, {1, prompt_len}, at::kLong);
  in.text.assign(text_len, 0);
  in.text[0] = config.start_text_token;
  for (int64_t i = 1; i + 1 < text_len; ++i)
    in.text[i] = 3 + (i * 37) % (config.text_tokens_dict_size - 3);
  in.text[text_len - 1] = config.stop_text_token;
  in.forced.resize(tokens);
  for (int64_t i = 0; i < tokens; ++i) in.forced[i] = (i * 101) % config.start_speech_token;
  return in;
}

// CPU seconds of all this process's threads: on a shared machine, unlike wall time, not
// inflated by time spent descheduled.
double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

}  // namespace

BENCH_CASE(t3) {
  c10::InferenceMode guard;
  const int64_t text_len = std::stoll(bench::arg_value(options, "text", "42"));
  const int64_t prompt_len = std::stoll(bench::arg_value(options, "prompt", "150"));
  const int64_t tokens = std::stoll(bench::arg_value(options, "tokens", "40"));
  const auto variants = bench::arg_list(options, "variants", "kernel,blas,rowmv,bf16");

  std::string weights, config_path;
  if (!options.model_dir.empty()) {
    weights = options.model_dir + "/t3_cfg.safetensors";
    config_path = options.model_dir + "/t3_cfg.json";
  } else {
    weights = random_full_t3_weights(bench::oracle_dir(options));
  }
  nlohmann::json config_json;
  if (!config_path.empty() && bench::file_exists(config_path))
    config_json = nlohmann::json::parse(std::ifstream(config_path));
  const T3Config config = T3Config::from_json(config_json);
  auto file = std::make_shared<const chatterbox::SafetensorsFile>(weights);

  const BenchInputs in = bench_inputs(config, text_len, prompt_len, tokens);
  const chatterbox::VoiceConditioning& voice = in.voice;
  const std::vector<int64_t>& text = in.text;
  const std::vector<int64_t>& forced = in.forced;

  bench::emit("t3", "threads", at::get_num_threads(), "torch intra-op threads (kernel uses these)");
  for (const std::string& variant : variants) {
    chatterbox::T3LoadOptions load_options;
    if (variant == "blas")
      load_options.small_linear_path = chatterbox::SmallLinearPath::kBlas;
    else if (variant == "rowmv")
      load_options.small_linear_path = chatterbox::SmallLinearPath::kRowGemv;
    else if (variant == "bf16")
      load_options.matmul_dtype = at::kBFloat16;
    else if (variant == "int8")
      load_options.matmul_dtype = at::kChar;
    else if (variant != "kernel")
      throw std::runtime_error("bench t3: unknown variant " + variant);

    double t0 = bench::now_seconds();
    auto model = T3Model::load(file, config, at::TensorOptions().dtype(at::kFloat), load_options);
    const double load_s = bench::now_seconds() - t0;

    // Bytes one decode step must stream: every backbone matrix and the speech head, once.
    double weight_bytes = 0;
    for (const auto& l : model->backbone().layers)
      for (const chatterbox::LinearWeight* t :
           {&l.qkv_proj, &l.o_proj, &l.gate_up_proj, &l.down_proj})
        weight_bytes += double(t->bytes());
    const double head_element = load_options.matmul_dtype == at::kBFloat16 ? 2
                                : load_options.matmul_dtype == at::kChar   ? 1
                                                                           : 4;
    weight_bytes += double(config.speech_tokens_dict_size) * config.hidden_size * head_element;
    const double floor_s = bench::gemv_floor_seconds(weight_bytes);

    chatterbox::T3SamplingParams params;
    params.max_new_tokens = tokens + 1;
    params.seed = 7;
    double best_prefill = 1e30, best_decode = 1e30, best_prefill_cpu = 1e30, best_decode_cpu = 1e30;
    long faults_per_token = 0;
    for (int r = 0; r < std::max(1, options.repeat); ++r) {
      chatterbox::T3Session session(model, voice, voice.exaggeration, text, params);
      double a = bench::now_seconds(), ca = process_cpu_seconds();
      session.prefill();
      best_prefill = std::min(best_prefill, bench::now_seconds() - a);
      best_prefill_cpu = std::min(best_prefill_cpu, process_cpu_seconds() - ca);
      session.step_forced(forced[0]);  // the first token comes from the prefill logits
      const long f0 = bench::page_faults();
      a = bench::now_seconds();
      ca = process_cpu_seconds();
      for (int64_t i = 1; i < tokens; ++i) session.step_forced(forced[i]);
      const double per_token = (bench::now_seconds() - a) / double(tokens - 1);
      best_decode_cpu =
          std::min(best_decode_cpu, (process_cpu_seconds() - ca) / double(tokens - 1));
      if (per_token < best_decode) {
        best_decode = per_token;
        faults_per_token = (bench::page_faults() - f0) / (tokens - 1);
      }
    }
    const nlohmann::json extra = {{"variant", variant},
                                  {"prefill_positions", 34 + text_len + 2},
                                  {"rows", 2},
                                  {"prompt_tokens", prompt_len}};
    auto with = [&](nlohmann::json more) {
      nlohmann::json j = extra;
      for (auto it = more.begin(); it != more.end(); ++it) j[it.key()] = it.value();
      return j;
    };
    bench::emit("t3", "load_seconds", load_s, "s", extra);
    bench::emit("t3", "prefill_seconds", best_prefill, "s",
                with({{"cpu_seconds", best_prefill_cpu}}));
    bench::emit("t3", "decode_ms_per_token", best_decode * 1e3, "ms",
                with({{"floor", floor_s * 1e3},
                      {"ratio", best_decode / floor_s},
                      {"cpu_ms", best_decode_cpu * 1e3},
                      {"weight_bytes", weight_bytes},
                      {"page_faults_per_token", faults_per_token}}));
    bench::emit("t3", "tokens_per_second", 1.0 / best_decode, "tokens/s", extra);
    bench::emit("t3", "peak_rss_bytes", bench::peak_rss_bytes(), "bytes", extra);
  }
}

// chatterbox-bench case `t3_mtl`: what the multilingual alignment control costs per decode token.
//
//   chatterbox-bench [--model DIR] t3_mtl [text=42] [prompt=150] [tokens=200] [rounds=3]
//
// DIR/t3_mtl23ls_v2.safetensors when given, else random full-size multilingual T3 weights (the
// English layout with 2454 text ids, written once to /tmp). The same model decodes the same
// forced tokens with the analyzer on (0.1.7: attention capture of three heads + analysis + logit
// edits) and off (the English loop), interleaved round by round so a noisy machine hits both
// alike; best round of each. Reports ms/token of both and the overhead in percent.
BENCH_CASE(t3_mtl) {
  c10::InferenceMode guard;
  const int64_t text_len = std::stoll(bench::arg_value(options, "text", "42"));
  const int64_t prompt_len = std::stoll(bench::arg_value(options, "prompt", "150"));
  const int64_t tokens = std::stoll(bench::arg_value(options, "tokens", "200"));
  const int rounds = std::stoi(bench::arg_value(options, "rounds", "3"));
  std::string weights, config_path;
  if (!options.model_dir.empty()) {
    weights = options.model_dir + "/t3_mtl23ls_v2.safetensors";
    config_path = options.model_dir + "/t3_mtl23ls_v2.json";
  } else {
    weights = random_full_t3_weights(bench::oracle_dir(options), T3Model::kMultilingualTextVocab);
  }
  nlohmann::json config_json;
  if (!config_path.empty() && bench::file_exists(config_path))
    config_json = nlohmann::json::parse(std::ifstream(config_path));
  auto file = std::make_shared<const chatterbox::SafetensorsFile>(weights);
  const T3Config config = T3Config::from_checkpoint(*file, config_json);
  auto model = T3Model::load(file, config, at::TensorOptions().dtype(at::kFloat));
  if (!model->multilingual())
    throw std::runtime_error("bench t3_mtl: " + weights + " is not a multilingual T3");

  const BenchInputs in = bench_inputs(config, text_len, prompt_len, tokens);
  const chatterbox::VoiceConditioning& voice = in.voice;
  const std::vector<int64_t>& text = in.text;
  const std::vector<int64_t>& forced = in.forced;

  double best[2] = {1e30, 1e30}, best_cpu[2] = {1e30, 1e30}, best_prefill[2] = {1e30, 1e30};
  for (int r = 0; r < std::max(1, rounds); ++r) {
    for (int on = 0; on < 2; ++on) {
      chatterbox::T3SamplingParams params;
      params.max_new_tokens = tokens + 1;
      params.seed = 7;
      params.alignment_control = on == 1;
      chatterbox::T3Session session(model, voice, voice.exaggeration, text, params);
      double a = bench::now_seconds();
      session.prefill();
      best_prefill[on] = std::min(best_prefill[on], bench::now_seconds() - a);
      session.step_forced(forced[0]);
      a = bench::now_seconds();
      const double ca = process_cpu_seconds();
      for (int64_t i = 1; i < tokens; ++i) session.step_forced(forced[i]);
      best[on] = std::min(best[on], (bench::now_seconds() - a) / double(tokens - 1));
      best_cpu[on] = std::min(best_cpu[on], (process_cpu_seconds() - ca) / double(tokens - 1));
    }
  }
  const char* names[2] = {"analyzer_off", "analyzer_on"};
  for (int on = 0; on < 2; ++on) {
    const nlohmann::json extra = {
        {"variant", names[on]}, {"tokens", tokens}, {"prefill_positions", 34 + text_len + 2}};
    bench::emit("t3_mtl", "prefill_seconds", best_prefill[on], "s", extra);
    nlohmann::json more = extra;
    more["cpu_ms"] = best_cpu[on] * 1e3;
    bench::emit("t3_mtl", "decode_ms_per_token", best[on] * 1e3, "ms", more);
  }
  bench::emit("t3_mtl", "alignment_control_overhead_percent", 100.0 * (best[1] / best[0] - 1.0),
              "%", {{"cpu_percent", 100.0 * (best_cpu[1] / best_cpu[0] - 1.0)}, {"limit", 5.0}});

  // The analyzer alone (the attention capture is a view of probabilities the forward computes
  // anyway): `tokens` steps on attention rows of the decode's shapes and a logits row of the
  // model's vocabulary, timed apart from the model, so a busy machine cannot hide or inflate
  // it. Its share of the analyzer-off decode time per token is the overhead without the noise.
  const int64_t text_begin = 34, text_end = text_begin + text_len + 2;
  const int64_t prefill = text_end + 1;
  double best_step = 1e30;
  for (int r = 0; r < std::max(1, rounds); ++r) {
    chatterbox::AlignmentStreamAnalyzer analyzer(text_begin, text_end, config.stop_speech_token,
                                                 tokens);
    at::Tensor logits = at::randn({1, config.speech_tokens_dict_size});
    std::vector<at::Tensor> maps(3, at::softmax(at::randn({prefill, prefill}), -1));
    analyzer.step(maps, logits, config.start_speech_token);
    double a = bench::now_seconds();
    for (int64_t i = 1; i < tokens; ++i) {
      for (at::Tensor& m : maps) m = at::softmax(at::randn({1, prefill + i}), -1);
      analyzer.step(maps, logits, forced[i]);
    }
    // The random rows are made outside the analyzer: time them alone and subtract.
    const double with_rows = bench::now_seconds() - a;
    a = bench::now_seconds();
    for (int64_t i = 1; i < tokens; ++i)
      for (at::Tensor& m : maps) m = at::softmax(at::randn({1, prefill + i}), -1);
    best_step = std::min(best_step, (with_rows - (bench::now_seconds() - a)) / double(tokens - 1));
  }
  bench::emit("t3_mtl", "analyzer_step_us", best_step * 1e6, "us",
              {{"share_of_decode_percent", 100.0 * best_step / best[0]}, {"limit_percent", 5.0}});
}

// chatterbox-bench case `t3_linear`: the 2-row products of one full-size T3 layer (qkv, o,
// gate_up, down: 16.8 M weights), each way of computing them interleaved round by round so a noisy
// shared machine hits all of them alike; best round of `rounds` (default 30). Reports GB/s of
// weight streamed and the ratio to the gemv floor for the same bytes.
BENCH_CASE(t3_linear) {
  c10::InferenceMode guard;
  const int rounds = std::stoi(bench::arg_value(options, "rounds", "30"));
  const int64_t D = 1024, I = 4096;
  // Several layers' worth of distinct weights so nothing stays in cache between rounds.
  const int layers = 4;
  std::vector<std::vector<at::Tensor>> w32(layers), w16(layers);
  for (int l = 0; l < layers; ++l) {
    for (auto shape : std::vector<std::vector<int64_t>>{{3 * D, D}, {D, D}, {2 * I, D}, {D, I}}) {
      at::Tensor w = at::randn(shape) * 0.03;
      w32[l].push_back(w);
      w16[l].push_back(w.to(at::kBFloat16));
    }
  }
  at::Tensor x_d = at::randn({2, 1, D}), x_i = at::randn({2, 1, I});
  const std::vector<std::string> names = {"kernel_fp32", "kernel_bf16", "blas_linear", "row_mv"};
  std::vector<double> best(names.size(), 1e30), best_cpu(names.size(), 1e30);
  for (int r = 0; r < rounds; ++r) {
    for (size_t v = 0; v < names.size(); ++v) {
      const chatterbox::SmallLinearPath path = v == 2   ? chatterbox::SmallLinearPath::kBlas
                                               : v == 3 ? chatterbox::SmallLinearPath::kRowGemv
                                                        : chatterbox::SmallLinearPath::kKernel;
      const auto& ws = v == 1 ? w16 : w32;
      const double t0 = bench::now_seconds(), c0 = process_cpu_seconds();
      for (int l = 0; l < layers; ++l) {
        chatterbox::small_linear(x_d, ws[l][0], path);
        chatterbox::small_linear(x_d, ws[l][1], path);
        chatterbox::small_linear(x_d, ws[l][2], path);
        chatterbox::small_linear(x_i, ws[l][3], path);
      }
      best[v] = std::min(best[v], (bench::now_seconds() - t0) / layers);
      best_cpu[v] = std::min(best_cpu[v], (process_cpu_seconds() - c0) / layers);
    }
  }
  const double params = double(3 * D * D + D * D + 2 * I * D + D * I);
  const double floor_fp32 = bench::gemv_floor_seconds(params * 4);
  for (size_t v = 0; v < names.size(); ++v) {
    const double bytes = params * (v == 1 ? 2 : 4);
    bench::emit("t3_linear", "layer_ms", best[v] * 1e3, "ms",
                {{"variant", names[v]},
                 {"rows", 2},
                 {"weight_GBps", bytes / best[v] / 1e9},
                 {"cpu_ms", best_cpu[v] * 1e3},
                 {"fp32_floor_ms", floor_fp32 * 1e3},
                 {"ratio_to_fp32_floor", best[v] / floor_fp32}});
  }
}

// chatterbox-bench case `linear_precisions`: every matrix product of one Chatterbox-Turbo T3
// decode step (GPT-2 medium: per layer c_attn 1024->3072, attn.c_proj 1024->1024, mlp.c_fc
// 1024->4096, mlp.c_proj 4096->1024, all with bias; 24 layers; speech head 1024->6563, no bias)
// with random weights, for each weight storage: fp32, bf16, int8 (per-row scales). Precisions
// are interleaved round by round; best round of `rounds` (default 10). The floor is the bytes of
// the step (weights + scales + biases) over this machine's gemv bandwidth
// (bench::gemv_floor_seconds, measured before and after, the faster kept); ratio = step / floor.
// Also each storage's error per product: max |y - y_exact| / max |y_exact| over the layers, y_exact
// the fp32 weights' product in fp64.
//
//   chatterbox-bench linear_precisions [rows=1] [rounds=10] [layers=24] [precisions=fp32,bf16,int8]
BENCH_CASE(linear_precisions) {
  c10::InferenceMode guard;
  const int64_t rows = std::stoll(bench::arg_value(options, "rows", "1"));
  const int rounds = std::stoi(bench::arg_value(options, "rounds", "10"));
  const int64_t layers = std::stoll(bench::arg_value(options, "layers", "24"));
  const auto names = bench::arg_list(options, "precisions", "fp32,bf16,int8");
  std::vector<at::ScalarType> dtypes;
  for (const auto& n : names) {
    if (n == "fp32")
      dtypes.push_back(at::kFloat);
    else if (n == "bf16")
      dtypes.push_back(at::kBFloat16);
    else if (n == "int8")
      dtypes.push_back(at::kChar);
    else
      throw std::runtime_error("bench linear_precisions: unknown precision " + n);
  }
  const int64_t D = 1024, I = 4096, V = 6563;
  struct Shape {
    const char* name;
    int64_t out, in;
    bool bias;
  };
  const std::vector<Shape> shapes = {{"c_attn", 3 * D, D, true},
                                     {"attn.c_proj", D, D, true},
                                     {"mlp.c_fc", I, D, true},
                                     {"mlp.c_proj", D, I, true},
                                     {"speech_head", V, D, false}};
  // products[p] = the step's matrices in order (layer by layer, then the head) for precision p.
  std::vector<std::vector<chatterbox::LinearWeight>> products(dtypes.size());
  std::vector<at::Tensor> biases;  // per product, undefined for the head
  std::vector<size_t> shape_of;    // per product, index into shapes
  at::manual_seed(0);
  for (int64_t l = 0; l <= layers; ++l) {
    for (size_t s = 0; s < shapes.size(); ++s) {
      if ((l == layers) != (s == 4)) continue;  // the head once, after the layers
      const at::Tensor w =
          at::randn({shapes[s].out, shapes[s].in}) * (1.0 / std::sqrt(double(shapes[s].in)));
      for (size_t p = 0; p < dtypes.size(); ++p)
        products[p].push_back(chatterbox::make_linear_weight(w, dtypes[p]));
      biases.push_back(shapes[s].bias ? at::randn({shapes[s].out}) * 0.1 : at::Tensor());
      shape_of.push_back(s);
    }
  }
  const at::Tensor x_d = at::randn({rows, 1, D}), x_i = at::randn({rows, 1, I});
  auto input_for = [&](size_t s) -> const at::Tensor& { return shapes[s].in == I ? x_i : x_d; };

  std::vector<double> step_bytes(dtypes.size(), 0.0);
  for (size_t p = 0; p < dtypes.size(); ++p)
    for (size_t j = 0; j < products[p].size(); ++j)
      step_bytes[p] +=
          double(products[p][j].bytes()) + (biases[j].defined() ? biases[j].numel() * 4.0 : 0.0);

  // Per-product error against the fp32 weights' product computed in fp64 (needs fp32 among the
  // precisions).
  std::vector<std::vector<double>> max_rel(dtypes.size(), std::vector<double>(shapes.size(), 0.0));
  const auto fp32 = std::find(dtypes.begin(), dtypes.end(), at::kFloat);
  for (size_t j = 0; fp32 != dtypes.end() && j < biases.size(); ++j) {
    const at::Tensor& x = input_for(shape_of[j]);
    const at::Tensor w64 = products[size_t(fp32 - dtypes.begin())][j].weight.to(at::kDouble);
    at::Tensor exact = at::linear(x.to(at::kDouble), w64);
    if (biases[j].defined()) exact = exact + biases[j].to(at::kDouble);
    for (size_t p = 0; p < dtypes.size(); ++p) {
      const at::Tensor y = chatterbox::small_linear(x, products[p][j], biases[j]).to(at::kDouble);
      const double e = ((y - exact).abs().max() / exact.abs().max()).item<double>();
      max_rel[p][shape_of[j]] = std::max(max_rel[p][shape_of[j]], e);
    }
  }

  double seconds_per_byte = bench::gemv_floor_seconds(1.0);
  std::vector<double> best(dtypes.size(), 1e30), best_cpu(dtypes.size(), 1e30);
  std::vector<std::vector<double>> all(dtypes.size());
  for (int r = 0; r < rounds + 1; ++r) {  // round 0 warms up (pages, pool threads)
    for (size_t p = 0; p < dtypes.size(); ++p) {
      const double t0 = bench::now_seconds(), c0 = process_cpu_seconds();
      for (size_t j = 0; j < biases.size(); ++j)
        chatterbox::small_linear(input_for(shape_of[j]), products[p][j], biases[j]);
      const double wall = bench::now_seconds() - t0, cpu = process_cpu_seconds() - c0;
      if (r == 0) continue;
      all[p].push_back(wall);
      best[p] = std::min(best[p], wall);
      best_cpu[p] = std::min(best_cpu[p], cpu);
    }
  }
  seconds_per_byte = std::min(seconds_per_byte, bench::gemv_floor_seconds(1.0));

  bench::emit(
      "linear_precisions", "gemv_bandwidth", 1e-9 / seconds_per_byte, "GB/s",
      {{"kernel_isa", chatterbox::small_linear_kernel_isa()}, {"threads", at::get_num_threads()}});
  for (size_t p = 0; p < dtypes.size(); ++p) {
    const double floor_s = step_bytes[p] * seconds_per_byte;
    nlohmann::json errors = nlohmann::json::object();
    for (size_t s = 0; s < shapes.size(); ++s) errors[shapes[s].name] = max_rel[p][s];
    bench::emit("linear_precisions", "step_ms", best[p] * 1e3, "ms",
                {{"precision", names[p]},
                 {"rows", rows},
                 {"layers", layers},
                 {"products", biases.size()},
                 {"median_ms", bench::median(all[p]) * 1e3},
                 {"cpu_ms", best_cpu[p] * 1e3},
                 {"bytes", step_bytes[p]},
                 {"floor_ms", floor_s * 1e3},
                 {"ratio", best[p] / floor_s},
                 {"weight_GBps", step_bytes[p] / best[p] / 1e9},
                 {"max_rel_err_vs_fp32", errors}});
  }
}
