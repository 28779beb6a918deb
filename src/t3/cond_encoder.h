// The T3 conditioning encoder: speaker embedding, speech-prompt perceiver and emotion scalar
// turned into the prefix of the T3 input sequence.
// Ports chatterbox/models/t3/modules/cond_enc.py (T3CondEnc) and
// chatterbox/models/t3/modules/perceiver.py (Perceiver, AttentionBlock2, AttentionQKV).
#pragma once

#include <ATen/ATen.h>

#include "common/tensor_tap.h"
#include "io/weights.h"
#include "t3/t3_config.h"

namespace chatterbox {

// AttentionBlock2 as the Perceiver uses it: x1 + proj_out(MHA(to_q(LN(x1)), to_k(LN(x2)),
// to_v(LN(x2)))) with ONE LayerNorm for both sides, no mask, scale 1/sqrt(head width).
struct PerceiverAttention {
  at::Tensor norm_weight, norm_bias;  // [D] attn.norm (LayerNorm, eps 1e-5)
  at::Tensor to_q_weight, to_q_bias;  // [D, D], [D]
  at::Tensor to_k_weight, to_k_bias;
  at::Tensor to_v_weight, to_v_bias;
  at::Tensor proj_out_weight, proj_out_bias;
  int64_t heads = 4;

  void load(WeightReader& r, const T3Config& c);  // r scoped to "cond_enc.perceiver.attn."
  // x1 [B, T1, D] (queries), x2 [B, T2, D] (keys/values) -> [B, T1, D]
  at::Tensor forward(const at::Tensor& x1, const at::Tensor& x2) const;
};

struct T3CondEnc {
  at::Tensor spkr_enc_weight;      // [D, 256] cond_enc.spkr_enc.weight
  at::Tensor spkr_enc_bias;        // [D]      cond_enc.spkr_enc.bias
  at::Tensor emotion_adv_fc;       // [D, 1]   cond_enc.emotion_adv_fc.weight (no bias)
  at::Tensor pre_attention_query;  // [1, Q, D] cond_enc.perceiver.pre_attention_query
  PerceiverAttention attn;         // cond_enc.perceiver.attn
  bool use_perceiver = true;
  bool use_emotion_adv = true;

  void load(WeightReader& r, const T3Config& c);  // r scoped to "cond_enc."

  // speaker_emb [B, 256]; prompt_speech_emb [B, Tp, D] = speech_emb(tokens) +
  // speech_pos_emb(0..Tp-1), undefined for no prompt; emotion_adv [B] (exaggeration) -> prefix [B,
  // 1 + Q + 1, D] = cat(spkr_enc(s), perceiver(prompt), emotion_adv_fc(e)). tap (index -1, oracle
  // t3_cond names): the pieces "spkr_enc_out" [B, 1, D], "perceiver_out" [B, Q, D] (only with a
  // prompt), "emotion_adv_out" [B, 1, D] (only when emotion_adv is on).
  at::Tensor forward(const at::Tensor& speaker_emb, const at::Tensor& prompt_speech_emb,
                     const at::Tensor& emotion_adv, const TensorTap& tap = {}) const;
};

}  // namespace chatterbox
