// Small tensor helpers shared by the flow encoder and the CFM estimator.
//
// Both networks are run time-major ([B, T, C]) here, although the estimator is written
// channel-major ([B, C, T]) in Python: LayerNorm, Linear and attention then work on contiguous
// rows, and a 1-D convolution becomes one GEMM over an im2col view (K shifted copies of the
// input side by side), which is what OpenBLAS does best on a CPU.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>

#include "io/weights.h"

namespace chatterbox {
namespace flow_ops {

// A Conv1d weight [C_out, C_in, K] rearranged for conv1d_tmajor: [K * C_in, C_out], row k*C_in + c
// holds weight[:, c, k].
at::Tensor conv_weight_tmajor(const at::Tensor& weight);

// Conv1d (stride 1, dilation 1) on a time-major input: zero-pads `pad_left` / `pad_right` frames,
// then y[t] = bias + sum_k x_pad[t + k] * W_k.
//   x [B, T, C_in], weight_tmajor [K * C_in, C_out] -> [B, T + pad_left + pad_right - K + 1, C_out]
at::Tensor conv1d_tmajor(const at::Tensor& x, const at::Tensor& weight_tmajor,
                         const at::Tensor& bias, int64_t kernel, int64_t pad_left,
                         int64_t pad_right);

// A Linear layer taken by its checkpoint name: `name`.weight [out, in] and `name`.bias [out].
struct Linear {
  at::Tensor weight;  // [out, in]
  at::Tensor bias;    // [out] (undefined when the layer has none)
  void load(WeightReader& w, const std::string& name, int64_t in, int64_t out,
            bool has_bias = true);
  at::Tensor operator()(const at::Tensor& x) const;  // [..., in] -> [..., out]
};

// A LayerNorm over the last axis: `name`.weight / `name`.bias [dim].
struct LayerNorm {
  at::Tensor weight;  // [dim]
  at::Tensor bias;    // [dim]
  double eps = 1e-5;
  void load(WeightReader& w, const std::string& name, int64_t dim, double eps_);
  at::Tensor operator()(const at::Tensor& x) const;  // [..., dim]
};

}  // namespace flow_ops
}  // namespace chatterbox
