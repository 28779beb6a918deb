// The S3Gen flow encoder: UpsampleConformerEncoder
// (chatterbox/models/s3gen/transformer/upsample_encoder.py, from CosyVoice2, itself from
// WeNet/ESPnet), with the blocks it is built from (attention.py RelPositionMultiHeadedAttention,
// encoder_layer.py ConformerEncoderLayer, subsampling.py LinearNoSubsampling,
// embedding.py EspnetRelPositionalEncoding, positionwise_feed_forward.py).
//
// Batch 1 only, full (bidirectional) attention over the whole sequence: Chatterbox runs the
// encoder with static_chunk_size 0 and no padding, so every mask is all ones and is not built.
//
// Weight fields keep their checkpoint names (`linear_q`, `norm_mha`, ...), so a field can be
// found from a tensor name and back.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <vector>

#include "io/weights.h"
#include "s3gen/flow_ops.h"
#include "s3gen/s3gen_config.h"

namespace chatterbox {

// attention.py RelPositionMultiHeadedAttention ("rel_selfattn"): Transformer-XL style scores
//   (q + pos_bias_u) . k_j + (q + pos_bias_v) . linear_pos(pe)_{i-j}, scaled by 1/sqrt(d_k).
struct RelPositionAttention {
  flow_ops::Linear linear_q, linear_k, linear_v, linear_out;  // [D, D]
  flow_ops::Linear linear_pos;                                // [D, D], no bias
  at::Tensor pos_bias_u;                                      // [H, D/H]
  at::Tensor pos_bias_v;                                      // [H, D/H]
  int64_t heads = 0;
  int64_t block_bytes = 0;  // FlowConfig::attention_block_bytes

  void load(WeightReader& w, int64_t width, int64_t heads_, bool key_bias, int64_t block_bytes_);
  // x [1, T, D], pos_emb [2T-1, D] (relative distances +(T-1) .. -(T-1)) -> [1, T, D]
  at::Tensor forward(const at::Tensor& x, const at::Tensor& pos_emb) const;
};

// encoder_layer.py ConformerEncoderLayer with normalize_before, no macaron FFN, no conv module:
//   x += self_attn(norm_mha(x)); x += w_2(SiLU(w_1(norm_ff(x))))   (both norms eps 1e-12)
struct ConformerEncoderLayer {
  RelPositionAttention self_attn;
  flow_ops::Linear feed_forward_w_1;  // feed_forward.w_1 [units, D]
  flow_ops::Linear feed_forward_w_2;  // feed_forward.w_2 [D, units]
  flow_ops::LayerNorm norm_mha, norm_ff;

  void load(WeightReader& w, const FlowConfig& config);
  // x [1, T, D], pos_emb [2T-1, D] -> [1, T, D]
  at::Tensor forward(const at::Tensor& x, const at::Tensor& pos_emb) const;
};

// subsampling.py LinearNoSubsampling + EspnetRelPositionalEncoding ("embed", "up_embed"):
//   x -> LayerNorm_1e-5(Linear(x)) * sqrt(D); the positional table is returned separately.
struct LinearInputLayer {
  flow_ops::Linear out_0;     // out.0 [D, D_in]
  flow_ops::LayerNorm out_1;  // out.1 [D], eps 1e-5
  double xscale = 1.0;        // sqrt(D)

  void load(WeightReader& w, int64_t in, int64_t width);
  at::Tensor forward(const at::Tensor& x) const;  // [1, T, D_in] -> [1, T, D]
};

// The ESPnet relative positional table for a sequence of T frames: [2T-1, D], row k holds the
// sinusoid of distance T-1-k (so +(T-1) first, -(T-1) last), computed as
// EspnetRelPositionalEncoding.extend_pe does (fp32 positions, no scaling, no dropout).
at::Tensor espnet_rel_pos_table(int64_t frames, int64_t width, c10::TensorOptions options);

// upsample_encoder.py UpsampleConformerEncoder.
struct UpsampleConformerEncoder {
  LinearInputLayer embed;
  // PreLookaheadLayer: y = conv2(leaky_relu_0.01(conv1(x right-padded by L)) left-padded by 2);
  // x += y. Conv weights kept time-major ([K * D, D]).
  at::Tensor pre_lookahead_conv1_weight;  // [(L + 1) * D, D]
  at::Tensor pre_lookahead_conv1_bias;    // [D]
  at::Tensor pre_lookahead_conv2_weight;  // [3 * D, D]
  at::Tensor pre_lookahead_conv2_bias;    // [D]
  std::vector<ConformerEncoderLayer> encoders;
  // Upsample1D: nearest x stride, left pad 2 * stride, Conv1d(k = 2 * stride + 1), stride 1.
  at::Tensor up_layer_conv_weight;  // [(2s + 1) * D, D]
  at::Tensor up_layer_conv_bias;    // [D]
  LinearInputLayer up_embed;
  std::vector<ConformerEncoderLayer> up_encoders;
  flow_ops::LayerNorm after_norm;  // eps 1e-5

  int64_t pre_lookahead_len = 3;
  int64_t up_stride = 2;

  // `w` scoped to "flow.encoder.".
  void load(WeightReader& w, const FlowConfig& config);
  // xs [1, T, D_in] (embedded tokens) -> [1, stride * T, D]
  at::Tensor forward(const at::Tensor& xs) const;
};

}  // namespace chatterbox
