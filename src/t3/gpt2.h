// The Turbo T3 backbone: HF transformers GPT2Model as configured by Chatterbox-Turbo
// ("GPT2_medium"), driven with inputs_embeds only (its token table wte is never used).
// Ports transformers/models/gpt2/modeling_gpt2.py: GPT2Attention (fused c_attn q|k|v, causal,
// scaled by 1/sqrt(head_dim)), GPT2MLP (c_fc, gelu_new = tanh GELU, c_proj), GPT2Block
// (pre-LayerNorm residual blocks), GPT2Model.forward (learned absolute positions wpe, final
// LayerNorm ln_f, and hidden_states[-1] = the ln_f output).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "common/tensor_tap.h"
#include "io/weights.h"
#include "t3/kv_cache.h"
#include "t3/llama.h"  // owned()
#include "t3/small_linear.h"

namespace chatterbox {

// Sizes of a GPT-2 stack.
struct Gpt2Config {
  int64_t hidden_size = 1024;    // n_embd (D)
  int64_t num_layers = 24;       // n_layer
  int64_t num_heads = 16;        // n_head (H); head_dim = D / H
  int64_t max_positions = 8196;  // n_positions (rows of wpe)
  double layer_norm_eps = 1e-5;  // layer_norm_epsilon

  int64_t head_dim() const { return hidden_size / num_heads; }
  int64_t inner_size() const { return 4 * hidden_size; }  // n_inner = None -> 4 * n_embd
};

// One GPT2Block. GPT-2's Conv1D stores weights [in, out] (y = x W + b); they are transposed once
// at load into the Linear layout [out, in] so decode goes through small_linear.
struct Gpt2Layer {
  at::Tensor ln_1_weight, ln_1_bias;  // [D]
  LinearWeight c_attn_weight;         // [3D, D] (q | k | v rows), stored as matmul_dtype
  at::Tensor c_attn_bias;             // [3D]
  LinearWeight attn_proj_weight;      // [D, D]  attn.c_proj
  at::Tensor attn_proj_bias;          // [D]
  at::Tensor ln_2_weight, ln_2_bias;  // [D]
  LinearWeight c_fc_weight;           // [4D, D] mlp.c_fc
  at::Tensor c_fc_bias;               // [4D]
  LinearWeight mlp_proj_weight;       // [D, 4D] mlp.c_proj
  at::Tensor mlp_proj_bias;           // [D]

  // `r` is scoped to "tfmr.h.N."; the four matrices are stored as `linear.matmul_dtype`.
  void load(WeightReader& r, const Gpt2Config& c, const LinearLoadOptions& linear);
};

struct Gpt2Backbone {
  std::vector<Gpt2Layer> layers;      // tfmr.h.*
  at::Tensor wpe;                     // [max_positions, D] tfmr.wpe.weight
  at::Tensor ln_f_weight, ln_f_bias;  // [D] tfmr.ln_f
  Gpt2Config config;

  // `r` is scoped to "tfmr.". tfmr.wte.weight [wte_rows, D] must be present (the reference loads
  // the checkpoint strictly) and is checked, then dropped. wte_rows < 0: any number of rows.
  void load(WeightReader& r, const Gpt2Config& c, int64_t wte_rows,
            const LinearLoadOptions& linear);

  // x [B, T, D] = input embeddings at absolute positions [cache.length(), + T); wpe of those
  // positions is added here. Appends this chunk's keys/values to `cache` (causal attention over
  // everything cached) and returns the ln_f output [B, T, D]. tap: "hidden_states" index 0 =
  // x + wpe, index i + 1 = after block i (residual stream, before ln_f).
  at::Tensor forward(const at::Tensor& x, KvCache& cache, const TensorTap& tap = {}) const;

  // A cache for `max_len` positions of batch `batch`.
  KvCache make_cache(int64_t batch, int64_t max_len, const c10::TensorOptions& options) const;
};

}  // namespace chatterbox
