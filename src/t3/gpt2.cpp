// HF GPT2Model forward for the Turbo T3 (see gpt2.h).
#include "t3/gpt2.h"

#include <cmath>
#include <limits>
#include <string>

#include "common/error.h"
#include "t3/small_linear.h"

namespace chatterbox {
namespace {

// y = x W^T + b with W in the Linear layout [N, K]: one weight pass for few-row x (decode).
at::Tensor linear_bias(const at::Tensor& x, const LinearWeight& w, const at::Tensor& b) {
  return small_linear(x, w, b);
}

}  // namespace

void Gpt2Layer::load(WeightReader& r, const Gpt2Config& c, const LinearLoadOptions& linear) {
  const int64_t D = c.hidden_size, I = c.inner_size();
  const at::ScalarType dt = r.options().dtype().toScalarType();
  ln_1_weight = owned(r.take("ln_1.weight", {D}), dt);
  ln_1_bias = owned(r.take("ln_1.bias", {D}), dt);
  // Conv1D [in, out] -> [out, in]
  c_attn_weight = make_linear_weight(r.take("attn.c_attn.weight", {D, 3 * D}).t(), linear);
  c_attn_bias = owned(r.take("attn.c_attn.bias", {3 * D}), dt);
  attn_proj_weight = make_linear_weight(r.take("attn.c_proj.weight", {D, D}).t(), linear);
  attn_proj_bias = owned(r.take("attn.c_proj.bias", {D}), dt);
  ln_2_weight = owned(r.take("ln_2.weight", {D}), dt);
  ln_2_bias = owned(r.take("ln_2.bias", {D}), dt);
  c_fc_weight = make_linear_weight(r.take("mlp.c_fc.weight", {D, I}).t(), linear);
  c_fc_bias = owned(r.take("mlp.c_fc.bias", {I}), dt);
  mlp_proj_weight = make_linear_weight(r.take("mlp.c_proj.weight", {I, D}).t(), linear);
  mlp_proj_bias = owned(r.take("mlp.c_proj.bias", {D}), dt);
}

void Gpt2Backbone::load(WeightReader& r, const Gpt2Config& c, int64_t wte_rows,
                        const LinearLoadOptions& linear) {
  if (c.hidden_size <= 0 || c.num_heads <= 0 || c.num_layers <= 0 ||
      c.hidden_size % c.num_heads != 0)
    throw Error(ErrorKind::kModelFile, "GPT-2: hidden size " + std::to_string(c.hidden_size) +
                                           " is not a positive multiple of the head count " +
                                           std::to_string(c.num_heads));
  config = c;
  const int64_t D = c.hidden_size;
  const at::ScalarType dt = r.options().dtype().toScalarType();
  // GPT2Model's own token table: required by the reference's strict load, never used.
  r.take("wte.weight", {wte_rows, D});
  wpe = owned(r.take("wpe.weight", {c.max_positions, D}), dt);
  layers.resize(c.num_layers);
  for (int64_t i = 0; i < c.num_layers; ++i) {
    WeightReader lr = r.scoped("h." + std::to_string(i) + ".");
    layers[i].load(lr, c, linear);
  }
  ln_f_weight = owned(r.take("ln_f.weight", {D}), dt);
  ln_f_bias = owned(r.take("ln_f.bias", {D}), dt);
}

KvCache Gpt2Backbone::make_cache(int64_t batch, int64_t max_len,
                                 const c10::TensorOptions& options) const {
  return KvCache(config.num_layers, batch, config.num_heads, max_len, config.head_dim(), options);
}

at::Tensor Gpt2Backbone::forward(const at::Tensor& x_in, KvCache& cache,
                                 const TensorTap& tap) const {
  const int64_t B = x_in.size(0), T = x_in.size(1), D = config.hidden_size;
  const int64_t H = config.num_heads, Dh = config.head_dim();
  const int64_t past = cache.length(), total = past + T;
  if (total > config.max_positions)
    throw Error(ErrorKind::kInvalidInput, "GPT-2: position " + std::to_string(total - 1) +
                                              " beyond the learned table (" +
                                              std::to_string(config.max_positions) + " rows)");
  const double scale = 1.0 / std::sqrt(double(Dh));
  // Causal mask [T, past + T] for a chunk of several positions: query i (absolute past + i) sees
  // keys 0..past + i. A single new position sees everything and needs none.
  at::Tensor mask;
  if (T > 1)
    mask = at::full({T, total}, -std::numeric_limits<float>::infinity(), x_in.options())
               .triu(past + 1);

  // inputs_embeds + wpe(position_ids), position_ids = past .. past + T - 1
  at::Tensor x = x_in + wpe.narrow(0, past, T).unsqueeze(0);  // [B, T, D]
  if (tap) tap("hidden_states", 0, x);
  for (size_t l = 0; l < layers.size(); ++l) {
    const Gpt2Layer& w = layers[l];
    // --- attention: x + c_proj(attn(c_attn(ln_1(x)))) ---
    at::Tensor h = at::layer_norm(x, {D}, w.ln_1_weight, w.ln_1_bias, config.layer_norm_eps);
    at::Tensor qkv = linear_bias(h, w.c_attn_weight, w.c_attn_bias);   // [B, T, 3D]
    auto split = qkv.view({B, T, 3, H, Dh}).permute({2, 0, 3, 1, 4});  // [3, B, H, T, Dh]
    cache.write(int64_t(l), split[1], split[2]);
    at::Tensor keys = cache.keys(int64_t(l), total);  // [B, H, past+T, Dh]
    at::Tensor values = cache.values(int64_t(l), total);
    at::Tensor scores = at::matmul(split[0], keys.transpose(-2, -1)) * scale;  // [B, H, T, past+T]
    if (mask.defined()) scores = scores + mask;
    at::Tensor attn = at::matmul(at::softmax(scores, -1), values);  // [B, H, T, Dh]
    attn = attn.transpose(1, 2).reshape({B, T, D});                 // merge heads
    x = x + linear_bias(attn, w.attn_proj_weight, w.attn_proj_bias);
    // --- MLP: x + c_proj(gelu_new(c_fc(ln_2(x)))) ---
    h = at::layer_norm(x, {D}, w.ln_2_weight, w.ln_2_bias, config.layer_norm_eps);
    at::Tensor act = at::gelu(linear_bias(h, w.c_fc_weight, w.c_fc_bias), "tanh");  // [B, T, 4D]
    x = x + linear_bias(act, w.mlp_proj_weight, w.mlp_proj_bias);
    if (tap) tap("hidden_states", int64_t(l) + 1, x);
  }
  cache.advance(T);
  return at::layer_norm(x, {D}, ln_f_weight, ln_f_bias, config.layer_norm_eps);
}

}  // namespace chatterbox
