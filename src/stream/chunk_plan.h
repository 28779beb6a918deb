// Which speech tokens each streamed S3Gen chunk decodes, and which of its mel frames it emits.
// Pure arithmetic (no torch), so the schedule is unit-tested on its own.
//
// Token indices count generated speech tokens from 0 (the voice prompt is not counted); mel
// frame f of the generated part belongs to token f / 2.
//
//   context      flow on [prompt | tokens[window_begin, decode_end)] with finalize=false (the
//                last 3 look-ahead tokens' 6 frames dropped), or finalize=true on the last
//                chunk; emit generated frames [2*emit_begin, 2*emit_end).
//   overlap-add  each chunk decoded alone on [emit_begin - overlap, emit_end) and finalized;
//                the first `overlap` tokens' audio crossfades with the previous chunk's tail.
//   none         each chunk decoded alone on [emit_begin, emit_end), concatenated.
#pragma once

#include <algorithm>

#include "common/synthesis_settings.h"

namespace chatterbox {

// The utterance's chunk settings (declared in common/synthesis_settings.h) and what the model
// fixes.
struct ChunkSchedule : ChunkSettings {
  ChunkSchedule() = default;
  explicit ChunkSchedule(const ChunkSettings& settings) : ChunkSettings(settings) {}
  int lookahead_tokens = 3;      // the flow encoder's pre-lookahead layer
  int left_context_tokens = 50;  // context mode: tokens re-decoded before the chunk (bounds cost)
};

struct ChunkPlan {
  int window_begin = 0;  // first token given to the flow
  int decode_end = 0;    // one past the last token given to the flow
  int emit_begin = 0;    // tokens whose audio this chunk emits: [emit_begin, emit_end)
  int emit_end = 0;
  bool finalize = false;  // flow sees the true end of the utterance
  bool last = false;      // no chunk follows
};

class ChunkPlanner {
 public:
  explicit ChunkPlanner(const ChunkSchedule& schedule) : s_(schedule) {
    // An overlap longer than a chunk would reach back past the audio the decoder holds back.
    s_.overlap_tokens =
        std::max(0, std::min({s_.overlap_tokens, s_.first_chunk_tokens, s_.chunk_tokens}));
  }
  const ChunkSchedule& schedule() const { return s_; }

  // Tokens that must exist before the next non-final chunk can be decoded.
  int tokens_needed() const {
    int hop = next_hop();
    return emitted_ + hop + (s_.stitch_mode == StitchMode::kContext ? s_.lookahead_tokens : 0);
  }

  // The next chunk given `available` generated tokens, `done` when T3 has finished. Returns
  // false when no chunk can be decoded yet (or nothing is left after the end).
  bool next(int available, bool done, ChunkPlan& plan) {
    if (finished_) return false;
    const int hop = next_hop();
    if (!done && available < tokens_needed()) return false;
    plan = ChunkPlan();
    plan.emit_begin = emitted_;
    // Finish in this chunk when T3 is done and what is left fits a chunk and a half: a tiny
    // final chunk would cost a whole flow pass for a few tokens.
    const bool last = done && available - emitted_ <= hop + hop / 2;
    plan.emit_end = last ? available : emitted_ + hop;
    if (last && plan.emit_end <= plan.emit_begin) {
      finished_ = true;
      plan.last = true;
      plan.finalize = true;
      plan.window_begin = plan.decode_end = plan.emit_begin;
      return true;  // an empty final chunk: flush the held-back audio tail
    }
    switch (s_.stitch_mode) {
      case StitchMode::kContext:
        plan.window_begin = std::max(0, emitted_ - s_.left_context_tokens);
        plan.decode_end =
            last ? available : std::min(available, plan.emit_end + s_.lookahead_tokens);
        // Once T3 is done, a window that reaches its last token sees the true end: finalize it.
        // (Not finalized, the flow would drop the look-ahead frames, which here belong to
        // emitted tokens when fewer than lookahead_tokens follow them.)
        plan.finalize = last || (done && plan.decode_end == available);
        break;
      case StitchMode::kOverlapAdd:
        plan.window_begin = std::max(0, emitted_ - s_.overlap_tokens);
        plan.decode_end = plan.emit_end;
        plan.finalize = true;
        break;
      case StitchMode::kNone:
        plan.window_begin = emitted_;
        plan.decode_end = plan.emit_end;
        plan.finalize = true;
        break;
    }
    plan.last = last;
    emitted_ = plan.emit_end;
    chunks_++;
    finished_ = last;
    return true;
  }

  int emitted_tokens() const { return emitted_; }
  bool finished() const { return finished_; }

 private:
  int next_hop() const {
    if (chunks_ == 0) return std::max(1, s_.first_chunk_tokens);
    int hop = std::max(1, s_.chunk_tokens);
    for (int i = 1; i < chunks_ && hop < s_.max_chunk_tokens; ++i) hop *= 2;
    return std::max(1, std::min(hop, std::max(s_.chunk_tokens, s_.max_chunk_tokens)));
  }

  ChunkSchedule s_;
  int emitted_ = 0;
  int chunks_ = 0;
  bool finished_ = false;
};

}  // namespace chatterbox
