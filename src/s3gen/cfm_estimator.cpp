// The causal ConditionalDecoder U-Net: see cfm_estimator.h.
#include "s3gen/cfm_estimator.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "common/error.h"

namespace chatterbox {

// ---------------------------------------------------------------------------------------------
// CausalBlock1D
// ---------------------------------------------------------------------------------------------
void CausalBlock1D::load(WeightReader& w, int64_t c_in, int64_t c_out) {
  block_0_weight = flow_ops::conv_weight_tmajor(w.take("block.0.weight", {c_out, c_in, 3}));
  block_0_bias = w.take("block.0.bias", {c_out});
  block_2.load(w, "block.2", c_out, 1e-5);
}

at::Tensor CausalBlock1D::forward(const at::Tensor& x, const at::Tensor& mask) const {
  // CausalConv1d(k = 3): 2 frames of left padding, none on the right.
  at::Tensor y = flow_ops::conv1d_tmajor(x * mask, block_0_weight, block_0_bias, 3, 2, 0);
  y = at::mish(block_2(y));
  return y.mul_(mask);
}

// ---------------------------------------------------------------------------------------------
// CausalResnetBlock1D
// ---------------------------------------------------------------------------------------------
void CausalResnetBlock1D::load(WeightReader& w, int64_t c_in, int64_t c_out, int64_t c_time) {
  WeightReader b1 = w.scoped("block1.");
  block1.load(b1, c_in, c_out);
  WeightReader b2 = w.scoped("block2.");
  block2.load(b2, c_out, c_out);
  mlp_1.load(w, "mlp.1", c_time, c_out);
  res_conv_weight = flow_ops::conv_weight_tmajor(w.take("res_conv.weight", {c_out, c_in, 1}));
  res_conv_bias = w.take("res_conv.bias", {c_out});
}

at::Tensor CausalResnetBlock1D::forward(const at::Tensor& x, const at::Tensor& mask,
                                        const at::Tensor& temb_mish) const {
  at::Tensor h = block1.forward(x, mask);
  h.add_(mlp_1(temb_mish).unsqueeze(1));  // [B, C_out] -> [B, 1, C_out], over all frames
  h = block2.forward(h, mask);
  return h.add_(at::linear(x * mask, res_conv_weight.t(), res_conv_bias));
}

// ---------------------------------------------------------------------------------------------
// BasicTransformerBlock
// ---------------------------------------------------------------------------------------------
void BasicTransformerBlock::load(WeightReader& w, int64_t channels, int64_t heads_,
                                 int64_t head_dim_, int64_t block_bytes_) {
  heads = heads_;
  head_dim = head_dim_;
  block_bytes = block_bytes_;
  const int64_t inner = heads * head_dim;
  norm1.load(w, "norm1", channels, 1e-5);
  norm3.load(w, "norm3", channels, 1e-5);
  // One GEMM for q, k and v instead of three.
  attn1_to_qkv = at::cat({w.take("attn1.to_q.weight", {inner, channels}),
                          w.take("attn1.to_k.weight", {inner, channels}),
                          w.take("attn1.to_v.weight", {inner, channels})},
                         0);
  attn1_to_out_0.load(w, "attn1.to_out.0", inner, channels);
  ff_net_0_proj.load(w, "ff.net.0.proj", channels, 4 * channels);
  ff_net_2.load(w, "ff.net.2", 4 * channels, channels);
}

at::Tensor BasicTransformerBlock::forward(const at::Tensor& h, const at::Tensor& attn_bias) const {
  const int64_t batch = h.size(0);
  const int64_t frames = h.size(1);
  const int64_t bh = batch * heads;
  // [B, T, C] -> [B, T, 3, H, d] -> [3, B, H, T, d] -> q, k, v as [B*H, T, d]
  at::Tensor qkv = at::linear(norm1(h), attn1_to_qkv)
                       .view({batch, frames, 3, heads, head_dim})
                       .permute({2, 0, 3, 1, 4})
                       .contiguous();
  at::Tensor q = qkv[0].view({bh, frames, head_dim});
  at::Tensor k_t = qkv[1].view({bh, frames, head_dim}).transpose(1, 2);  // [B*H, d, T]
  at::Tensor v = qkv[2].view({bh, frames, head_dim});
  // softmax(q k^T / sqrt(d) + bias) v (diffusers Attention through scaled_dot_product_attention),
  // in blocks of query rows: the [B*H, Tq, T] score block stays a few MB however long the
  // utterance, so it is reused from the heap instead of being a fresh, page-faulting mmap per
  // call (glibc maps blocks above its 32 MB ceiling; performance-anchors.md).
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
  const int64_t rows = std::max<int64_t>(16, block_bytes / (4 * bh * frames));
  at::Tensor out = at::empty({batch, frames, heads, head_dim}, h.options());  // [B, T, H, d]
  for (int64_t s = 0; s < frames; s += rows) {
    const int64_t n = std::min(rows, frames - s);
    at::Tensor scores = at::bmm(q.narrow(1, s, n), k_t).mul_(scale);  // [B*H, n, T]
    if (attn_bias.defined()) scores.view({batch, heads, n, frames}).add_(attn_bias);
    at::Tensor ctx = at::bmm(at::softmax(scores, -1), v);  // [B*H, n, d]
    out.narrow(1, s, n).copy_(ctx.view({batch, heads, n, head_dim}).transpose(1, 2));
  }
  at::Tensor x = attn1_to_out_0(out.view({batch, frames, heads * head_dim})).add_(h);
  at::Tensor ff = ff_net_2(at::gelu(ff_net_0_proj(norm3(x))));  // GELU with erf
  return x.add_(ff);
}

// ---------------------------------------------------------------------------------------------
// ConditionalDecoder
// ---------------------------------------------------------------------------------------------
namespace {

void load_level(WeightReader& w, ConditionalDecoder::Level& level, int64_t c_in, int64_t c,
                const FlowConfig& config, bool with_conv) {
  WeightReader resnet = w.scoped("0.");
  level.resnet.load(resnet, c_in, c, config.time_embed_dim());
  level.transformer_blocks.resize(config.estimator_n_blocks);
  for (size_t i = 0; i < level.transformer_blocks.size(); ++i) {
    WeightReader block = w.scoped("1." + std::to_string(i) + ".");
    level.transformer_blocks[i].load(block, c, config.estimator_num_heads,
                                     config.estimator_attention_head_dim,
                                     config.attention_block_bytes);
  }
  if (with_conv) {
    level.conv_weight = flow_ops::conv_weight_tmajor(w.take("2.weight", {c, c, 3}));
    level.conv_bias = w.take("2.bias", {c});
  }
}

// resnet, then the transformer blocks; h [B, T, C_in] -> [B, T, C]
at::Tensor run_level(const ConditionalDecoder::Level& level, const at::Tensor& h,
                     const at::Tensor& mask, const at::Tensor& temb_mish,
                     const at::Tensor& attn_bias) {
  at::Tensor x = level.resnet.forward(h, mask, temb_mish);
  for (const auto& block : level.transformer_blocks) x = block.forward(x, attn_bias);
  return x;
}

}  // namespace

void ConditionalDecoder::load(WeightReader& w, const FlowConfig& config) {
  if (config.estimator_channels.size() != 1) {
    throw Error(
        ErrorKind::kModelFile,
        "flow.decoder.estimator: only a single U-Net level (channels of length 1) is supported");
  }
  in_channels = config.estimator_in_channels;
  const int64_t c = config.estimator_channels[0];
  const int64_t c_time = config.time_embed_dim();
  time_mlp_linear_1.load(w, "time_mlp.linear_1", in_channels, c_time);
  time_mlp_linear_2.load(w, "time_mlp.linear_2", c_time, c_time);
  time_embed_mixer = flow_ops::Linear();
  if (config.meanflow || w.has("time_embed_mixer.weight")) {
    time_embed_mixer.load(w, "time_embed_mixer", 2 * c_time, c_time, /*has_bias=*/false);
  }

  WeightReader down = w.scoped("down_blocks.0.");
  load_level(down, down_block, in_channels, c, config, true);
  mid_blocks.resize(config.estimator_num_mid_blocks);
  for (size_t i = 0; i < mid_blocks.size(); ++i) {
    WeightReader mid = w.scoped("mid_blocks." + std::to_string(i) + ".");
    load_level(mid, mid_blocks[i], c, c, config, false);
  }
  WeightReader up = w.scoped("up_blocks.0.");
  load_level(up, up_block, 2 * c, c, config, true);

  WeightReader fin = w.scoped("final_block.");
  final_block.load(fin, c, c);
  final_proj_weight = flow_ops::conv_weight_tmajor(
      w.take("final_proj.weight", {config.estimator_out_channels, c, 1}));
  final_proj_bias = w.take("final_proj.bias", {config.estimator_out_channels});
}

at::Tensor ConditionalDecoder::time_embedding(const at::Tensor& t, const at::Tensor& r,
                                              const TensorTap& tap) const {
  // SinusoidalPosEmb(in_channels): half = in/2, freq_j = exp(-j ln(10000) / (half - 1)),
  // arg = 1000 t freq; [sin | cos]. Computed in fp32 as the reference does.
  const int64_t half = in_channels / 2;
  const double step = std::log(10000.0) / static_cast<double>(half - 1);
  auto sinusoid = [&](const at::Tensor& time) {  // [B] -> [B, in_channels]
    at::Tensor freq =
        at::exp(at::arange(half, time.options().dtype(at::kFloat)) * -step);         // [half]
    at::Tensor arg = (1000 * time.to(at::kFloat).unsqueeze(1)) * freq.unsqueeze(0);  // [B, half]
    return at::cat({at::sin(arg), at::cos(arg)}, -1).to(time_mlp_linear_1.weight.dtype());
  };
  auto mlp = [&](const at::Tensor& emb) {
    return time_mlp_linear_2(at::silu(time_mlp_linear_1(emb)));
  };

  at::Tensor t_sin = sinusoid(t);
  at::Tensor temb = mlp(t_sin);  // [B, C_time]
  if (tap) {
    tap("time_emb.t_sinusoidal", -1, t_sin);
    tap("time_emb.t_mlp", -1, temb);
  }
  if (!meanflow()) return temb;
  if (!r.defined() || r.numel() != t.numel()) {
    throw Error(ErrorKind::kInvalidInput,
                "mean-flow estimator: r must be given, one end time per batch item");
  }
  at::Tensor r_sin = sinusoid(r);
  at::Tensor remb = mlp(r_sin);
  at::Tensor mixed = time_embed_mixer(at::cat({temb, remb}, 1));  // [B, 2 C_time] -> [B, C_time]
  if (tap) {
    tap("time_emb.r_sinusoidal", -1, r_sin);
    tap("time_emb.r_mlp", -1, remb);
    tap("time_emb.mixed", -1, mixed);
  }
  return mixed;
}

at::Tensor ConditionalDecoder::forward(const at::Tensor& x, const at::Tensor& mask,
                                       const at::Tensor& mu, const at::Tensor& t,
                                       const at::Tensor& spks, const at::Tensor& cond,
                                       const at::Tensor& r) const {
  const int64_t batch = x.size(0);
  const int64_t frames = x.size(2);
  // Every ResNet block applies mlp = Sequential(Mish, Linear) to the same embedding: do the
  // Mish once.
  at::Tensor temb_mish = at::mish(time_embedding(t, r));

  // Input stacking [x ; mu ; spks over T ; cond] along channels, time-major: [B, T, 320].
  at::Tensor h =
      at::cat({x.transpose(1, 2), mu.transpose(1, 2),
               spks.unsqueeze(1).expand({batch, frames, spks.size(1)}), cond.transpose(1, 2)},
              2);
  at::Tensor m = mask.transpose(1, 2).contiguous();  // [B, T, 1]
  // Key-padding bias (mask_to_bias): 0 for valid keys, -1e10 for padded ones, [B, 1, 1, T].
  // With nothing padded (every flow call) it is all zeros and is skipped.
  at::Tensor attn_bias;
  if (!at::all(mask.ne(0)).item<bool>()) {
    attn_bias = ((1.0 - mask) * -1.0e10).unsqueeze(1);
  }

  // down level: skip = transformer output, then the causal conv on the masked features
  h = run_level(down_block, h, m, temb_mish, attn_bias);
  at::Tensor skip = h;
  h = flow_ops::conv1d_tmajor(h * m, down_block.conv_weight, down_block.conv_bias, 3, 2, 0);

  for (const auto& level : mid_blocks) h = run_level(level, h, m, temb_mish, attn_bias);

  // up level: [current ; skip] (current first)
  h = run_level(up_block, at::cat({h, skip}, 2), m, temb_mish, attn_bias);
  h = flow_ops::conv1d_tmajor(h * m, up_block.conv_weight, up_block.conv_bias, 3, 2, 0);

  h = final_block.forward(h, m);
  at::Tensor out = at::linear(h * m, final_proj_weight.t(), final_proj_bias).mul_(m);  // [B, T, 80]
  return out.transpose(1, 2).contiguous();                                             // [B, 80, T]
}

}  // namespace chatterbox
