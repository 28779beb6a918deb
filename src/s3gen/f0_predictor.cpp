// ConvRNNF0Predictor (chatterbox/models/s3gen/f0_predictor.py); see f0_predictor.h.
#include "s3gen/f0_predictor.h"

#include <ATen/ATen.h>

#include <string>

#include "common/error.h"

namespace chatterbox {

namespace {
constexpr int kCondnetLayers = 5;
}  // namespace

F0Predictor F0Predictor::load(WeightReader reader, const HiftConfig& config) {
  F0Predictor p;
  const int64_t c = config.f0_cond_channels;
  for (int i = 0; i < kCondnetLayers; ++i) {
    // nn.Sequential index: conv at 2i, ELU at 2i + 1.
    const std::string name = "condnet." + std::to_string(2 * i);
    const int64_t c_in = i == 0 ? config.f0_in_channels : c;
    p.condnet_weight.push_back(reader.take_weight(name, {c, c_in, 3}));
    p.condnet_bias.push_back(reader.take(name + ".bias", {c}));
  }
  p.classifier_weight = reader.take("classifier.weight", {config.f0_num_class, c});
  p.classifier_bias = reader.take("classifier.bias", {config.f0_num_class});
  return p;
}

at::Tensor F0Predictor::forward(const at::Tensor& mel) const {
  if (classifier_weight.size(0) != 1) {
    // The vocoder reads a single F0 track; num_class > 1 exists only as a constructor argument.
    throw Error(ErrorKind::kModelFile,
                "F0 predictor: num_class " + std::to_string(classifier_weight.size(0)) + " != 1");
  }
  at::Tensor x = mel;  // [B, 80, F]
  for (size_t i = 0; i < condnet_weight.size(); ++i) {
    x = at::elu(at::conv1d(x, condnet_weight[i], condnet_bias[i], /*stride=*/1, /*padding=*/1));
  }
  // [B, C, F] -> [B, F, C] -> Linear -> [B, F, 1] -> [B, F]
  x = at::linear(x.transpose(1, 2), classifier_weight, classifier_bias);
  return at::abs(x.squeeze(-1));
}

}  // namespace chatterbox
