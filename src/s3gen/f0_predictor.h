// F0 predictor of the HiFT vocoder: ConvRNNF0Predictor (chatterbox/models/s3gen/f0_predictor.py).
// Despite the name it is purely convolutional:
//   f0 = |classifier(ELU(conv_4(... ELU(conv_0(mel)))).transpose)|
// with five weight-normalised Conv1d(k3, pad 1) at `condnet.{0,2,4,6,8}` (the odd indices are
// the ELU modules of the nn.Sequential) and a Linear(C -> 1) classifier.
#pragma once

#include <ATen/Tensor.h>

#include <vector>

#include "io/weights.h"
#include "s3gen/s3gen_config.h"

namespace chatterbox {

struct F0Predictor {
  // condnet.{0,2,4,6,8}: effective (weight-norm folded) weights [C, C_in, 3] and biases [C]
  std::vector<at::Tensor> condnet_weight;
  std::vector<at::Tensor> condnet_bias;
  at::Tensor classifier_weight;  // classifier.weight [num_class, C]
  at::Tensor classifier_bias;    // classifier.bias [num_class]

  // `reader` is scoped to "mel2wav.f0_predictor.".
  static F0Predictor load(WeightReader reader, const HiftConfig& config);

  // mel [B, 80, F] natural-log mel -> f0 [B, F] in Hz (non-negative).
  at::Tensor forward(const at::Tensor& mel) const;
};

}  // namespace chatterbox
