// HF LlamaModel forward for T3 (see llama.h).
#include "t3/llama.h"

#include <cmath>
#include <limits>

#include "common/error.h"
#include "t3/small_linear.h"

namespace chatterbox {

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  // LlamaRMSNorm: variance = x.pow(2).mean(-1, keepdim=True); x * rsqrt(variance + eps); w * x
  at::Tensor h = x.to(at::kFloat);
  at::Tensor variance = h.pow(2).mean(-1, /*keepdim=*/true);
  h = h * at::rsqrt(variance + eps);
  return weight * h.to(x.scalar_type());
}

at::Tensor rope_inv_freq(const T3Config& c) {
  // inv_freq = 1 / (base ** (arange(0, dim, 2).float() / dim))
  const int64_t dim = c.head_dim;
  at::Tensor exponent = at::arange(0, dim, 2, at::kLong).to(at::kFloat) / double(dim);
  // Python's `scalar / tensor` is tensor.reciprocal() * scalar; written the same way here so the
  // float32 rounding matches.
  at::Tensor inv_freq = at::pow(c.rope_theta, exponent).reciprocal();
  if (c.rope_type != "llama3") return inv_freq;

  // _compute_llama3_parameters: keep high frequencies, divide low ones by `factor`, blend the
  // band between the two wavelength limits.
  const double factor = c.rope_factor;
  const double low_freq_wavelen =
      double(c.rope_original_max_position_embeddings) / c.rope_low_freq_factor;
  const double high_freq_wavelen =
      double(c.rope_original_max_position_embeddings) / c.rope_high_freq_factor;
  at::Tensor wavelen = inv_freq.reciprocal() * (2 * M_PI);
  at::Tensor inv_freq_llama = at::where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq);
  at::Tensor smooth_factor =
      (wavelen.reciprocal() * double(c.rope_original_max_position_embeddings) -
       c.rope_low_freq_factor) /
      (c.rope_high_freq_factor - c.rope_low_freq_factor);
  at::Tensor smoothed =
      (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama;
  at::Tensor is_medium =
      at::logical_not(wavelen < high_freq_wavelen) * at::logical_not(wavelen > low_freq_wavelen);
  return at::where(is_medium, smoothed, inv_freq_llama);
}

RopeTable rope_table(const at::Tensor& inv_freq, int64_t start, int64_t length,
                     const c10::TensorOptions& options) {
  // freqs[p, i] = p * inv_freq[i] in float32; emb = cat(freqs, freqs); attention scaling 1.
  at::Tensor pos = at::arange(start, start + length, at::kLong).to(at::kFloat);
  at::Tensor freqs = pos.unsqueeze(1) * inv_freq.unsqueeze(0);  // [T, Dh/2]
  at::Tensor emb = at::cat({freqs, freqs}, -1);                 // [T, Dh]
  return {emb.cos().to(options), emb.sin().to(options)};
}

namespace {

// q * cos + rotate_half(q) * sin, rotate_half(q) = cat(-q[..., Dh/2:], q[..., :Dh/2]).
// x [B, H, T, Dh]; cos, sin [T, Dh]
at::Tensor apply_rope(const at::Tensor& x, const RopeTable& rope) {
  const int64_t half = x.size(-1) / 2;
  at::Tensor rotated = at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
  return x * rope.cos + rotated * rope.sin;
}

}  // namespace

at::Tensor owned(const at::Tensor& t, at::ScalarType dtype) {
  // Private contiguous memory: anonymous pages that stay resident, rather than a view of the
  // file mapping that the kernel may drop and re-read under memory pressure.
  at::Tensor out = at::empty(t.sizes(), t.options().dtype(dtype));
  out.copy_(t);
  return out;
}

void LlamaLayer::load(WeightReader& r, const T3Config& c, const LinearLoadOptions& linear) {
  const int64_t D = c.hidden_size, HD = c.num_attention_heads * c.head_dim, I = c.intermediate_size;
  input_layernorm =
      owned(r.take("input_layernorm.weight", {D}), r.options().dtype().toScalarType());
  post_attention_layernorm =
      owned(r.take("post_attention_layernorm.weight", {D}), r.options().dtype().toScalarType());
  at::Tensor q = r.take("self_attn.q_proj.weight", {HD, D});
  at::Tensor k = r.take("self_attn.k_proj.weight", {HD, D});
  at::Tensor v = r.take("self_attn.v_proj.weight", {HD, D});
  qkv_proj = make_linear_weight(at::cat({q, k, v}, 0), linear);
  o_proj = make_linear_weight(r.take("self_attn.o_proj.weight", {D, HD}), linear);
  at::Tensor gate = r.take("mlp.gate_proj.weight", {I, D});
  at::Tensor up = r.take("mlp.up_proj.weight", {I, D});
  gate_up_proj = make_linear_weight(at::cat({gate, up}, 0), linear);
  down_proj = make_linear_weight(r.take("mlp.down_proj.weight", {D, I}), linear);
}

