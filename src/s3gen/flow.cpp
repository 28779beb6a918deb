// CausalMaskedDiffWithXvec.inference and the per-utterance CFM noise: see flow.h.
#include "s3gen/flow.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <malloc.h>

#include <mutex>
#include <string>

#include "common/error.h"

namespace chatterbox {

// ---------------------------------------------------------------------------------------------
// FlowNoise
// ---------------------------------------------------------------------------------------------
namespace {

// splitmix64 finaliser: decorrelates the per-block seeds of neighbouring blocks/seeds.
uint64_t mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

FlowNoise FlowNoise::seeded(uint64_t seed) {
  FlowNoise n;
  n.seeded_ = true;
  n.seed_ = seed;
  return n;
}

FlowNoise FlowNoise::injected(const at::Tensor& noise) {
  if (!noise.defined() || noise.dim() != 3 || noise.size(0) != 1 || noise.size(1) != kMelBins) {
    throw Error(ErrorKind::kInvalidInput, "FlowNoise::injected: expected a [1, 80, F] tensor");
  }
  FlowNoise n;
  n.injected_ = noise;
  return n;
}

FlowNoise FlowNoise::injected_meanflow(const at::Tensor& noised_mels, const at::Tensor& z_draw) {
  if (!noised_mels.defined() || !z_draw.defined() || noised_mels.dim() != 3 || z_draw.dim() != 3 ||
      noised_mels.size(0) != 1 || z_draw.size(0) != 1 || noised_mels.size(1) != kMelBins ||
      z_draw.size(1) != kMelBins || noised_mels.size(2) > z_draw.size(2)) {
    throw Error(ErrorKind::kInvalidInput,
                "FlowNoise::injected_meanflow: expected noised_mels [1, 80, N] and z_draw [1, 80, "
                "F] with N <= F");
  }
  // The CFM's z[..., prompt_len:] = noised_mels with prompt_len = F - N.
  at::Tensor z = z_draw.clone();
  const int64_t n = noised_mels.size(2);
  z.narrow(2, z.size(2) - n, n).copy_(noised_mels);
  return injected(z);
}

at::Tensor FlowNoise::block(int64_t index) const {
  if (static_cast<size_t>(index) >= blocks_.size()) blocks_.resize(index + 1);
  at::Tensor& b = blocks_[index];
  if (!b.defined()) {
    // Drawn on the CPU from a generator of its own, so the values depend only on (seed, index).
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(mix64(seed_ ^ mix64(index)));
    b = at::randn({kMelBins, kBlockFrames}, gen, at::TensorOptions().dtype(at::kFloat));
  }
  return b;
}

at::Tensor FlowNoise::frames(int64_t begin, int64_t end, c10::TensorOptions options) const {
  if (begin < 0 || end < begin) throw Error(ErrorKind::kInternal, "FlowNoise::frames: bad range");
  const auto out_options =
      options.dtype(options.has_dtype() ? options.dtype() : caffe2::TypeMeta::Make<float>());
  if (injected_.defined()) {
    if (end > injected_.size(2)) {
      throw Error(ErrorKind::kInvalidInput, "FlowNoise: injected noise covers " +
                                                std::to_string(injected_.size(2)) + " frames, " +
                                                std::to_string(end) + " needed");
    }
    return injected_.slice(2, begin, end).to(out_options).contiguous();
  }
  if (!seeded_) throw Error(ErrorKind::kInternal, "FlowNoise: no noise source set");
  at::Tensor out = at::empty({1, kMelBins, end - begin}, at::TensorOptions().dtype(at::kFloat));
  for (int64_t f = begin; f < end;) {
    const int64_t b = f / kBlockFrames;
    const int64_t offset = f - b * kBlockFrames;
    const int64_t count = std::min(end - f, kBlockFrames - offset);
    out[0].narrow(1, f - begin, count).copy_(block(b).narrow(1, offset, count));
    f += count;
  }
  return out.to(out_options);
}

// ---------------------------------------------------------------------------------------------
// FlowModel
// ---------------------------------------------------------------------------------------------
namespace {

// The CFM allocates and frees the same few-MB temporaries thousands of times per call. glibc's
// default malloc adapts its mmap threshold to the sizes it sees and trims the heap top back to
// the kernel, so these blocks keep being unmapped and faulted in afresh (measured here: ~490k
// page faults per 2 s of audio; performance-anchors.md: this made the original 5x slower).
// Fixing both thresholds once stops the adaptation: blocks below 64 MB come from the heap and
// up to 512 MB of free heap is kept. Process-wide, done once when the first flow model loads.
void keep_freed_memory() {
#if defined(__GLIBC__)
  static std::once_flag once;
  std::call_once(once, [] {
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
  });
#endif
}

}  // namespace

FlowModel FlowModel::load(WeightReader& weights, const FlowConfig& config,
                          c10::TensorOptions options) {
  keep_freed_memory();
  FlowModel m;
  m.config_ = config;
  m.options_ = options;
  const int64_t width = config.encoder_output_size;
  m.input_embedding_ =
      weights.take("input_embedding.weight", {config.vocab_size, config.input_size});
  m.spk_embed_affine_weight_ =
      weights.take("spk_embed_affine_layer.weight", {config.output_size, config.spk_embed_dim});
  m.spk_embed_affine_bias_ = weights.take("spk_embed_affine_layer.bias", {config.output_size});
  m.encoder_proj_weight_ = weights.take("encoder_proj.weight", {config.output_size, width});
  m.encoder_proj_bias_ = weights.take("encoder_proj.bias", {config.output_size});
  WeightReader enc = weights.scoped("encoder.");
  m.encoder_.load(enc, config);
  WeightReader est = weights.scoped("decoder.estimator.");
  m.estimator_.load(est, config);
  // A real Turbo checkpoint comes without a json: the mixer tensor makes it mean-flow.
  m.config_.meanflow = m.estimator_.meanflow();
  return m;
}

at::Tensor FlowModel::project_speaker(const at::Tensor& embedding) const {
  // F.normalize(embedding, dim=1): v / max(||v||, 1e-12); then spk_embed_affine_layer.
  at::Tensor e = embedding.to(spk_embed_affine_weight_.options()).reshape({1, -1});
  at::Tensor norm = at::clamp_min(at::linalg_vector_norm(e, 2, {1}, /*keepdim=*/true), 1e-12);
  return at::linear(e / norm, spk_embed_affine_weight_, spk_embed_affine_bias_);  // [1, 80]
}

at::Tensor FlowModel::inference(const VoiceConditioning& voice, const at::Tensor& speech_tokens,
                                bool finalize, const FlowNoise& noise, int n_timesteps,
                                const TensorTap& tap, const std::atomic<bool>* cancel) const {
  const auto& c = config_;
  const auto opts = input_embedding_.options();
  auto check_tokens = [&](const at::Tensor& t, const char* what) {
    if (!t.defined() || t.dim() != 2 || t.size(0) != 1 || t.scalar_type() != at::kLong) {
      throw Error(ErrorKind::kInvalidInput,
                  std::string("flow: ") + what + " must be a [1, T] int64 tensor");
    }
    if (t.numel() > 0 && (t.min().item<int64_t>() < 0 || t.max().item<int64_t>() >= c.vocab_size)) {
      throw Error(ErrorKind::kInvalidInput, std::string("flow: ") + what +
                                                " holds ids outside [0, " +
                                                std::to_string(c.vocab_size) + ")");
    }
  };
  check_tokens(voice.prompt_token, "prompt_token");
  check_tokens(speech_tokens, "speech_tokens");
  if (!voice.prompt_feat.defined() || voice.prompt_feat.dim() != 3 ||
      voice.prompt_feat.size(2) != c.output_size) {
    throw Error(ErrorKind::kInvalidInput, "flow: prompt_feat must be [1, F, 80]");
  }

  // 1. speaker projection [1, 80]
  at::Tensor spks = project_speaker(voice.embedding);

  // 2. [prompt | generated] tokens -> embeddings [1, L, D_in] (batch 1: no padding mask)
  at::Tensor tokens = at::cat({voice.prompt_token, speech_tokens}, 1).to(opts.device());
  at::Tensor xs = at::embedding(input_embedding_, tokens);

  // 3. encoder [1, 2L, D]
  at::Tensor h = encoder_.forward(xs);
  if (tap) {
    tap("spk_embed_projected", -1, spks);
    tap("encoder_out", -1, h);
    tap("encoder_mask", -1, at::ones({1, 1, h.size(1)}, at::TensorOptions().dtype(at::kLong)));
  }
  // Not finalizing: drop the frames whose look-ahead is incomplete. The reference trims h but
  // not the encoder mask it derives the decoder mask from (a mask 6 frames longer than mu);
  // here the decoder mask is built from the trimmed length, so they always agree.
  if (!finalize) {
    const int64_t drop = c.pre_lookahead_len * c.token_mel_ratio;
    h = h.slice(1, 0, std::max<int64_t>(h.size(1) - drop, 0));
  }
  const int64_t frames = h.size(1);                         // F'
  const int64_t prompt_frames = voice.prompt_feat.size(1);  // mel_len1 (may be 2 Tp + 1)
  if (frames <= prompt_frames) {
    // Nothing to generate yet (e.g. a streaming call with fewer tokens than the look-ahead).
    return at::empty({1, c.output_size, 0}, opts);
  }

  // 4. mu = encoder_proj(h): [1, F', 80] -> [1, 80, F']
  at::Tensor proj = at::linear(h, encoder_proj_weight_, encoder_proj_bias_);
  at::Tensor mu = proj.transpose(1, 2).contiguous();

  // 5. cond: the prompt mel in frames 0..Fp-1, zeros after; mask all ones.
  at::Tensor cond = at::zeros({1, c.output_size, frames}, opts);
  cond.narrow(2, 0, prompt_frames).copy_(voice.prompt_feat.transpose(1, 2));
  at::Tensor mask = at::ones({1, 1, frames}, opts);

  // 6. CFM from the utterance noise of absolute frames 0..F'-1 (mean-flow: the reference's
  // two draws combined, see FlowNoise)
  at::Tensor z = noise.frames(0, frames, opts);
  const int64_t steps = n_timesteps > 0 ? n_timesteps : c.default_n_timesteps();
  // basic_euler (mean-flow): linear grid whatever t_scheduler says, no CFG.
  at::Tensor t_span = cfm_t_span(steps, !c.meanflow && c.cosine_t_schedule, opts);
  if (tap) {
    tap("encoder_proj_out", -1, proj);
    tap("cfm.mu", -1, mu);
    tap("cfm.mask", -1, mask);
    tap("cfm.spks", -1, spks);
    tap("cfm.cond", -1, cond);
    tap("cfm.noise_z", -1, z);
    tap("cfm.t_span", -1, t_span);
  }
  at::Tensor x =
      c.meanflow ? solve_meanflow_euler(estimator_, z, mask, mu, spks, cond, t_span, tap, cancel)
                 : solve_euler_cfg(estimator_, z, mask, mu, spks, cond, t_span,
                                   c.inference_cfg_rate, tap, cancel);
  if (tap) tap("cfm.output_full", -1, x);
  // 7. the generated part
  return x.narrow(2, prompt_frames, frames - prompt_frames).contiguous();  // [1, 80, F' - Fp]
}

}  // namespace chatterbox
