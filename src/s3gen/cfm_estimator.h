// The CFM estimator: the causal ConditionalDecoder U-Net (chatterbox/models/s3gen/decoder.py,
// from CosyVoice2, built from matcha/decoder.py and matcha/transformer.py, whose attention is
// diffusers' Attention).
//
// The Python module works channel-major ([B, C, T]); this port runs it time-major ([B, T, C])
// inside (see flow_ops.h) and keeps the [B, C, T] interface. One U-Net level only (channels of
// length 1, as every released checkpoint): its "downsample" and "upsample" are plain causal convs.
//
// Weight fields keep their checkpoint names (`block1`, `res_conv`, `attn1.to_q`, ...).
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <vector>

#include "io/weights.h"
#include "s3gen/flow_ops.h"
#include "s3gen/s3gen_config.h"

namespace chatterbox {

// decoder.py CausalBlock1D: y = Mish(LayerNorm_C(CausalConv_k3(x * mask))) * mask.
struct CausalBlock1D {
  at::Tensor block_0_weight;      // block.0 (CausalConv1d) as [3 * C_in, C_out]
  at::Tensor block_0_bias;        // [C_out]
  flow_ops::LayerNorm block_2;    // block.2, over channels, eps 1e-5

  void load(WeightReader& w, int64_t c_in, int64_t c_out);
  // x [B, T, C_in], mask [B, T, 1] -> [B, T, C_out]
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask) const;
};

// decoder.py CausalResnetBlock1D (matcha ResnetBlock1D):
//   h = block1(x) + mlp(temb); h = block2(h); out = h + res_conv(x * mask)
struct CausalResnetBlock1D {
  CausalBlock1D block1, block2;
  flow_ops::Linear mlp_1;         // mlp.1 [C_out, C_time] (mlp.0 is Mish)
  at::Tensor res_conv_weight;     // 1x1 conv as [C_in, C_out]
  at::Tensor res_conv_bias;       // [C_out]

  void load(WeightReader& w, int64_t c_in, int64_t c_out, int64_t c_time);
  // x [B, T, C_in], mask [B, T, 1], temb_mish [B, C_time] (= Mish(time embedding)) -> [B, T, C_out]
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask, const at::Tensor& temb_mish) const;
};

// matcha/transformer.py BasicTransformerBlock (layer_norm, self-attention only, GELU FF):
//   h += to_out(attention(norm1(h))); h += ff.net.2(GELU(ff.net.0.proj(norm3(h))))
struct BasicTransformerBlock {
  flow_ops::LayerNorm norm1, norm3;   // eps 1e-5
  at::Tensor attn1_to_qkv;            // attn1.to_q/to_k/to_v (no bias) stacked: [3 * H * d, C]
  flow_ops::Linear attn1_to_out_0;    // attn1.to_out.0 [C, H * d]
  flow_ops::Linear ff_net_0_proj;     // ff.net.0.proj [4C, C]
  flow_ops::Linear ff_net_2;          // ff.net.2 [C, 4C]
  int64_t heads = 0;
  int64_t head_dim = 0;

  void load(WeightReader& w, int64_t channels, int64_t heads_, int64_t head_dim_);
  // h [B, T, C]; attn_bias [B, 1, 1, T] additive key bias (0 / -1e10), undefined = no padding
  at::Tensor forward(const at::Tensor& h, const at::Tensor& attn_bias) const;
};

// decoder.py ConditionalDecoder (causal).
struct ConditionalDecoder {
  // time_mlp (TimestepEmbedding): linear_2(SiLU(linear_1(sinusoid_320(1000 t))))
  flow_ops::Linear time_mlp_linear_1;   // [C_time, in_channels]
  flow_ops::Linear time_mlp_linear_2;   // [C_time, C_time]
  struct Level {
    CausalResnetBlock1D resnet;
    std::vector<BasicTransformerBlock> transformer_blocks;
    at::Tensor conv_weight;             // the level's causal "down/upsample" conv, [3 * C, C]
    at::Tensor conv_bias;               // [C] (undefined for mid blocks)
  };
  Level down_block;                     // down_blocks.0
  std::vector<Level> mid_blocks;        // mid_blocks.N
  Level up_block;                       // up_blocks.0 (its resnet takes [h ; skip] = 2C)
  CausalBlock1D final_block;
  at::Tensor final_proj_weight;         // 1x1 conv as [C, 80]
  at::Tensor final_proj_bias;           // [80]
  int64_t in_channels = 320;

  // `w` scoped to "flow.decoder.estimator.".
  void load(WeightReader& w, const FlowConfig& config);

  // Time embedding Mish(time_mlp(sinusoid(t))), as every ResNet block uses it: t [B] -> [B, C_time]
  at::Tensor time_embedding_mish(const at::Tensor& t) const;

  // The estimated velocity:
  //   x, mu, cond [B, 80, T], mask [B, 1, T] (1 valid / 0 padded), t [B], spks [B, 80]
  //   -> [B, 80, T] (zero where masked)
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask, const at::Tensor& mu,
                     const at::Tensor& t, const at::Tensor& spks, const at::Tensor& cond) const;
};

}  // namespace chatterbox
