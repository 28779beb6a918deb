// chatterbox-bench case `flow`: the S3Gen flow (encoder + 10-step CFM with CFG) on a full-size
// model, with the built-in-voice-sized prompt of performance-anchors.md (150 tokens, 300 frames).
//
//   chatterbox-bench --model DIR flow [tokens=50,250] [steps=10] [oracle=DIR]
//
// DIR/s3gen.safetensors (+ s3gen.json) is used when given; otherwise random full-size `flow.*`
// weights are written once (to /tmp) from the oracle's real_checkpoint_layout.json (oracle=DIR,
// else $CHATTERBOX_ORACLE_DIR, else the oracle directory the build was configured with).
// Measures, per generated-token count: flow ms per second of audio, encoder ms, CFM ms per step,
// achieved FLOP/s of the work against bench::gemm_flops_per_second() (ratio = achieved / floor
// throughput, so 1.0 would be "every FLOP at GEMM speed"), and page faults per call.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "bench.h"
#include "bench_flops.h"
#include "io/safetensors.h"
#include "io/weights.h"
#include "s3gen/flow.h"

namespace {

using chatterbox::FlowConfig;
using chatterbox::FlowModel;

// Random full-size flow weights (names/shapes from the real layout), scaled like trained ones:
// weights ~ N(0, 1/fan_in), norms 1, biases 0, embeddings N(0, 1). Written once and reused.
std::string random_full_flow_weights(const std::string& oracle_dir) {
  const std::string path = "/tmp/chatterbox-bench-flow-full.safetensors";
  if (bench::file_exists(path)) return path;
  std::string layout_path = oracle_dir + "/real_checkpoint_layout.json";
  std::ifstream in(layout_path);
  if (!in) throw std::runtime_error("bench flow: no --model and no " + layout_path);
  nlohmann::json layout = nlohmann::json::parse(in)["s3gen.safetensors"];
  at::manual_seed(0);
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (auto it = layout.begin(); it != layout.end(); ++it) {
    const std::string& name = it.key();
    if (name.rfind("flow.", 0) != 0) continue;
    std::vector<int64_t> shape = it.value()["shape"].get<std::vector<int64_t>>();
    at::Tensor t;
    const bool is_norm = name.find("norm") != std::string::npos;
    if (name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0) {
      t = at::zeros(shape);
    } else if (is_norm && shape.size() == 1) {
      t = at::ones(shape);
    } else if (shape.size() >= 2) {
      int64_t fan_in = 1;
      for (size_t i = 1; i < shape.size(); ++i) fan_in *= shape[i];
      const bool embedding = name.find("input_embedding") != std::string::npos;
      t = at::randn(shape) * (embedding ? 1.0 : 1.0 / std::sqrt(static_cast<double>(fan_in)));
    } else {
      t = at::randn(shape) * 0.1;
    }
    tensors.emplace_back(name, t);
  }
  chatterbox::write_safetensors(path + ".tmp", tensors);
  std::rename((path + ".tmp").c_str(), path.c_str());
  return path;
}

}  // namespace

