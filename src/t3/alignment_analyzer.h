// Generation control of the multilingual T3: ports AlignmentStreamAnalyzer
// (chatterbox/models/t3/inference/alignment_stream_analyzer.py, chatterbox-tts 0.1.7).
//
// Three attention heads of the Llama backbone align speech frames with text tokens. Each decode
// step the analyzer appends the averaged attention of the current frame over the text tokens to
// an alignment matrix [frames, S], tracks where in the text speech is, and edits the CFG logits
// in place: it suppresses end-of-speech while the text is not yet read, and forces
// end-of-speech on a long tail after the text, on attention jumping back after completion, and
// on a token passed in twice in a row. One analyzer per utterance (it is the session's state).
#pragma once

#include <ATen/ATen.h>

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

namespace chatterbox {

// What one step saw and did: the analyzer's state after the step and the reference's local
// flags, for tests and logs.
struct AlignmentStepResult {
  int64_t last_token = 0;     // the token passed in
  int64_t cur_text_posn = 0;  // argmax of this frame's alignment row
  int64_t text_position = 0;  // smoothed position (not moved on a discontinuity)
  bool false_start = false;
  bool started = false;
  bool complete = false;       // sticky: text_position reached S - 3
  bool discontinuity = false;  // the position moved outside (-4, 7)
  bool long_tail = false;
  bool alignment_repetition = false;
  bool token_repetition = false;
  bool eos_suppressed = false;  // logit[eos] := -32768
  bool forced_eos = false;      // every logit := -32768, logit[eos] := +32768
};

class AlignmentStreamAnalyzer {
 public:
  // The (layer, head) pairs whose attention is averaged (LLAMA_ALIGNED_HEADS): the backbone
  // needs at least 14 layers and 16 heads.
  static constexpr std::array<std::pair<int64_t, int64_t>, 3> kAlignedHeads = {
      {{12, 15}, {13, 11}, {9, 2}}};
  static constexpr float kSuppressedLogit = -32768.0f;  // -2**15
  static constexpr float kForcedLogit = 32768.0f;

  // Text tokens sit at positions [text_begin, text_end) of the prefill (after the conditioning);
  // expected_frames sizes the alignment buffer (it grows beyond when needed).
  AlignmentStreamAnalyzer(int64_t text_begin, int64_t text_end, int64_t eos_token,
                          int64_t expected_frames = 0);

  // One decode step. maps: the attention of kAlignedHeads (batch row 0) in the forward that
  // produced `logits`: the prefill's [P, P] at the first step, then [1, P + k]. logits: the CFG
  // logits [1, V] (float, CPU), edited in place. last_token: the last token fed to the backbone
  // (the start-of-speech token at the first step).
  AlignmentStepResult step(const std::vector<at::Tensor>& maps, at::Tensor& logits,
                           int64_t last_token);

  int64_t text_begin() const { return begin_; }
  int64_t text_end() const { return end_; }
  at::Tensor alignment() const { return alignment_.narrow(0, 0, rows_); }  // [frames, S]
  int64_t started_at() const { return started_at_; }  // alignment rows when it started, -1: not yet
  int64_t completed_at() const {
    return completed_at_;
  }  // alignment rows at completion, -1: not yet

 private:
  int64_t begin_, end_, eos_;
  at::Tensor alignment_;  // [capacity, S]; rows [0, rows_) are filled
  int64_t rows_ = 0;
  int64_t frame_ = 0;  // curr_frame_pos
  int64_t text_position_ = 0;
  bool started_ = false;
  bool complete_ = false;
  int64_t started_at_ = -1;
  int64_t completed_at_ = -1;
  std::vector<int64_t> recent_tokens_;  // the last 8 tokens passed in
};

}  // namespace chatterbox
