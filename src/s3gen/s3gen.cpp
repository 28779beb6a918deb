// S3Token2Wav (chatterbox/models/s3gen/s3gen.py): flow -> HiFT -> trim/fade; see s3gen.h.
#include "s3gen/s3gen.h"

#include <ATen/ATen.h>

#include <cmath>

#include "common/error.h"
#include "io/weights.h"

namespace chatterbox {

std::vector<int64_t> append_turbo_silence(std::vector<int64_t> tokens) {
  tokens.insert(tokens.end(), kTurboSilenceTokens, kS3GenSilenceToken);
  return tokens;
}

at::Tensor append_turbo_silence(const at::Tensor& tokens) {
  if (!tokens.defined() || tokens.dim() != 2 || tokens.size(0) != 1 ||
      tokens.scalar_type() != at::kLong) {
    throw Error(ErrorKind::kInvalidInput, "append_turbo_silence: expected a [1, T] int64 tensor");
  }
  return at::cat({tokens, at::full({1, kTurboSilenceTokens}, kS3GenSilenceToken, tokens.options())},
                 1);
}

at::Tensor make_trim_fade(int64_t sampling_rate, c10::TensorOptions options) {
  // n_trim = S3GEN_SR // 50 (20 ms); computed in float32 like the reference's buffer.
  const int64_t n_trim = sampling_rate / 50;
  const auto cpu_float = at::TensorOptions().dtype(at::kFloat);
  at::Tensor fade = at::zeros({2 * n_trim}, cpu_float);
  fade.narrow(0, n_trim, n_trim).copy_((at::cos(at::linspace(M_PI, 0, n_trim, cpu_float)) + 1) / 2);
  return fade.to(options.dtype(at::kFloat));
}

void apply_trim_fade(at::Tensor& wav, const at::Tensor& trim_fade, int64_t start_sample) {
  const int64_t window = trim_fade.size(0);
  if (start_sample >= window || wav.size(-1) == 0) return;
  const int64_t n = std::min(window - start_sample, wav.size(-1));
  wav.narrow(-1, 0, n).mul_(trim_fade.narrow(0, start_sample, n));
}

std::shared_ptr<const S3GenModel> S3GenModel::load(std::shared_ptr<const SafetensorsFile> file,
                                                   const nlohmann::json& s3gen_json,
                                                   c10::TensorOptions options) {
  std::shared_ptr<S3GenModel> m(new S3GenModel());
  m->options_ = options;
  WeightReader reader(std::move(file), options);
  WeightReader flow_reader = reader.scoped("flow.");
  m->flow_ = FlowModel::load(flow_reader, FlowConfig::from_json(s3gen_json), options);
  m->hift_ = HiftModel::load(reader.scoped("mel2wav."), HiftConfig::from_json(s3gen_json));
  reader.finish();
  m->trim_fade_ = make_trim_fade(m->hift_.config().sampling_rate, options);
  return m;
}

}  // namespace chatterbox
