// Tensor helpers of the flow encoder and CFM estimator: see flow_ops.h.
#include "s3gen/flow_ops.h"

#include <ATen/ATen.h>

namespace chatterbox {
namespace flow_ops {

at::Tensor conv_weight_tmajor(const at::Tensor& weight) {
  // [C_out, C_in, K] -> [C_out, K, C_in] -> [C_out, K * C_in] -> [K * C_in, C_out]
  const int64_t c_out = weight.size(0);
  return weight.permute({0, 2, 1}).reshape({c_out, -1}).t().contiguous();
}

at::Tensor conv1d_tmajor(const at::Tensor& x, const at::Tensor& weight_tmajor,
                         const at::Tensor& bias, int64_t kernel, int64_t pad_left,
                         int64_t pad_right) {
  const int64_t batch = x.size(0);
  const int64_t c_in = x.size(2);
  const int64_t c_out = weight_tmajor.size(1);
  at::Tensor padded = (pad_left || pad_right)
                          ? at::constant_pad_nd(x, {0, 0, pad_left, pad_right}, 0.0)
                          : x.contiguous();
  const int64_t t_pad = padded.size(1);
  const int64_t t_out = t_pad - kernel + 1;
  if (kernel == 1) {
    return at::linear(padded, weight_tmajor.t(), bias);
  }
  // im2col as a strided view [B, T_out, K, C_in] (frame t, tap k = padded frame t + k), then
  // one GEMM: [B * T_out, K * C_in] x [K * C_in, C_out].
  at::Tensor cols = padded
                        .as_strided({batch, t_out, kernel, c_in}, {t_pad * c_in, c_in, c_in, 1},
                                    padded.storage_offset())
                        .reshape({batch * t_out, kernel * c_in});
  at::Tensor y =
      bias.defined() ? at::addmm(bias, cols, weight_tmajor) : at::mm(cols, weight_tmajor);
  return y.view({batch, t_out, c_out});
}

void Linear::load(WeightReader& w, const std::string& name, int64_t in, int64_t out,
                  bool has_bias) {
  weight = w.take(name + ".weight", {out, in});
  if (has_bias) bias = w.take(name + ".bias", {out});
}

at::Tensor Linear::operator()(const at::Tensor& x) const { return at::linear(x, weight, bias); }

void LayerNorm::load(WeightReader& w, const std::string& name, int64_t dim, double eps_) {
  weight = w.take(name + ".weight", {dim});
  bias = w.take(name + ".bias", {dim});
  eps = eps_;
}

at::Tensor LayerNorm::operator()(const at::Tensor& x) const {
  return at::layer_norm(x, {weight.size(0)}, weight, bias, eps);
}

}  // namespace flow_ops
}  // namespace chatterbox
