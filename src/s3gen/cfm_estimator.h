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

#include "common/tensor_tap.h"
#include "io/weights.h"
#include "s3gen/flow_ops.h"
#include "s3gen/s3gen_config.h"

namespace chatterbox {

// decoder.py CausalBlock1D: y = Mish(LayerNorm_C(CausalConv_k3(x * mask))) * mask.
struct CausalBlock1D {
  at::Tensor block_0_weight;    // block.0 (CausalConv1d) as [3 * C_in, C_out]
  at::Tensor block_0_bias;      // [C_out]
  flow_ops::LayerNorm block_2;  // block.2, over channels, eps 1e-5

  void load(WeightReader& w, int64_t c_in, int64_t c_out);
  // x [B, T, C_in], mask [B, T, 1] -> [B, T, C_out]
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask) const;
};

// decoder.py CausalResnetBlock1D (matcha ResnetBlock1D):
//   h = block1(x) + mlp(temb); h = block2(h); out = h + res_conv(x * mask)
struct CausalResnetBlock1D {
  CausalBlock1D block1, block2;
  flow_ops::Linear mlp_1;      // mlp.1 [C_out, C_time] (mlp.0 is Mish)
  at::Tensor res_conv_weight;  // 1x1 conv as [C_in, C_out]
  at::Tensor res_conv_bias;    // [C_out]

  void load(WeightReader& w, int64_t c_in, int64_t c_out, int64_t c_time);
  // x [B, T, C_in], mask [B, T, 1], temb_mish [B, C_time] (= Mish(time embedding)) -> [B, T, C_out]
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask,
                     const at::Tensor& temb_mish) const;
};

// matcha/transformer.py BasicTransformerBlock (layer_norm, self-attention only, GELU FF):
//   h += to_out(attention(norm1(h))); h += ff.net.2(GELU(ff.net.0.proj(norm3(h))))
struct BasicTransformerBlock {
  flow_ops::LayerNorm norm1, norm3;  // eps 1e-5
  at::Tensor attn1_to_qkv;           // attn1.to_q/to_k/to_v (no bias) stacked: [3 * H * d, C]
  flow_ops::Linear attn1_to_out_0;   // attn1.to_out.0 [C, H * d]
  flow_ops::Linear ff_net_0_proj;    // ff.net.0.proj [4C, C]
  flow_ops::Linear ff_net_2;         // ff.net.2 [C, 4C]
  int64_t heads = 0;
  int64_t head_dim = 0;
  int64_t block_bytes = 0;  // FlowConfig::attention_block_bytes

  void load(WeightReader& w, int64_t channels, int64_t heads_, int64_t head_dim_,
            int64_t block_bytes_);
  // h [B, T, C]; attn_bias [B, 1, 1, T] additive key bias (0 / -1e10), undefined = no padding
  at::Tensor forward(const at::Tensor& h, const at::Tensor& attn_bias) const;
};

// decoder.py ConditionalDecoder (causal), optionally the mean-flow variant (meanflow=True):
// that one embeds the step's start time t and end time r with the same time_mlp and mixes
// them, time_embed_mixer([emb(t) ; emb(r)]), into the time embedding every block uses.
struct ConditionalDecoder {
  // time_mlp (TimestepEmbedding): linear_2(SiLU(linear_1(sinusoid_320(1000 t))))
  flow_ops::Linear time_mlp_linear_1;  // [C_time, in_channels]
  flow_ops::Linear time_mlp_linear_2;  // [C_time, C_time]
  flow_ops::Linear time_embed_mixer;   // [C_time, 2 C_time], no bias; defined = mean-flow
  struct Level {
    CausalResnetBlock1D resnet;
    std::vector<BasicTransformerBlock> transformer_blocks;
    at::Tensor conv_weight;  // the level's causal "down/upsample" conv, [3 * C, C]
    at::Tensor conv_bias;    // [C] (undefined for mid blocks)
  };
  Level down_block;               // down_blocks.0
  std::vector<Level> mid_blocks;  // mid_blocks.N
  Level up_block;                 // up_blocks.0 (its resnet takes [h ; skip] = 2C)
  CausalBlock1D final_block;
  at::Tensor final_proj_weight;  // 1x1 conv as [C, 80]
  at::Tensor final_proj_bias;    // [80]
  int64_t in_channels = 320;

  // `w` scoped to "flow.decoder.estimator.". Mean-flow when config.meanflow says so or when
  // the file holds time_embed_mixer.weight (a real Turbo checkpoint comes without a json).
  void load(WeightReader& w, const FlowConfig& config);

  bool meanflow() const { return time_embed_mixer.weight.defined(); }

  // The time embedding every ResNet block takes, before its Mish: t [B] -> [B, C_time].
  // Mean-flow: r [B] (end times) is required, otherwise it is ignored. tap (index -1):
  // "time_emb.t_sinusoidal" [B, in_channels] sinusoid(1000 t), "time_emb.t_mlp" [B, C_time]
  // time_mlp of it; mean-flow also "time_emb.r_sinusoidal", "time_emb.r_mlp" (the same for r)
  // and "time_emb.mixed" [B, C_time] = time_embed_mixer([t_mlp ; r_mlp]).
  at::Tensor time_embedding(const at::Tensor& t, const at::Tensor& r = at::Tensor(),
                            const TensorTap& tap = {}) const;

  // The estimated velocity (mean-flow: the average velocity over [t, r]):
  //   x, mu, cond [B, 80, T], mask [B, 1, T] (1 valid / 0 padded), t [B], spks [B, 80],
  //   r [B] (mean-flow only) -> [B, 80, T] (zero where masked)
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask, const at::Tensor& mu,
                     const at::Tensor& t, const at::Tensor& spks, const at::Tensor& cond,
                     const at::Tensor& r = at::Tensor()) const;
};

}  // namespace chatterbox
