// T3CondEnc and its Perceiver (see cond_encoder.h).
#include "t3/cond_encoder.h"

#include <cmath>

#include "t3/llama.h"  // owned()

namespace chatterbox {

void PerceiverAttention::load(WeightReader& r, const T3Config& c) {
  const int64_t D = c.perceiver_query_size;
  heads = c.perceiver_heads;
  norm_weight = owned(r.take("norm.weight", {D}), r.options().dtype().toScalarType());
  norm_bias = owned(r.take("norm.bias", {D}), r.options().dtype().toScalarType());
  to_q_weight = owned(r.take("to_q.weight", {D, D}), r.options().dtype().toScalarType());
  to_q_bias = owned(r.take("to_q.bias", {D}), r.options().dtype().toScalarType());
  to_k_weight = owned(r.take("to_k.weight", {D, D}), r.options().dtype().toScalarType());
  to_k_bias = owned(r.take("to_k.bias", {D}), r.options().dtype().toScalarType());
  to_v_weight = owned(r.take("to_v.weight", {D, D}), r.options().dtype().toScalarType());
  to_v_bias = owned(r.take("to_v.bias", {D}), r.options().dtype().toScalarType());
  proj_out_weight = owned(r.take("proj_out.weight", {D, D}), r.options().dtype().toScalarType());
  proj_out_bias = owned(r.take("proj_out.bias", {D}), r.options().dtype().toScalarType());
}

at::Tensor PerceiverAttention::forward(const at::Tensor& x1, const at::Tensor& x2) const {
  const int64_t B = x1.size(0), T1 = x1.size(1), T2 = x2.size(1), D = x1.size(2), Dh = D / heads;
  at::Tensor n1 = at::layer_norm(x1, {D}, norm_weight, norm_bias, 1e-5);
  at::Tensor n2 = at::layer_norm(x2, {D}, norm_weight, norm_bias, 1e-5);
  // split_heads: [B, T, D] -> [B, H, T, Dh]
  at::Tensor q =
      at::linear(n1, to_q_weight, to_q_bias).view({B, T1, heads, Dh}).permute({0, 2, 1, 3});
  at::Tensor k =
      at::linear(n2, to_k_weight, to_k_bias).view({B, T2, heads, Dh}).permute({0, 2, 1, 3});
  at::Tensor v =
      at::linear(n2, to_v_weight, to_v_bias).view({B, T2, heads, Dh}).permute({0, 2, 1, 3});
  // scaled_dot_product_attention: softmax(q k^T / sqrt(Dh)) v
  at::Tensor scores =
      at::matmul(q, k.transpose(-2, -1)) * (1.0 / std::sqrt(double(Dh)));  // [B, H, T1, T2]
  at::Tensor h = at::matmul(at::softmax(scores, -1), v);                   // [B, H, T1, Dh]
  h = h.permute({0, 2, 1, 3}).reshape({B, T1, D});                         // combine_heads
  return x1 + at::linear(h, proj_out_weight, proj_out_bias);
}

void T3CondEnc::load(WeightReader& r, const T3Config& c) {
  const int64_t D = c.hidden_size;
  use_perceiver = c.use_perceiver_resampler;
  use_emotion_adv = c.emotion_adv;
  spkr_enc_weight = owned(r.take("spkr_enc.weight", {D, c.speaker_embed_size}),
                          r.options().dtype().toScalarType());
  spkr_enc_bias = owned(r.take("spkr_enc.bias", {D}), r.options().dtype().toScalarType());
  if (use_emotion_adv)
    emotion_adv_fc =
        owned(r.take("emotion_adv_fc.weight", {D, 1}), r.options().dtype().toScalarType());
  if (use_perceiver) {
    pre_attention_query = owned(r.take("perceiver.pre_attention_query",
                                       {1, c.perceiver_query_tokens, c.perceiver_query_size}),
                                r.options().dtype().toScalarType());
    WeightReader ar = r.scoped("perceiver.attn.");
    attn.load(ar, c);
  }
}

at::Tensor T3CondEnc::forward(const at::Tensor& speaker_emb, const at::Tensor& prompt_speech_emb,
                              const at::Tensor& emotion_adv, const TensorTap& tap) const {
  const int64_t B = speaker_emb.size(0);
  // cond_spkr = spkr_enc(speaker_emb.view(-1, 256))[:, None]
  at::Tensor spkr =
      at::linear(speaker_emb.reshape({B, -1}), spkr_enc_weight, spkr_enc_bias).unsqueeze(1);
  std::vector<at::Tensor> pieces{spkr};
  at::Tensor perceiver_out, emotion_out;
  if (prompt_speech_emb.defined() && prompt_speech_emb.size(1) > 0) {
    if (use_perceiver) {
      // Perceiver.forward: cross-attention of the learned queries over the prompt, then
      // self-attention of the result, with the same block.
      at::Tensor query = pre_attention_query.expand({B, -1, -1});
      at::Tensor pre_att = attn.forward(query, prompt_speech_emb);
      perceiver_out = attn.forward(pre_att, pre_att);
    } else {
      perceiver_out = prompt_speech_emb;
    }
    pieces.push_back(perceiver_out);
  }
  if (use_emotion_adv) {
    // emotion_adv_fc(emotion_adv.view(-1, 1, 1)): Linear(1, D, bias=False)
    emotion_out = at::linear(emotion_adv.reshape({B, 1, 1}).to(spkr.options()), emotion_adv_fc);
    pieces.push_back(emotion_out);
  }
  if (tap) {
    tap("spkr_enc_out", -1, spkr);
    if (perceiver_out.defined()) tap("perceiver_out", -1, perceiver_out);
    if (emotion_out.defined()) tap("emotion_adv_out", -1, emotion_out);
  }
  return at::cat(pieces, 1);
}

}  // namespace chatterbox
