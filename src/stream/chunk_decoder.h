// S3Gen decoding of a growing token stream in chunks, and the stitching of the chunks' audio.
//
// One ChunkDecoder per utterance. It owns the utterance's randomness (flow start noise indexed by
// absolute mel frame, HiFT source draws indexed by absolute sample) and the stitching state of
// the chosen StitchMode:
//   context      HiFT continues from the previous chunk: the last kHiftCacheFrames mel frames
//                are re-vocoded with the previous excitation forced (cache_source), and the
//                previous chunk's held-back tail crossfades into the re-vocoded start.
//   overlap-add  each chunk is decoded alone on overlapping tokens; the overlap crossfades.
//   none         each chunk is decoded alone; chunks are concatenated (the baseline).
// Crossfades use a raised-cosine pair whose halves sum to exactly one.
#pragma once

#include <ATen/Tensor.h>

#include <atomic>
#include <cstdint>
#include <vector>

#include "common/tensor_tap.h"
#include "s3gen/flow.h"
#include "s3gen/hift.h"
#include "s3gen/s3gen.h"
#include "stream/chunk_plan.h"
#include "voice/conditioning.h"

namespace chatterbox {

class ChunkDecoder {
 public:
  // Context mode: mel frames HiFT re-vocodes at each boundary = warm-up (dropped) + overlap
  // (crossfaded with the previous call's held-back tail).
  static constexpr int64_t kHiftWarmupFrames = 8;
  static constexpr int64_t kHiftOverlapFrames = 8;  // 160 ms held back and crossfaded
  static constexpr int64_t kHiftCacheFrames = kHiftWarmupFrames + kHiftOverlapFrames;
  static constexpr int64_t kCrossfadeSamples = 960;  // 40 ms at the start of the overlap

  // cfm_steps: flow steps per chunk, <= 0 = the model's default (10 English, 2 mean-flow Turbo).
  // Works alike with the English and the mean-flow flow (FlowModel picks its solver).
  ChunkDecoder(const FlowModel& flow, const HiftModel& hift, const VoiceConditioning& voice,
               const ChunkSchedule& schedule, int cfm_steps, uint64_t seed);
  // With given randomness (parity injects the reference's recorded draws): `noise` by absolute
  // mel frame, prompt frames first; `random` by absolute output sample.
  ChunkDecoder(const FlowModel& flow, const HiftModel& hift, const VoiceConditioning& voice,
               const ChunkSchedule& schedule, int cfm_steps, FlowNoise noise, HiftRandom random);

  // Makes decode() stop between two flow steps (throws Error(kCancelled)) once `*flag` is set.
  void set_cancel_flag(const std::atomic<bool>* flag) { cancel_ = flag; }

  // Decodes `plan` (from ChunkPlanner) given all generated speech tokens so far (< 6561) and
  // returns the audio it releases: 24 kHz mono. The last plan also flushes the held-back tail.
  std::vector<float> decode(const ChunkPlan& plan, const std::vector<int64_t>& tokens);

  // The vocoder and stitching half of decode(), given the mel of the plan's window
  // [1, 80, 2 * (emit_end - window_begin)] (tools use it to measure stitching on a fixed mel).
  std::vector<float> vocode(const ChunkPlan& plan, const at::Tensor& mel);

  // The whole utterance in one pass with the same randomness: what streaming approximates, and
  // the reference's offline S3Token2Wav.inference (flow with finalize -> HiFT -> trim/fade; the
  // parity checks run it here). tap (index -1): the flow's (FlowModel::inference), then
  // "output_mel" [1, 80, 2 T] (the generated frames), "f0" [1, 2 T] and "output_source" [1, 1, S]
  // (the vocoder's excitation).
  std::vector<float> decode_offline(const std::vector<int64_t>& tokens, const TensorTap& tap = {});

 private:
  // Flow on tokens[begin, end) after the voice prompt, with this utterance's noise columns.
  // [1, 80, F]; tap: FlowModel::inference's.
  at::Tensor flow_mel(const std::vector<int64_t>& tokens, int begin, int end, bool finalize,
                      const TensorTap& tap = {});
  // Appends `wav` [S] to `out`, applying the start-of-utterance trim/fade to the first samples.
  void emit(const at::Tensor& wav, std::vector<float>& out);
  // out[0:n] = wav[0:n] * fade_in + tail[0:n] * fade_out, n = tail length (tail and wav start
  // at the same sample).
  at::Tensor crossfade_into(const at::Tensor& wav, const at::Tensor& tail) const;

  const FlowModel& flow_;
  const HiftModel& hift_;
  const VoiceConditioning& voice_;
  StitchMode mode_;
  int overlap_tokens_;
  int cfm_steps_;
  const std::atomic<bool>* cancel_ = nullptr;
  FlowNoise noise_;         // absolute mel frames, prompt frames first
  HiftRandom hift_random_;  // absolute output samples
  int64_t prompt_frames_;   // Fp = voice.prompt_feat.size(1)
  at::Tensor trim_fade_;    // [960] start-of-utterance trim/fade

  // Stitching state.
  int64_t emitted_samples_ = 0;  // samples released so far (for the trim/fade)
  at::Tensor tail_;              // [S_tail] audio held back for the next crossfade
  at::Tensor mel_cache_;       // [1, 80, <= kHiftCacheFrames] context mode: last mel frames vocoded
  int64_t anchor_sample_ = 0;  // context/overlap-add: where the next call's phase meets this one's,
  at::Tensor anchor_cycles_;   //   and the phase there [1, H, 1] (cycles)
};

}  // namespace chatterbox
