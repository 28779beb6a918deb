// Benchmark cases of the HiFT vocoder and the S3Gen wrapper.
//
//   hift:  HiFT ms per second of audio on a 10 s mel (full-size mel2wav weights), with the
//          stage split (F0, source, generator), the GEMM floor of its conv FLOPs and page faults.
//   s3gen: S3Gen real-time factor for a 10 s utterance (250 tokens) with a 10 s voice prompt
//          (250 prompt tokens, 500 prompt frames): flow and HiFT time, GEMM floor ratios.
//
// Weights: `--model DIR` reads DIR/s3gen.safetensors (+ DIR/s3gen.json when present), e.g. from
// `chatterbox-make-test-model --size full`. Without --model, `hift` builds random full-size
// mel2wav weights in a temporary file and `s3gen` is skipped.
// Extra arguments: seconds=10 (audio length), prompt_seconds=10, steps=10 (CFM steps).
#include <ATen/ATen.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "bench.h"
#include "bench_flops.h"
#include "common/error.h"
#include "io/safetensors.h"
#include "io/weights.h"
#include "s3gen/hift.h"
#include "s3gen/s3gen.h"

namespace {

using chatterbox::FlowConfig;
using chatterbox::HiftConfig;

double arg_double(const bench::Options& options, const std::string& key, double fallback) {
  for (const auto& a : options.args) {
    if (a.rfind(key + "=", 0) == 0) return std::stod(a.substr(key.size() + 1));
  }
  return fallback;
}

nlohmann::json read_json_or_null(const std::string& path) {
  std::ifstream in(path);
  if (!in) return nullptr;
  return nlohmann::json::parse(in);
}

// Matmul/conv FLOPs of one flow call on n_tokens (prompt + generated) tokens with `steps` steps.
double flow_flops(const FlowConfig& c, int64_t n_tokens, int steps) {
  const bench::FlowFlops f = bench::flow_flops(c, n_tokens);
  return f.encoder + steps * f.cfm_step;
}

// Random full-size mel2wav.* weights (plain, already folded `.weight` tensors) in a temp file.
std::string write_random_hift(const HiftConfig& c) {
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  auto conv = [&](const std::string& name, std::vector<int64_t> shape, int64_t fan_in) {
    tensors.emplace_back(name + ".weight", at::randn(shape) / std::sqrt(double(fan_in)));
    tensors.emplace_back(name + ".bias", at::randn({shape[0] == 0 ? 1 : shape[0]}) * 0.01);
  };
  const int64_t stages = int64_t(c.upsample_rates.size());
  const int64_t n_bins2 = c.istft_n_fft + 2;
  for (int i = 0; i < 5; ++i) {
    const int64_t cin = i == 0 ? c.f0_in_channels : c.f0_cond_channels;
    conv("mel2wav.f0_predictor.condnet." + std::to_string(2 * i), {c.f0_cond_channels, cin, 3},
         cin * 3);
  }
  tensors.emplace_back("mel2wav.f0_predictor.classifier.weight",
                       at::randn({1, c.f0_cond_channels}) * 3.0);
  tensors.emplace_back("mel2wav.f0_predictor.classifier.bias", at::full({1}, 100.0));
  tensors.emplace_back("mel2wav.m_source.l_linear.weight",
                       at::randn({1, c.nb_harmonics + 1}) * 0.3);
  tensors.emplace_back("mel2wav.m_source.l_linear.bias", at::zeros({1}));
  conv("mel2wav.conv_pre", {c.base_channels, c.in_channels, 7}, c.in_channels * 7);
  auto resblock = [&](const std::string& p, int64_t ch, int64_t k, size_t units) {
    for (size_t j = 0; j < units; ++j) {
      conv(p + "convs1." + std::to_string(j), {ch, ch, k}, ch * k);
      conv(p + "convs2." + std::to_string(j), {ch, ch, k}, ch * k);
      tensors.emplace_back(p + "activations1." + std::to_string(j) + ".alpha", at::ones({ch}));
      tensors.emplace_back(p + "activations2." + std::to_string(j) + ".alpha", at::ones({ch}));
    }
  };
  for (int64_t i = 0; i < stages; ++i) {
    const std::string n = std::to_string(i);
    const int64_t ch_in = c.base_channels >> i, ch = c.base_channels >> (i + 1);
    tensors.emplace_back(
        "mel2wav.ups." + n + ".weight",
        at::randn({ch_in, ch, c.upsample_kernel_sizes[i]}) / std::sqrt(double(ch_in)));
    tensors.emplace_back("mel2wav.ups." + n + ".bias", at::zeros({ch}));
    int64_t u = 1;
    for (int64_t k = i + 1; k < stages; ++k) u *= c.upsample_rates[k];
    const int64_t kernel = u == 1 ? 1 : 2 * u;
    conv("mel2wav.source_downs." + n, {ch, n_bins2, kernel}, n_bins2 * kernel);
    resblock("mel2wav.source_resblocks." + n + ".", ch, c.source_resblock_kernel_sizes[i],
             c.source_resblock_dilation_sizes[i].size());
    for (size_t j = 0; j < c.resblock_kernel_sizes.size(); ++j) {
      resblock("mel2wav.resblocks." + std::to_string(i * c.resblock_kernel_sizes.size() + j) + ".",
               ch, c.resblock_kernel_sizes[j], c.resblock_dilation_sizes[j].size());
    }
  }
  const int64_t ch_last = c.base_channels >> stages;
  conv("mel2wav.conv_post", {n_bins2, ch_last, 7}, ch_last * 7);
  const std::string path =
      "/tmp/chatterbox-bench-hift-" + std::to_string(getpid()) + ".safetensors";
  chatterbox::write_safetensors(path, tensors);
  return path;
}

}  // namespace

