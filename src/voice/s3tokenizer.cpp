#include "voice/s3tokenizer.h"

#include <ATen/ATen.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "common/error.h"

namespace chatterbox {

namespace {
constexpr int64_t kHeadDim = 64;
constexpr int64_t kFsqDims = 8;
constexpr double kFsqScale = 0.9990000128746033;  // float32(0.999), as in FSQCodebook.encode
}  // namespace

S3TokenizerConfig S3TokenizerConfig::from_json(const nlohmann::json& j) {
  S3TokenizerConfig c;
  if (!j.is_object()) return c;
  c.n_mels = j.value("n_mels", c.n_mels);
  c.n_audio_state = j.value("n_audio_state", c.n_audio_state);
  c.n_audio_head = j.value("n_audio_head", c.n_audio_head);
  c.n_audio_layer = j.value("n_audio_layer", c.n_audio_layer);
  c.n_codebook_size = j.value("n_codebook_size", c.n_codebook_size);
  c.attn_ln_eps = j.value("attn_ln_eps", c.attn_ln_eps);
  return c;
}

S3Tokenizer::S3Tokenizer(const S3TokenizerConfig& config, WeightReader reader)
    : config_(config), log_mel_(config.n_mels, reader.options()) {
  const int64_t D = config_.n_audio_state;
  if (D != config_.n_audio_head * kHeadDim)
    throw Error(ErrorKind::kModelFile, "S3Tokenizer: n_audio_state (" + std::to_string(D) +
                                           ") must be n_audio_head (" +
                                           std::to_string(config_.n_audio_head) + ") x 64");
  WeightReader e = reader.scoped("encoder.");
  conv1_w_ = e.take("conv1.weight", {D, config_.n_mels, 3});
  conv1_b_ = e.take("conv1.bias", {D});
  conv2_w_ = e.take("conv2.weight", {D, D, 3});
  conv2_b_ = e.take("conv2.bias", {D});
  for (int64_t i = 0; i < config_.n_audio_layer; ++i) {
    WeightReader r = e.scoped("blocks." + std::to_string(i) + ".");
    Block b;
    b.query_w = r.take("attn.query.weight", {D, D});
    b.query_b = r.take("attn.query.bias", {D});
    b.key_w = r.take("attn.key.weight", {D, D});
    b.value_w = r.take("attn.value.weight", {D, D});
    b.value_b = r.take("attn.value.bias", {D});
    b.out_w = r.take("attn.out.weight", {D, D});
    b.out_b = r.take("attn.out.bias", {D});
    b.fsmn_w = r.take("attn.fsmn_block.weight", {D, 1, config_.fsmn_kernel});
    b.attn_ln_w = r.take("attn_ln.weight", {D});
    b.attn_ln_b = r.take("attn_ln.bias", {D});
    b.mlp0_w = r.take("mlp.0.weight", {4 * D, D});
    b.mlp0_b = r.take("mlp.0.bias", {4 * D});
    b.mlp2_w = r.take("mlp.2.weight", {D, 4 * D});
    b.mlp2_b = r.take("mlp.2.bias", {D});
    b.mlp_ln_w = r.take("mlp_ln.weight", {D});
    b.mlp_ln_b = r.take("mlp_ln.bias", {D});
    blocks_.push_back(std::move(b));
  }
  project_down_w_ = reader.take("quantizer._codebook.project_down.weight", {kFsqDims, D});
  project_down_b_ = reader.take("quantizer._codebook.project_down.bias", {kFsqDims});
  reader.finish();

  // precompute_freqs_cis(64, 2048, theta=10000) in float32: angles = outer(t, freqs); polar(1,
  // angle)
  const auto f32 = at::TensorOptions().dtype(at::kFloat);
  at::Tensor freqs =
      1.0 / at::pow(10000.0,
                    at::arange(0, kHeadDim, 2, f32).narrow(0, 0, kHeadDim / 2) / double(kHeadDim));
  at::Tensor angles = at::outer(at::arange(config_.rope_positions, f32), freqs);  // [P, 32]
  rope_cos_ =
      at::cat({at::cos(angles), at::cos(angles)}, -1).to(reader.options().device());  // [P, 64]
  rope_sin_ = at::cat({at::sin(angles), at::sin(angles)}, -1).to(reader.options().device());
  fsq_powers_ = at::pow(3.0, at::arange(kFsqDims, f32)).to(reader.options().device());
}

// FSMNMultiHeadAttention.forward for one unpadded clip: x [1, T, D] -> [1, T, D]
at::Tensor S3Tokenizer::attention(const Block& b, const at::Tensor& x, const at::Tensor& cos,
                                  const at::Tensor& sin) const {
  const int64_t B = x.size(0), T = x.size(1), H = config_.n_audio_head;
  at::Tensor q = at::linear(x, b.query_w, b.query_b).view({B, T, H, kHeadDim});  // [B, T, H, 64]
  at::Tensor k = at::linear(x, b.key_w).view({B, T, H, kHeadDim});
  at::Tensor v = at::linear(x, b.value_w, b.value_b).view({B, T, H, kHeadDim});
  // apply_rotary_emb: rotate-half with the duplicated [a, a] angle table; cos/sin [1, T, 1, 64]
  auto rotate_half = [](const at::Tensor& t) {
    return at::cat({-t.narrow(-1, kHeadDim / 2, kHeadDim / 2), t.narrow(-1, 0, kHeadDim / 2)}, -1);
  };
  q = q * cos + rotate_half(q) * sin;
  k = k * cos + rotate_half(k) * sin;
  // forward_fsmn: depthwise conv over time of v (15 zeros each side) plus v itself
  at::Tensor mem_in = v.reshape({B, T, H * kHeadDim});  // [B, T, D]
  const int64_t left = (config_.fsmn_kernel - 1) / 2, right = config_.fsmn_kernel - 1 - left;
  at::Tensor mem =
      at::conv1d(at::constant_pad_nd(mem_in.transpose(1, 2), {left, right}, 0.0), b.fsmn_w,
                 at::Tensor(), at::IntArrayRef{1}, at::IntArrayRef{0}, at::IntArrayRef{1},
                 mem_in.size(2));  // [B, D, T]
  mem = mem.transpose(1, 2) + mem_in;
  // qkv_attention: both q and k scaled by head_dim^-0.25, softmax in float32
  const double scale = std::pow(static_cast<double>(kHeadDim), -0.25);
  at::Tensor qh = q.permute({0, 2, 1, 3}) * scale;  // [B, H, T, 64]
  at::Tensor kh = k.permute({0, 2, 3, 1}) * scale;  // [B, H, 64, T]
  at::Tensor vh = v.permute({0, 2, 1, 3});          // [B, H, T, 64]
  at::Tensor w = at::softmax(at::matmul(qh, kh).to(at::kFloat), -1).to(q.scalar_type());
  at::Tensor wv = at::matmul(w, vh).permute({0, 2, 1, 3}).reshape({B, T, H * kHeadDim});
  return at::linear(wv, b.out_w, b.out_b) + mem;
}

// AudioEncoderV2.forward with x_len = F (no padding, so every mask is all ones).
at::Tensor S3Tokenizer::encode(const at::Tensor& mel) const {
  at::Tensor x = at::gelu(at::conv1d(mel, conv1_w_, conv1_b_, 2, 1));  // [1, D, T1]
  x = at::gelu(at::conv1d(x, conv2_w_, conv2_b_, 2, 1));               // [1, D, T2]
  x = x.permute({0, 2, 1});                                            // [1, T2, D]
  const int64_t T = x.size(1);
  if (T > config_.rope_positions)
    throw Error(ErrorKind::kInvalidInput,
                "S3Tokenizer: " + std::to_string(T) + " frames exceed the rotary table");
  at::Tensor cos = rope_cos_.narrow(0, 0, T).view({1, T, 1, kHeadDim});
  at::Tensor sin = rope_sin_.narrow(0, 0, T).view({1, T, 1, kHeadDim});
  const int64_t D = config_.n_audio_state;
  for (const Block& b : blocks_) {
    x = x + attention(b, at::layer_norm(x, {D}, b.attn_ln_w, b.attn_ln_b, config_.attn_ln_eps), cos,
                      sin);
    at::Tensor h = at::layer_norm(x, {D}, b.mlp_ln_w, b.mlp_ln_b, 1e-5);
    x = x + at::linear(at::gelu(at::linear(h, b.mlp0_w, b.mlp0_b)), b.mlp2_w, b.mlp2_b);
  }
  return x;
}

at::Tensor S3Tokenizer::project(const at::Tensor& hidden) const {
  return at::tanh(at::linear(hidden, project_down_w_, project_down_b_).to(at::kFloat)) * kFsqScale;
}

// FSQCodebook.encode: round half to even, digits d_i in {0, 1, 2}, token = sum d_i 3^i.
at::Tensor S3Tokenizer::quantize(const at::Tensor& hidden) const {
  return (at::round(project(hidden)) + 1.0).mul(fsq_powers_).sum(-1).to(at::kLong);  // [1, T2]
}

at::Tensor S3Tokenizer::tokenize(const at::Tensor& wav16, int64_t max_tokens,
                                 at::Tensor* projected) const {
  const int64_t n = wav16.numel();
  if (n < 160)
    throw Error(ErrorKind::kInvalidInput, "S3Tokenizer: audio of " + std::to_string(n) +
                                              " samples at 16 kHz is shorter than one 10 ms frame");
  at::Tensor mel = log_mel(wav16);  // [1, 128, F]
  if (max_tokens > 0 && mel.size(-1) > 4 * max_tokens) mel = mel.narrow(-1, 0, 4 * max_tokens);
  if (mel.size(-1) > kMaxMelFrames)
    throw Error(ErrorKind::kInvalidInput, "S3Tokenizer: clips over 30 s are not supported (got " +
                                              std::to_string(mel.size(-1) / 100.0) + " s)");
  at::Tensor z = project(encode(mel));  // [1, T2, 8]
  if (projected) *projected = z;
  return (at::round(z) + 1.0).mul(fsq_powers_).sum(-1).to(at::kLong);  // as quantize()
}

}  // namespace chatterbox
