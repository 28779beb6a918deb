#include "stream/chunk_decoder.h"

#include <ATen/ATen.h>

#include <cmath>

#include "common/error.h"

namespace chatterbox {
namespace {

// Raised-cosine fade-in of n samples, sampled at half-sample offsets so that
// fade_in[i] + fade_in[n - 1 - i] == 1 exactly: the fade-out is its mirror image.
at::Tensor fade_in_window(int64_t n, c10::TensorOptions options) {
  at::Tensor i = at::arange(n, options.dtype(at::kDouble)).add_(0.5);
  return (0.5 - 0.5 * at::cos(i * (M_PI / double(n)))).to(options);
}

std::vector<float> to_vector(const at::Tensor& wav) {
  at::Tensor flat = wav.detach().to(at::kCPU, at::kFloat).contiguous().view({-1});
  return std::vector<float>(flat.data_ptr<float>(), flat.data_ptr<float>() + flat.numel());
}

}  // namespace

ChunkDecoder::ChunkDecoder(const FlowModel& flow, const HiftModel& hift,
                           const VoiceConditioning& voice, const ChunkSchedule& schedule,
                           int cfm_steps, uint64_t seed)
    : ChunkDecoder(flow, hift, voice, schedule, cfm_steps, FlowNoise::seeded(seed),
                   HiftRandom(seed ^ 0x9e3779b97f4a7c15ull)) {}

ChunkDecoder::ChunkDecoder(const FlowModel& flow, const HiftModel& hift,
                           const VoiceConditioning& voice, const ChunkSchedule& schedule,
                           int cfm_steps, FlowNoise noise, HiftRandom random)
    : flow_(flow),
      hift_(hift),
      voice_(voice),
      mode_(schedule.stitch_mode),
      overlap_tokens_(schedule.overlap_tokens),
      cfm_steps_(cfm_steps),
      noise_(std::move(noise)),
      hift_random_(std::move(random)),
      prompt_frames_(voice.prompt_feat.size(1)),
      trim_fade_(make_trim_fade(kSampleRate, flow.options())) {}

at::Tensor ChunkDecoder::flow_mel(const std::vector<int64_t>& tokens, int begin, int end,
                                  bool finalize, const TensorTap& tap) {
  const auto options = flow_.options();
  at::Tensor window = at::tensor(std::vector<int64_t>(tokens.begin() + begin, tokens.begin() + end),
                                 at::TensorOptions().dtype(at::kLong))
                          .view({1, end - begin})
                          .to(options.device());
  // Noise columns by absolute frame: the prompt's frames, then those of the tokens in the
  // window (frame 2k of generated token k sits after the prompt), so a frame gets the same
  // noise whichever window it is decoded in.
  // The mean-flow model needs nothing else: its reference start point (two draws, see
  // FlowNoise) is one N(0, 1) value per frame too, so the same absolute-frame noise serves it.
  at::Tensor noise = at::cat(
      {noise_.frames(0, prompt_frames_),
       noise_.frames(prompt_frames_ + 2 * int64_t(begin), prompt_frames_ + 2 * int64_t(end))},
      2);
  return flow_.inference(voice_, window, finalize, FlowNoise::injected(noise), cfm_steps_, tap,
                         cancel_);
}

at::Tensor ChunkDecoder::crossfade_into(const at::Tensor& wav, const at::Tensor& tail) const {
  const int64_t n = std::min(tail.size(0), wav.size(0));
  if (n == 0) return wav;
  at::Tensor fade_in = fade_in_window(n, wav.options());
  at::Tensor out = wav.clone();
  out.slice(0, 0, n).mul_(fade_in).add_(tail.slice(0, 0, n) * fade_in.flip(0));
  return out;
}

void ChunkDecoder::emit(const at::Tensor& wav_in, std::vector<float>& out) {
  at::Tensor wav = wav_in.unsqueeze(0).clone();        // [1, S]
  apply_trim_fade(wav, trim_fade_, emitted_samples_);  // only the utterance's first 960 samples
  std::vector<float> samples = to_vector(wav);
  out.insert(out.end(), samples.begin(), samples.end());
  emitted_samples_ += wav.size(1);
}

std::vector<float> ChunkDecoder::decode(const ChunkPlan& plan, const std::vector<int64_t>& tokens) {
  if (plan.decode_end > static_cast<int>(tokens.size()))
    throw Error(ErrorKind::kInternal, "chunk plan reaches past the generated tokens");
  if (plan.emit_end <= plan.emit_begin) return vocode(plan, at::Tensor());
  at::Tensor mel =
      flow_mel(tokens, plan.window_begin, plan.decode_end, plan.finalize);  // [1, 80, F]
  // Frames of the window's tokens up to emit_end (a non-final chunk's look-ahead frames are
  // already dropped by the flow).
  return vocode(plan, mel.slice(2, 0, 2 * int64_t(plan.emit_end - plan.window_begin)));
}

std::vector<float> ChunkDecoder::vocode(const ChunkPlan& plan, const at::Tensor& mel) {
  std::vector<float> out;
  if (plan.emit_end <= plan.emit_begin) {  // empty final chunk: release the held-back tail
    if (tail_.defined()) emit(tail_, out);
    tail_ = at::Tensor();
    return out;
  }
  const int64_t spf = hift_.samples_per_frame();
  // Frames of the emitted tokens, relative to the window.
  at::Tensor new_mel = mel.slice(2, 2 * int64_t(plan.emit_begin - plan.window_begin),
                                 2 * int64_t(plan.emit_end - plan.window_begin));

  at::Tensor wav;  // [S] audio of this chunk, before holding back a tail
  if (mode_ == StitchMode::kContext) {
    // HiFT re-vocodes the last kHiftCacheFrames mel frames of the previous call: the first
    // kHiftWarmupFrames only give its convolutions left context and are dropped, the next
    // kHiftOverlapFrames crossfade with the previous call's held-back tail (which lacked right
    // context). The harmonics' phase is anchored to the previous call's at the end of the
    // warm-up, where both calls have context, so the excitation runs on as in one pass.
    const bool continuing = mel_cache_.defined();
    const int64_t cached = continuing ? mel_cache_.size(2) : 0;
    at::Tensor mel_in = continuing ? at::cat({mel_cache_, new_mel}, 2) : new_mel;
    const int64_t first_frame = 2 * int64_t(plan.emit_begin) - cached;
    HiftPhaseAnchor anchor{anchor_sample_, anchor_cycles_};
    HiftOutput h = hift_.inference(mel_in, hift_random_, first_frame * spf, at::Tensor(),
                                   continuing ? &anchor : nullptr);
    wav = h.wav[0];
    if (continuing) {
      const int64_t tail_len = tail_.defined() ? tail_.size(0) : 0;
      wav = wav.slice(0, cached * spf - tail_len);  // drop the warm-up
      // The previous call's tail lacked right context and this call has it, so hand over to
      // this call early in the overlap: a short crossfade at its start, this call after that.
      if (tail_len > 0)
        wav = crossfade_into(wav, tail_.slice(0, 0, std::min(tail_len, kCrossfadeSamples)));
    }
    const int64_t frames = mel_in.size(2);
    const int64_t cache = std::min(kHiftCacheFrames, frames);
    const int64_t overlap = std::min(kHiftOverlapFrames, cache);
    mel_cache_ = mel_in.slice(2, frames - cache).contiguous();
    // The next call starts `cache` frames before this one's end; its anchor is the last sample
    // of its warm-up, i.e. `overlap` frames before this call's end.
    anchor_sample_ = std::max<int64_t>(0, (cache - overlap) * spf - 1);
    const int64_t here = (frames - cache) * spf + anchor_sample_;
    anchor_cycles_ = h.phase_cycles.slice(2, here, here + 1).contiguous();
    tail_ = at::Tensor();
    if (!plan.last) {
      tail_ = wav.slice(0, wav.size(0) - overlap * spf).contiguous();
      wav = wav.slice(0, 0, wav.size(0) - overlap * spf);
    }
  } else {
    // Decoded alone (the flow saw only the window, finalized); its noise is still indexed by
    // absolute sample. `mel` covers [window_begin, emit_end).
    // overlap-add: the excitation's phase is anchored to the previous chunk's in the middle of
    // the overlap, so the two versions crossfade in phase instead of cancelling; none: the
    // excitation restarts at every chunk, as decoding chunks separately does.
    const bool anchored =
        mode_ == StitchMode::kOverlapAdd && tail_.defined() && anchor_cycles_.defined();
    HiftPhaseAnchor anchor{anchor_sample_, anchor_cycles_};
    HiftOutput h = hift_.inference(mel, hift_random_, 2 * int64_t(plan.window_begin) * spf,
                                   at::Tensor(), anchored ? &anchor : nullptr);
    wav = h.wav[0];
    if (mode_ == StitchMode::kOverlapAdd) {
      // tail_ holds the previous chunk's audio of tokens [window_begin, emit_begin): the same
      // tokens this chunk decoded first.
      if (tail_.defined()) wav = crossfade_into(wav, tail_);
      tail_ = at::Tensor();
      if (!plan.last) {
        const int64_t hold =
            std::min<int64_t>(overlap_tokens_, plan.emit_end - plan.emit_begin) * 2 * spf;
        tail_ = wav.slice(0, wav.size(0) - hold).contiguous();
        wav = wav.slice(0, 0, wav.size(0) - hold);
        anchor_sample_ = hold / 2;
        const int64_t here = h.phase_cycles.size(2) - hold + anchor_sample_;
        anchor_cycles_ = h.phase_cycles.slice(2, here, here + 1).contiguous();
      }
    }
  }
  emit(wav, out);
  return out;
}

std::vector<float> ChunkDecoder::decode_offline(const std::vector<int64_t>& tokens,
                                                const TensorTap& tap) {
  std::vector<float> out;
  if (tokens.empty()) return out;
  at::Tensor mel = flow_mel(tokens, 0, static_cast<int>(tokens.size()), /*finalize=*/true, tap);
  HiftOutput h = hift_.inference(mel, hift_random_, 0);
  emit(h.wav[0], out);
  if (tap) {
    tap("output_mel", -1, mel);
    tap("f0", -1, h.f0);
    tap("output_source", -1, h.source);
  }
  return out;
}

}  // namespace chatterbox
