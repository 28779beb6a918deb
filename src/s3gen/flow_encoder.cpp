// UpsampleConformerEncoder and its blocks: see flow_encoder.h.
#include "s3gen/flow_encoder.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <string>

namespace chatterbox {

// ---------------------------------------------------------------------------------------------
// RelPositionMultiHeadedAttention
// ---------------------------------------------------------------------------------------------
void RelPositionAttention::load(WeightReader& w, int64_t width, int64_t heads_, bool key_bias,
                                int64_t block_bytes_) {
  heads = heads_;
  block_bytes = block_bytes_;
  linear_q.load(w, "linear_q", width, width);
  linear_k.load(w, "linear_k", width, width, key_bias);
  linear_v.load(w, "linear_v", width, width);
  linear_out.load(w, "linear_out", width, width);
  linear_pos.load(w, "linear_pos", width, width, /*has_bias=*/false);
  pos_bias_u = w.take("pos_bias_u", {heads, width / heads});
  pos_bias_v = w.take("pos_bias_v", {heads, width / heads});
}

at::Tensor RelPositionAttention::forward(const at::Tensor& x, const at::Tensor& pos_emb) const {
  const int64_t frames = x.size(1);
  const int64_t width = x.size(2);
  const int64_t d_k = width / heads;
  // [1, T, D] -> [T, H, d_k] -> [H, T, d_k]
  at::Tensor q = linear_q(x).view({frames, heads, d_k}).transpose(0, 1);
  at::Tensor k = linear_k(x).view({frames, heads, d_k}).transpose(0, 1);
  at::Tensor v = linear_v(x).view({frames, heads, d_k}).transpose(0, 1);
  // [2T-1, D] -> [2T-1, H, d_k] -> [H, 2T-1, d_k]
  at::Tensor p = linear_pos(pos_emb).view({2 * frames - 1, heads, d_k}).transpose(0, 1);

  at::Tensor q_u = (q + pos_bias_u.unsqueeze(1)).contiguous();  // [H, T, d_k]
  at::Tensor q_v = (q + pos_bias_v.unsqueeze(1)).contiguous();
  at::Tensor k_t = k.transpose(1, 2);  // [H, d_k, T]
  at::Tensor p_t = p.transpose(1, 2);  // [H, d_k, 2T-1]
  const double scale = 1.0 / std::sqrt(static_cast<double>(d_k));
  // Blocks of query rows keep the score buffers a few MB (reused from the heap, no page faults
  // on long sequences), and let each block multiply only the table rows it needs.
  const int64_t rows = std::max<int64_t>(16, block_bytes / (4 * heads * 2 * frames));
  at::Tensor out = at::empty({frames, heads, d_k}, x.options());  // [T, H, d_k]
  for (int64_t s = 0; s < frames; s += rows) {
    const int64_t n = std::min(rows, frames - s);
    at::Tensor matrix_ac = at::bmm(q_u.narrow(1, s, n), k_t);  // [H, n, T]
    // Positional term: query i, key j uses table row T-1-i+j (distance i - j), i.e. what
    // ESPnet's rel_shift computes. Rows s..s+n-1 need table rows c0 .. c0+T+n-2 with
    // c0 = T-s-n; in the [H, n, T+n-1] product, (i, j) sits at column n-1-i+j: a strided view
    // with row stride T+n-2.
    const int64_t c0 = frames - s - n;
    at::Tensor bd_full =
        at::bmm(q_v.narrow(1, s, n), p_t.narrow(2, c0, frames + n - 1));  // [H, n, T+n-1]
    at::Tensor matrix_bd =
        bd_full.as_strided({heads, n, frames}, {n * (frames + n - 1), frames + n - 2, 1},
                           bd_full.storage_offset() + n - 1);
    at::Tensor scores = matrix_ac.add_(matrix_bd).mul_(scale);
    at::Tensor ctx = at::bmm(at::softmax(scores, -1), v);  // [H, n, d_k]
    out.narrow(0, s, n).copy_(ctx.transpose(0, 1));
  }
  // [T, H, d_k] -> [1, T, D]
  out = out.view({1, frames, width});
  return linear_out(out);
}

// ---------------------------------------------------------------------------------------------
// ConformerEncoderLayer
// ---------------------------------------------------------------------------------------------
void ConformerEncoderLayer::load(WeightReader& w, const FlowConfig& config) {
  const int64_t width = config.encoder_output_size;
  WeightReader attn = w.scoped("self_attn.");
  self_attn.load(attn, width, config.encoder_heads, config.encoder_key_bias,
                 config.attention_block_bytes);
  feed_forward_w_1.load(w, "feed_forward.w_1", width, config.encoder_linear_units);
  feed_forward_w_2.load(w, "feed_forward.w_2", config.encoder_linear_units, width);
  norm_mha.load(w, "norm_mha", width, 1e-12);
  norm_ff.load(w, "norm_ff", width, 1e-12);
}

at::Tensor ConformerEncoderLayer::forward(const at::Tensor& x, const at::Tensor& pos_emb) const {
  at::Tensor h = x + self_attn.forward(norm_mha(x), pos_emb);
  at::Tensor ff = feed_forward_w_1(norm_ff(h));
  ff = feed_forward_w_2(at::silu_(ff));
  return h.add_(ff);
}

// ---------------------------------------------------------------------------------------------
// LinearNoSubsampling + EspnetRelPositionalEncoding
// ---------------------------------------------------------------------------------------------
void LinearInputLayer::load(WeightReader& w, int64_t in, int64_t width) {
  out_0.load(w, "out.0", in, width);
  out_1.load(w, "out.1", width, 1e-5);
  xscale = std::sqrt(static_cast<double>(width));
}

at::Tensor LinearInputLayer::forward(const at::Tensor& x) const {
  // The sqrt(D) scale comes after the LayerNorm (it belongs to the positional-encoding module).
  return out_1(out_0(x)).mul_(xscale);
}

at::Tensor espnet_rel_pos_table(int64_t frames, int64_t width, c10::TensorOptions options) {
  // As extend_pe: position p (fp32) times div_term = exp(arange(0, D, 2) * -(ln 10000 / D)),
  // pe_positive[p] = [sin, cos](p w), pe_negative[p] = [sin, cos](-p w); table =
  // flip(pe_positive) (p = T-1 .. 0) followed by pe_negative[1:] (p = 1 .. T-1).
  const auto f32 = at::TensorOptions().dtype(at::kFloat);
  at::Tensor position = at::arange(frames, f32).unsqueeze(1);  // [T, 1]
  at::Tensor div_term =
      at::exp(at::arange(0, width, 2, f32) * -(std::log(10000.0) / width));  // [D/2]
  at::Tensor arg_pos = position * div_term;                                  // [T, D/2]
  at::Tensor arg_neg = (-1 * position) * div_term;
  // interleave sin/cos: [T, D/2, 2] -> [T, D]
  at::Tensor pe_positive = at::stack({at::sin(arg_pos), at::cos(arg_pos)}, 2).view({frames, width});
  at::Tensor pe_negative = at::stack({at::sin(arg_neg), at::cos(arg_neg)}, 2).view({frames, width});
  at::Tensor table = at::cat({pe_positive.flip({0}), pe_negative.slice(0, 1)}, 0);  // [2T-1, D]
  return table.to(options);
}

// ---------------------------------------------------------------------------------------------
// UpsampleConformerEncoder
// ---------------------------------------------------------------------------------------------
void UpsampleConformerEncoder::load(WeightReader& w, const FlowConfig& config) {
  const int64_t width = config.encoder_output_size;
  pre_lookahead_len = config.pre_lookahead_len;
  up_stride = config.encoder_up_stride;

  WeightReader embed_w = w.scoped("embed.");
  embed.load(embed_w, config.input_size, width);

  pre_lookahead_conv1_weight = flow_ops::conv_weight_tmajor(
      w.take("pre_lookahead_layer.conv1.weight", {width, width, pre_lookahead_len + 1}));
  pre_lookahead_conv1_bias = w.take("pre_lookahead_layer.conv1.bias", {width});
  pre_lookahead_conv2_weight =
      flow_ops::conv_weight_tmajor(w.take("pre_lookahead_layer.conv2.weight", {width, width, 3}));
  pre_lookahead_conv2_bias = w.take("pre_lookahead_layer.conv2.bias", {width});

  encoders.resize(config.encoder_num_blocks);
  for (size_t i = 0; i < encoders.size(); ++i) {
    WeightReader layer = w.scoped("encoders." + std::to_string(i) + ".");
    encoders[i].load(layer, config);
  }

  up_layer_conv_weight = flow_ops::conv_weight_tmajor(
      w.take("up_layer.conv.weight", {width, width, 2 * up_stride + 1}));
  up_layer_conv_bias = w.take("up_layer.conv.bias", {width});

  WeightReader up_embed_w = w.scoped("up_embed.");
  up_embed.load(up_embed_w, width, width);

  up_encoders.resize(config.encoder_num_up_blocks);
  for (size_t i = 0; i < up_encoders.size(); ++i) {
    WeightReader layer = w.scoped("up_encoders." + std::to_string(i) + ".");
    up_encoders[i].load(layer, config);
  }
  after_norm.load(w, "after_norm", width, 1e-5);
}

at::Tensor UpsampleConformerEncoder::forward(const at::Tensor& xs) const {
  // 1. input layer: [1, T, D_in] -> [1, T, D]
  at::Tensor x = embed.forward(xs);
  const int64_t frames = x.size(1);
  const int64_t width = x.size(2);

  // 2. pre-lookahead layer (residual): conv1 sees frames t..t+L, conv2 conv1's t-2..t.
  at::Tensor y = flow_ops::conv1d_tmajor(x, pre_lookahead_conv1_weight, pre_lookahead_conv1_bias,
                                         pre_lookahead_len + 1, 0, pre_lookahead_len);
  y = at::leaky_relu_(y, 0.01);
  y = flow_ops::conv1d_tmajor(y, pre_lookahead_conv2_weight, pre_lookahead_conv2_bias, 3, 2, 0);
  x = y.add_(x);

  // 3. conformer layers at token rate
  at::Tensor pos = espnet_rel_pos_table(frames, width, x.options());  // [2T-1, D]
  for (const auto& layer : encoders) x = layer.forward(x, pos);

  // 4. nearest-neighbour upsample: [1, T, D] -> [1, T, s, D] -> [1, sT, D]; then the causal
  //    Conv1d(k = 2s + 1) with 2s frames of left padding keeps the length sT.
  x = x.unsqueeze(2).expand({1, frames, up_stride, width}).reshape({1, frames * up_stride, width});
  x = flow_ops::conv1d_tmajor(x, up_layer_conv_weight, up_layer_conv_bias, 2 * up_stride + 1,
                              2 * up_stride, 0);

  // 5.-6. second input layer and conformer layers at mel rate
  x = up_embed.forward(x);
  pos = espnet_rel_pos_table(frames * up_stride, width, x.options());  // [2sT-1, D]
  for (const auto& layer : up_encoders) x = layer.forward(x, pos);

  // 7. final LayerNorm (normalize_before)
  return after_norm(x);
}

}  // namespace chatterbox
