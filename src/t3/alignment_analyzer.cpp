// AlignmentStreamAnalyzer (see alignment_analyzer.h). The matrix work uses the same float32
// tensor reductions as the reference so that thresholds compare the same numbers.
#include "t3/alignment_analyzer.h"

#include <algorithm>

#include "common/error.h"

namespace chatterbox {

constexpr std::array<std::pair<int64_t, int64_t>, 3> AlignmentStreamAnalyzer::kAlignedHeads;

AlignmentStreamAnalyzer::AlignmentStreamAnalyzer(int64_t text_begin, int64_t text_end,
                                                 int64_t eos_token, int64_t expected_frames)
    : begin_(text_begin), end_(text_end), eos_(eos_token) {
  if (text_begin < 0 || text_end <= text_begin)
    throw Error(ErrorKind::kInternal, "alignment analyzer: empty text slice");
  alignment_ =
      at::zeros({std::max<int64_t>(expected_frames, 8), text_end - text_begin}, at::kFloat);
}

AlignmentStepResult AlignmentStreamAnalyzer::step(const std::vector<at::Tensor>& maps,
                                                  at::Tensor& logits, int64_t last_token) {
  if (maps.size() != kAlignedHeads.size())
    throw Error(ErrorKind::kInternal, "alignment analyzer: expected " +
                                          std::to_string(kAlignedHeads.size()) + " attention maps");
  const int64_t S = end_ - begin_;
  // The three heads' attention, averaged: [T, total] (T: prefill length, then 1).
  at::Tensor aligned = at::stack(maps, 0).to(at::kCPU, at::kFloat).mean(0);
  if (aligned.size(1) < end_)
    throw Error(ErrorKind::kInternal, "alignment analyzer: attention shorter than the text");
  // The first step reads the rows after the text (the start-of-speech positions), later ones
  // their single row; columns = text tokens.
  at::Tensor chunk = frame_ == 0 ? aligned.narrow(0, end_, aligned.size(0) - end_) : aligned;
  chunk = chunk.narrow(1, begin_, S).clone();  // [n, S]
  // Monotonic mask: no text column beyond the frame index.
  if (frame_ + 1 < S) chunk.narrow(1, frame_ + 1, S - frame_ - 1).zero_();
  const int64_t n = chunk.size(0);
  if (n < 1)
    throw Error(ErrorKind::kInternal, "alignment analyzer: no attention row after the text");
  if (rows_ + n > alignment_.size(0)) {
    at::Tensor grown = at::zeros({std::max(2 * alignment_.size(0), rows_ + n), S}, at::kFloat);
    grown.narrow(0, 0, rows_).copy_(alignment_.narrow(0, 0, rows_));
    alignment_ = grown;
  }
  alignment_.narrow(0, rows_, n).copy_(chunk);
  rows_ += n;
  const at::Tensor A = alignment_.narrow(0, 0, rows_);  // [T, S]
  const int64_t T = rows_;

  AlignmentStepResult r;
  r.last_token = last_token;
  r.cur_text_posn = chunk[n - 1].argmax().item<int64_t>();
  const int64_t move = r.cur_text_posn - text_position_;
  r.discontinuity = !(-4 < move && move < 7);
  if (!r.discontinuity) text_position_ = r.cur_text_posn;

  // Hallucinated starts attend to the end of the text: wait until the last two frames leave the
  // last two tokens alone and some frame attends strongly to the first four.
  if (!started_) {
    const int64_t last = std::min<int64_t>(2, T), cols = std::min<int64_t>(2, S),
                  first = std::min<int64_t>(4, S);
    const float tail_max =
        A.narrow(0, T - last, last).narrow(1, S - cols, cols).max().item<float>();
    const float head_max = A.narrow(1, 0, first).max().item<float>();
    r.false_start = tail_max > 0.1f || head_max < 0.5f;
  }
  started_ = !r.false_start;
  if (started_ && started_at_ < 0) started_at_ = T;

  complete_ = complete_ || text_position_ >= S - 3;
  if (complete_ && completed_at_ < 0) completed_at_ = T;

  if (complete_) {
    const at::Tensor since =
        A.narrow(0, completed_at_, T - completed_at_);  // frames after completion
    const int64_t last3 = std::min<int64_t>(3, S);
    // The last tokens held too long (5 frames' worth of attention mass: 200 ms).
    r.long_tail = since.narrow(1, S - last3, last3).sum(0).max().item<float>() >= 5.0f;
    // Attention back on earlier text after completion. (The reference fails on S <= 5 here,
    // where no such column exists; that counts as no repetition.)
    if (since.size(0) > 0 && S > 5)
      r.alignment_repetition =
          std::get<0>(since.narrow(1, 0, S - 5).max(1)).sum().item<float>() > 5.0f;
  }

  recent_tokens_.push_back(last_token);
  if (recent_tokens_.size() > 8) recent_tokens_.erase(recent_tokens_.begin());
  const size_t k = recent_tokens_.size();
  r.token_repetition = k >= 3 && recent_tokens_[k - 1] == recent_tokens_[k - 2];

  at::Tensor eos = logits.narrow(-1, eos_, 1);
  if (r.cur_text_posn < S - 3 && S > 5) {
    eos.fill_(kSuppressedLogit);
    r.eos_suppressed = true;
  }
  if (r.long_tail || r.alignment_repetition || r.token_repetition) {
    logits.fill_(kSuppressedLogit);
    eos.fill_(kForcedLogit);
    r.forced_eos = true;
  }
  ++frame_;
  r.text_position = text_position_;
  r.started = started_;
  r.complete = complete_;
  return r;
}

}  // namespace chatterbox