BENCH_CASE(flow) {
  c10::InferenceMode guard;
  const auto tensor_options = at::TensorOptions().dtype(at::kFloat);
  std::string weights_path;
  nlohmann::json s3gen_json;
  if (!options.model_dir.empty() && bench::file_exists(options.model_dir + "/s3gen.safetensors")) {
    weights_path = options.model_dir + "/s3gen.safetensors";
    std::ifstream cfg(options.model_dir + "/s3gen.json");
    if (cfg) s3gen_json = nlohmann::json::parse(cfg);
  } else {
    weights_path = random_full_flow_weights(bench::oracle_dir(options));
  }
  const FlowConfig config = FlowConfig::from_json(s3gen_json);
  auto file = std::make_shared<const chatterbox::SafetensorsFile>(weights_path);
  chatterbox::WeightReader reader(file, tensor_options);
  chatterbox::WeightReader flow_reader = reader.scoped("flow.");
  const FlowModel model = FlowModel::load(flow_reader, config, tensor_options);
  const double gemm = bench::gemm_flops_per_second();

  // Built-in-voice-sized prompt: 150 tokens, 300 mel frames.
  at::manual_seed(1);
  chatterbox::VoiceConditioning voice;
  voice.prompt_token =
      at::randint(config.vocab_size, {1, 150}, at::TensorOptions().dtype(at::kLong));
  voice.prompt_feat = at::randn({1, 300, config.output_size}) - 5.0;
  voice.embedding = at::randn({1, config.spk_embed_dim});
  const int steps = std::stoi(
      bench::arg_value(options, "steps", std::to_string(model.config().default_n_timesteps())));

  std::vector<int64_t> counts;
  {
    std::stringstream ss(bench::arg_value(options, "tokens", "50,250"));
    std::string item;
    while (std::getline(ss, item, ',')) counts.push_back(std::stoll(item));
  }
  const nlohmann::json common = {{"threads", at::get_num_threads()},
                                 {"prompt_tokens", 150},
                                 {"prompt_frames", 300},
                                 {"steps", steps}};
  for (int64_t n : counts) {
    at::Tensor tokens =
        at::randint(config.vocab_size, {1, n}, at::TensorOptions().dtype(at::kLong));
    const bench::FlowFlops flops = bench::flow_flops(model.config(), 150 + n);
    const double audio_s = static_cast<double>(n) / 25.0;
    std::vector<double> total_s, encoder_s, faults;
    for (int r = 0; r < std::max(1, options.repeat); ++r) {
      chatterbox::FlowNoise noise = chatterbox::FlowNoise::seeded(42);
      // Encoder alone (the same work inference does before the CFM).
      double t0 = bench::now_seconds();
      at::Tensor h = model.encoder().forward(at::randn({1, 150 + n, config.input_size}));
      encoder_s.push_back(bench::now_seconds() - t0);
      const long f0 = bench::page_faults();
      t0 = bench::now_seconds();
      at::Tensor mel = model.inference(voice, tokens, /*finalize=*/true, noise, steps);
      total_s.push_back(bench::now_seconds() - t0);
      faults.push_back(static_cast<double>(bench::page_faults() - f0));
    }
    const double total = bench::median(total_s), enc = bench::median(encoder_s);
    const double cfm_step = (total - enc) / steps;
    const double work = flops.encoder + steps * flops.cfm_step;
    nlohmann::json extra = common;
    extra["tokens"] = n;
    extra["audio_s"] = audio_s;
    bench::emit("flow", "flow_ms_per_audio_second", 1000.0 * total / audio_s, "ms", extra);
    bench::emit("flow", "flow_ms", 1000.0 * total, "ms", extra);
    bench::emit("flow", "encoder_ms", 1000.0 * enc, "ms", extra);
    nlohmann::json step_extra = extra;
    step_extra["step_gflop"] = flops.cfm_step / 1e9;
    step_extra["floor_ms"] = 1000.0 * flops.cfm_step / gemm;
    step_extra["ratio"] = cfm_step / (flops.cfm_step / gemm);
    bench::emit("flow", "cfm_ms_per_step", 1000.0 * cfm_step, "ms", step_extra);
    nlohmann::json flop_extra = extra;
    flop_extra["gflop"] = work / 1e9;
    flop_extra["gemm_gflops"] = gemm / 1e9;
    flop_extra["ratio"] = (work / total) / gemm;
    bench::emit("flow", "achieved_gflops", work / total / 1e9, "GFLOP/s", flop_extra);
    bench::emit("flow", "page_faults_per_call", bench::median(faults), "faults", extra);
  }
  nlohmann::json rss = common;
  bench::emit("flow", "peak_rss_mb", bench::peak_rss_bytes() / 1048576.0, "MB", rss);
}