BENCH_CASE(hift) {
  c10::InferenceMode guard;
  const double seconds = arg_double(options, "seconds", 10.0);
  std::string path;
  std::string temp;
  HiftConfig config;
  if (!options.model_dir.empty()) {
    path = options.model_dir + "/s3gen.safetensors";
    config = HiftConfig::from_json(read_json_or_null(options.model_dir + "/s3gen.json"));
  } else {
    temp = path = write_random_hift(config);
  }
  auto file = std::make_shared<const chatterbox::SafetensorsFile>(path);
  chatterbox::WeightReader reader(file, at::TensorOptions().dtype(at::kFloat));
  chatterbox::HiftModel model = chatterbox::HiftModel::load(reader.scoped("mel2wav."), config);
  reader.finish();
  if (!temp.empty()) std::remove(temp.c_str());

  const int64_t frames = int64_t(seconds * config.sampling_rate / config.samples_per_frame());
  const double audio_seconds = double(frames * config.samples_per_frame()) / config.sampling_rate;
  at::Tensor mel = at::randn({1, config.in_channels, frames}) * 2.0 - 6.0;  // log-mel-like range
  chatterbox::HiftRandom random(7);
  model.inference(mel.narrow(2, 0, std::min<int64_t>(frames, 50)), random);  // warm up

  std::vector<double> total, t_f0, t_source, t_decode, faults;
  for (int r = 0; r < std::max(1, options.repeat); ++r) {
    const long pf0 = bench::page_faults();
    const double a = bench::now_seconds();
    at::Tensor f0 = model.predict_f0(mel);
    const double b = bench::now_seconds();
    at::Tensor source = model.source(model.upsample_f0(f0), random, 0);
    const double c = bench::now_seconds();
    at::Tensor wav = model.decode(mel, source);
    const double d = bench::now_seconds();
    t_f0.push_back(b - a);
    t_source.push_back(c - b);
    t_decode.push_back(d - c);
    total.push_back(d - a);
    faults.push_back(double(bench::page_faults() - pf0));
  }
  const double flops = bench::hift_flops(config, frames);
  const double gemm = bench::gemm_flops_per_second();
  const double floor_s = flops / gemm;
  const double t = bench::median(total);
  bench::emit("hift", "ms_per_audio_second", 1000.0 * t / audio_seconds, "ms/s",
              {{"audio_seconds", audio_seconds},
               {"total_s", t},
               {"f0_s", bench::median(t_f0)},
               {"source_s", bench::median(t_source)},
               {"decode_s", bench::median(t_decode)},
               {"gflop", flops / 1e9},
               {"gemm_gflops", gemm / 1e9},
               {"floor_s", floor_s},
               {"ratio", t / floor_s},
               {"page_faults", bench::median(faults)},
               {"peak_rss_mb", bench::peak_rss_bytes() / 1e6},
               {"weights",
                options.model_dir.empty() ? "random full-size (in memory)" : options.model_dir}});
}

