// The T3 backbone: HF transformers LlamaModel as configured by Chatterbox ("Llama_520M"),
// driven with inputs_embeds only (its own token embedding is never used).
// Ports transformers/models/llama/modeling_llama.py: LlamaRMSNorm, LlamaRotaryEmbedding
// (rope_type "llama3", transformers/modeling_rope_utils.py _compute_llama3_parameters),
// LlamaSdpaAttention (causal, no GQA), LlamaMLP (SwiGLU), LlamaDecoderLayer, LlamaModel.forward
// with hidden_states[-1] = the final RMSNorm output.
#pragma once

#include <ATen/ATen.h>

#include <utility>
#include <vector>

#include "common/tensor_tap.h"
#include "io/weights.h"
#include "t3/kv_cache.h"
#include "t3/small_linear.h"
#include "t3/t3_config.h"

namespace chatterbox {

// RMSNorm in fp32: w * x * rsqrt(mean(x^2) + eps).  x [..., D], w [D]
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps);

// Inverse RoPE frequencies [Dh/2] float32 on the CPU, with llama3 scaling when configured
// (computed with the same float32 tensor ops as transformers, so the table matches bit-exactly).
at::Tensor rope_inv_freq(const T3Config& config);

// cos/sin tables [T, Dh] for absolute positions [start, start + T), "rotate-half" layout
// ([a_0..a_{Dh/2-1}, a_0..a_{Dh/2-1}]).
struct RopeTable {
  at::Tensor cos;  // [T, Dh]
  at::Tensor sin;  // [T, Dh]
};
RopeTable rope_table(const at::Tensor& inv_freq, int64_t start, int64_t length,
                     const c10::TensorOptions& options);

// A private, contiguous copy of t in `dtype` (the hot-loop weights never alias the file mapping).
at::Tensor owned(const at::Tensor& t, at::ScalarType dtype);

// One LlamaDecoderLayer. q/k/v and gate/up are packed into one matrix each at load, so a decode
// step reads each layer in 3 products (qkv, o, gate_up) + 1 (down).
struct LlamaLayer {
  at::Tensor input_layernorm;           // [D]        input_layernorm.weight
  LinearWeight qkv_proj;                // [3*H*Dh, D] cat(self_attn.{q,k,v}_proj.weight)
  LinearWeight o_proj;                  // [D, H*Dh]  self_attn.o_proj.weight
  at::Tensor post_attention_layernorm;  // [D]        post_attention_layernorm.weight
  LinearWeight gate_up_proj;            // [2*I, D]   cat(mlp.gate_proj.weight, mlp.up_proj.weight)
  LinearWeight down_proj;               // [D, I]     mlp.down_proj.weight

  // `r` is scoped to "tfmr.layers.N."; matmul weights are stored as `linear.matmul_dtype` (see
  // make_linear_weight: kFloat, kBFloat16 or kChar = int8 with per-row scales).
  void load(WeightReader& r, const T3Config& c, const LinearLoadOptions& linear);
};

// Attention probabilities of chosen heads of batch row 0, taken from a forward pass as it runs
// (the multilingual model's alignment analysis reads them; costs a view per head).
struct AttentionCapture {
  std::vector<std::pair<int64_t, int64_t>> heads;  // (layer, head)
  std::vector<at::Tensor> maps;                    // per entry, after forward(): [T, past + T]
};

struct LlamaBackbone {
  std::vector<LlamaLayer> layers;  // tfmr.layers.*
  at::Tensor norm;                 // [D] tfmr.norm.weight
  at::Tensor inv_freq;             // [Dh/2] float32 (not in the checkpoint: computed)
  int64_t heads = 0;
  int64_t head_dim = 0;
  double eps = 1e-5;

  // `r` is scoped to "tfmr.".
  void load(WeightReader& r, const T3Config& c, const LinearLoadOptions& linear);

  // x [B, T, D] = input embeddings at absolute positions [cache.length(), + T). Appends this
  // chunk's keys/values to `cache` (causal attention over everything cached) and returns the
  // final-RMSNorm output [B, T, D]. tap: "hidden_states" index 0 = x, index i + 1 = after layer i
  // (residual stream, before the final norm). capture: receives the softmax rows of its heads.
  at::Tensor forward(const at::Tensor& x, KvCache& cache, const TensorTap& tap = {},
                     AttentionCapture* capture = nullptr) const;
};

}  // namespace chatterbox
