// S3Gen flow: speech tokens -> 80-bin log-mel at 50 Hz.
// Ports chatterbox/models/s3gen/flow.py (CausalMaskedDiffWithXvec.inference) with its encoder
// (transformer/upsample_encoder.py) and CFM (flow_matching.py, CausalConditionalCFM + the causal
// ConditionalDecoder of decoder.py).
//
//   tokens [1, Tp + T] --input_embedding--> UpsampleConformerEncoder --> h [1, F, D] (F = 2 (Tp +
//   T)) mu = encoder_proj(h) [1, 80, F]; cond = prompt mel in frames 0..Fp-1, zeros after x0 =
//   noise [1, 80, F]; 10 Euler steps of the U-Net with CFG (batch of 2) -> mel [1, 80, F]
//     (mean-flow, Turbo: 2 steps of the mean-flow U-Net, no CFG; see cfm_solver.h)
//   output: frames Fp..F-1 (the generated part)
//
// FlowModel is immutable after load and may be shared by threads (shared_ptr<const FlowModel>);
// all per-utterance state (the noise) lives in FlowNoise, owned by the caller.
#pragma once

#include <ATen/Tensor.h>
#include <c10/core/TensorOptions.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "common/tensor_tap.h"
#include "io/weights.h"
#include "s3gen/cfm_estimator.h"
#include "s3gen/cfm_solver.h"
#include "s3gen/flow_encoder.h"
#include "s3gen/s3gen_config.h"
#include "voice/conditioning.h"

namespace chatterbox {

// The CFM start point x0 ~ N(0, 1), indexed by ABSOLUTE mel frame (frame 0 = first prompt frame),
// so that re-running the flow on a longer token prefix reproduces the same noise for the frames
// it already covered (streaming depends on it). Owned by the engine, one per utterance.
//
// Seeded mode: frames come in fixed blocks of kBlockFrames; block b is drawn from its own CPU
// generator seeded by mix(seed, b), so any frame range is reproducible without drawing the ones
// before it, and the values do not depend on the device. Injected mode: a given [1, 80, F]
// tensor (parity feeds the oracle's recorded noise); asking for frames past F throws.
//
// Mean-flow (Turbo): the reference draws two tensors, randn(1, 80, 2 T) in S3Gen.flow_inference
// for the generated frames, then randn_like(mu) in the CFM for all frames, whose last 2 T
// frames it overwrites with the first draw. The start point is still one N(0, 1) value per
// frame, so the seeded mode serves it unchanged; injected_meanflow() rebuilds the reference's
// start point from its two recorded draws.
//
// Not thread-safe: one utterance = one thread (the block cache is filled lazily).
class FlowNoise {
 public:
  static constexpr int64_t kBlockFrames = 256;
  static constexpr int64_t kMelBins = 80;

  FlowNoise() = default;  // empty: frames() throws
  static FlowNoise seeded(uint64_t seed);
  static FlowNoise injected(const at::Tensor& noise /*[1, 80, F]*/);
  // The mean-flow start point from the reference's draws, in their call order: noised_mels
  // [1, 80, 2 T] (S3Gen.flow_inference) and z_draw [1, 80, F] (the CFM's randn_like(mu)):
  // z_draw with its last 2 T frames replaced by noised_mels (oracle key cfm.noise_z).
  static FlowNoise injected_meanflow(const at::Tensor& noised_mels, const at::Tensor& z_draw);

  bool empty() const { return !injected_.defined() && !seeded_; }
  // Noise for absolute frames [begin, end): [1, 80, end - begin], fp32 on the CPU unless
  // `options` says otherwise.
  at::Tensor frames(int64_t begin, int64_t end, c10::TensorOptions options = {}) const;

 private:
  at::Tensor block(int64_t index) const;  // [80, kBlockFrames]

  bool seeded_ = false;
  uint64_t seed_ = 0;
  at::Tensor injected_;                     // [1, 80, F] (injected mode)
  mutable std::vector<at::Tensor> blocks_;  // lazily drawn blocks (seeded mode)
};

class FlowModel {
 public:
  // Takes the `flow.*` tensors: `weights` is scoped to "flow.". Problems are recorded in the
  // reader; the caller calls weights.finish() once the whole file is read. Weights are converted
  // to `options` (dtype/device; fp32 by default).
  static FlowModel load(WeightReader& weights, const FlowConfig& config,
                        c10::TensorOptions options);

  // Token -> mel for the generated tokens after the voice's prompt.
  //   voice.prompt_token [1, Tp] int64, voice.prompt_feat [1, Fp, 80], voice.embedding [1, 192]
  //   speech_tokens [1, T] int64 (< vocab_size; special tokens must already be dropped)
  //   finalize: false drops the last pre_lookahead_len * token_mel_ratio (= 6) frames, whose
  //     look-ahead is not complete yet (streaming); true keeps everything (offline TTS).
  //   noise: start point, absolute frames 0..F'-1 are used.
  //   n_timesteps: Euler steps (<= 0: config().default_n_timesteps(), 10 English / 2 mean-flow).
  //   tap (index -1, oracle s3gen_flow names): "spk_embed_projected" [1, 80]; before the
  //     finalize trim "encoder_out" [1, F, D] and "encoder_mask" [1, 1, F] int64; then
  //     "encoder_proj_out" [1, F', 80] and the CFM's "cfm.{mu,cond,noise_z}" [1, 80, F'],
  //     "cfm.mask" [1, 1, F'], "cfm.spks" [1, 80], "cfm.t_span" [n + 1], the solver's per-step
  //     names (cfm_solver.h) and "cfm.output_full" [1, 80, F'].
  //   cancel: polled between Euler steps; when set, throws Error(kCancelled).
  // Returns the mel of the generated part, [1, 80, F' - Fp], on the model's device.
  at::Tensor inference(const VoiceConditioning& voice, const at::Tensor& speech_tokens,
                       bool finalize, const FlowNoise& noise, int n_timesteps,
                       const TensorTap& tap = {}, const std::atomic<bool>* cancel = nullptr) const;

  // spk_embed_affine_layer(L2-normalised x-vector): [1, 192] -> [1, 80]
  at::Tensor project_speaker(const at::Tensor& embedding) const;

  const FlowConfig& config() const { return config_; }
  // Chatterbox-Turbo's mean-flow S3Gen (the estimator has time_embed_mixer).
  bool meanflow() const { return config_.meanflow; }
  const c10::TensorOptions& options() const { return options_; }
  const UpsampleConformerEncoder& encoder() const { return encoder_; }
  const ConditionalDecoder& estimator() const { return estimator_; }

 private:
  FlowConfig config_;
  c10::TensorOptions options_;
  at::Tensor input_embedding_;          // [vocab, input_size]
  at::Tensor spk_embed_affine_weight_;  // [80, 192]
  at::Tensor spk_embed_affine_bias_;    // [80]
  at::Tensor encoder_proj_weight_;      // [80, D]
  at::Tensor encoder_proj_bias_;        // [80]
  UpsampleConformerEncoder encoder_;
  ConditionalDecoder estimator_;
};

}  // namespace chatterbox