BENCH_CASE(s3gen) {
  if (options.model_dir.empty()) {
    std::fprintf(stderr,
                 "bench s3gen: needs --model DIR (a full-size s3gen.safetensors); skipped\n");
    return;
  }
  c10::InferenceMode guard;
  const double seconds = arg_double(options, "seconds", 10.0);
  const double prompt_seconds = arg_double(options, "prompt_seconds", 10.0);
  const int steps = int(arg_double(options, "steps", 10));
  const nlohmann::json json = read_json_or_null(options.model_dir + "/s3gen.json");
  auto file =
      std::make_shared<const chatterbox::SafetensorsFile>(options.model_dir + "/s3gen.safetensors");
  const double t_load0 = bench::now_seconds();
  auto model = chatterbox::S3GenModel::load(file, json, at::TensorOptions().dtype(at::kFloat));
  const double load_s = bench::now_seconds() - t_load0;
  const FlowConfig& fc = model->flow().config();

  const int64_t n_tokens = int64_t(seconds * 25), n_prompt = int64_t(prompt_seconds * 25);
  chatterbox::VoiceConditioning voice;
  voice.prompt_token =
      at::randint(fc.vocab_size, {1, n_prompt}, at::TensorOptions().dtype(at::kLong));
  voice.prompt_feat = at::randn({1, n_prompt * fc.token_mel_ratio, fc.output_size}) * 2.0 - 6.0;
  voice.embedding = at::randn({1, fc.spk_embed_dim});
  at::Tensor tokens =
      at::randint(fc.vocab_size, {1, n_tokens}, at::TensorOptions().dtype(at::kLong));
  auto noise = chatterbox::FlowNoise::seeded(11);

  std::vector<double> t_flow, t_hift, faults;
  for (int r = 0; r < std::max(1, options.repeat); ++r) {
    chatterbox::HiftRandom random(13);
    const long pf0 = bench::page_faults();
    const double a = bench::now_seconds();
    // = ChunkDecoder::decode_offline, timed per stage.
    at::Tensor mel = model->flow().inference(voice, tokens, /*finalize=*/true, noise, steps);
    const double b = bench::now_seconds();
    at::Tensor wav = model->hift().inference(mel, random).wav;
    chatterbox::apply_trim_fade(wav, model->trim_fade(), 0);
    const double c = bench::now_seconds();
    t_flow.push_back(b - a);
    t_hift.push_back(c - b);
    faults.push_back(double(bench::page_faults() - pf0));
  }
  const double audio_seconds = double(n_tokens) * fc.token_mel_ratio *
                               model->hift().samples_per_frame() / model->sampling_rate();
  const double gemm = bench::gemm_flops_per_second();
  const double flow_floor = flow_flops(fc, n_prompt + n_tokens, steps) / gemm;
  const double hift_floor =
      bench::hift_flops(model->hift().config(), n_tokens * fc.token_mel_ratio) / gemm;
  const double flow_s = bench::median(t_flow), hift_s = bench::median(t_hift),
               total = flow_s + hift_s;
  bench::emit("s3gen", "rtf", total / audio_seconds, "s/s",
              {{"audio_seconds", audio_seconds},
               {"prompt_tokens", n_prompt},
               {"cfm_steps", steps},
               {"flow_s", flow_s},
               {"hift_s", hift_s},
               {"flow_floor_s", flow_floor},
               {"hift_floor_s", hift_floor},
               {"flow_ratio", flow_s / flow_floor},
               {"hift_ratio", hift_s / hift_floor},
               {"ratio", total / (flow_floor + hift_floor)},
               {"gemm_gflops", gemm / 1e9},
               {"load_s", load_s},
               {"page_faults", bench::median(faults)},
               {"peak_rss_mb", bench::peak_rss_bytes() / 1e6}});
}