void LlamaBackbone::load(WeightReader& r, const T3Config& c, const LinearLoadOptions& linear) {
  heads = c.num_attention_heads;
  head_dim = c.head_dim;
  eps = c.rms_norm_eps;
  // LlamaModel's own token table exists in the checkpoint but is never used (inputs_embeds).
  r.take("embed_tokens.weight", {c.llama_vocab_size, c.hidden_size});
  layers.resize(c.num_hidden_layers);
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    WeightReader lr = r.scoped("layers." + std::to_string(i) + ".");
    layers[i].load(lr, c, linear);
  }
  norm = owned(r.take("norm.weight", {c.hidden_size}), r.options().dtype().toScalarType());
  inv_freq = rope_inv_freq(c);
}

at::Tensor LlamaBackbone::forward(const at::Tensor& x_in, KvCache& cache, const TensorTap& tap,
                                  AttentionCapture* capture) const {
  const int64_t B = x_in.size(0), T = x_in.size(1), HD = heads * head_dim;
  const int64_t past = cache.length(), total = past + T;
  const RopeTable rope = rope_table(inv_freq, past, T, x_in.options());
  const double scale = 1.0 / std::sqrt(double(head_dim));
  // Causal mask [T, past + T] for a chunk of several positions: query i (absolute past + i) sees
  // keys 0..past + i. A single new position sees everything and needs none.
  at::Tensor mask;
  if (T > 1) {
    mask = at::full({T, total}, -std::numeric_limits<float>::infinity(), x_in.options())
               .triu(past + 1);
  }

  if (capture) {
    capture->maps.assign(capture->heads.size(), at::Tensor());
    for (const auto& lh : capture->heads)
      if (lh.first < 0 || lh.first >= int64_t(layers.size()) || lh.second < 0 || lh.second >= heads)
        throw Error(ErrorKind::kInternal, "attention capture of layer " + std::to_string(lh.first) +
                                              " head " + std::to_string(lh.second) +
                                              " outside the backbone");
  }
  at::Tensor x = x_in;
  if (tap) tap("hidden_states", 0, x);
  for (size_t l = 0; l < layers.size(); ++l) {
    const LlamaLayer& w = layers[l];
    // --- self-attention ---
    at::Tensor h = rms_norm(x, w.input_layernorm, eps);
    at::Tensor qkv = small_linear(h, w.qkv_proj);                                // [B, T, 3*H*Dh]
    auto split = qkv.view({B, T, 3, heads, head_dim}).permute({2, 0, 3, 1, 4});  // [3, B, H, T, Dh]
    at::Tensor q = apply_rope(split[0], rope);                                   // [B, H, T, Dh]
    at::Tensor k = apply_rope(split[1], rope);
    cache.write(int64_t(l), k, split[2]);
    at::Tensor keys = cache.keys(int64_t(l), total);  // [B, H, past+T, Dh]
    at::Tensor values = cache.values(int64_t(l), total);
    at::Tensor scores = at::matmul(q, keys.transpose(-2, -1)) * scale;  // [B, H, T, past+T]
    if (mask.defined()) scores = scores + mask;
    at::Tensor probs = at::softmax(scores, -1);  // [B, H, T, past+T]
    if (capture) {
      for (size_t c = 0; c < capture->heads.size(); ++c)
        if (capture->heads[c].first == int64_t(l))
          capture->maps[c] = probs[0][capture->heads[c].second];
    }
    at::Tensor attn = at::matmul(probs, values);      // [B, H, T, Dh]
    attn = attn.transpose(1, 2).reshape({B, T, HD});  // [B, T, H*Dh]
    x = x + small_linear(attn, w.o_proj);
    // --- SwiGLU MLP: down(silu(gate(h)) * up(h)) ---
    h = rms_norm(x, w.post_attention_layernorm, eps);
    at::Tensor gate_up = small_linear(h, w.gate_up_proj);  // [B, T, 2*I]
    const int64_t I = gate_up.size(-1) / 2;
    at::Tensor act = at::silu(gate_up.narrow(-1, 0, I)) * gate_up.narrow(-1, I, I);
    x = x + small_linear(act, w.down_proj);
    if (tap) tap("hidden_states", int64_t(l) + 1, x);
  }
  cache.advance(T);
  return rms_norm(x, norm, eps);
}

}  // namespace chatterbox
