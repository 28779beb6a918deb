#include "engine/streaming_utterance.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>

#include "common/error.h"
#include "engine/blas_threads.h"
#include "engine/conditioned_voice.h"
#include "stream/chunk_decoder.h"
#include "stream/chunk_plan.h"

namespace chatterbox {
namespace {

// Sets the calling thread's intra-op thread count for a scope and restores it after (libtorch's
// OpenMP build keeps the count per thread). 0 leaves it alone.
class ScopedIntraOpThreads {
 public:
  explicit ScopedIntraOpThreads(int threads) {
    if (threads <= 0) return;
    previous_ = at::get_num_threads();
    if (threads != previous_) at::set_num_threads(threads);
  }
  ~ScopedIntraOpThreads() {
    if (previous_ > 0 && at::get_num_threads() != previous_) at::set_num_threads(previous_);
  }
  ScopedIntraOpThreads(const ScopedIntraOpThreads&) = delete;
  ScopedIntraOpThreads& operator=(const ScopedIntraOpThreads&) = delete;

 private:
  int previous_ = 0;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

class StreamingUtterance : public Utterance {
 public:
  StreamingUtterance(std::shared_ptr<const LoadedModel> model,
                     const std::vector<int64_t>& text_tokens, const SynthesisParams& params)
      : model_(std::move(model)),
        params_(params.resolve_for(model_->variant())),
        voice_(std::static_pointer_cast<const ConditionedVoice>(params.voice)),
        started_(std::chrono::steady_clock::now()),
        threads_(stage_threads(params_.threads)),
        single_threaded_blas_(std::max(threads_.t3, threads_.s3gen) > 1 ||
                              (params_.threads <= 0 && at::get_num_threads() > 1)),
        planner_(ChunkSchedule(params_)) {
    c10::InferenceMode inference_mode;
    if (!voice_ && !model_->has_builtin_voice())
      throw Error(ErrorKind::kInvalidInput,
                  model_->files.dir + " has no built-in voice (conds.pt): give a voice to clone");
    stats_.text_tokens = static_cast<int>(text_tokens.size());
    const uint64_t seed =
        params_.seed >= 0 ? uint64_t(params_.seed) : std::random_device{}() * 0x100000001ull;
    // Built here so that invalid settings fail start(), not the first next().
    session_ = model_->start_t3(conditioning(), text_tokens, params_, seed);
    decoder_ =
        std::make_unique<ChunkDecoder>(model_->s3gen->flow(), model_->s3gen->hift(), conditioning(),
                                       planner_.schedule(), params_.cfm_steps, seed + 1);
    decoder_->set_cancel_flag(&cancel_flag_);
    t3_thread_ = std::thread([this] { run_t3(); });
  }

  ~StreamingUtterance() override {
    cancel();
    if (t3_thread_.joinable()) t3_thread_.join();
  }

  bool next(AudioChunk& chunk) override {
    c10::InferenceMode inference_mode;
    ScopedIntraOpThreads threads(threads_.s3gen);
    chunk = AudioChunk();
    while (true) {
      ChunkPlan plan;
      std::vector<int64_t> tokens;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        if (finished_) return false;
        tokens_cv_.wait(lock, [&] {
          return cancelled_ || t3_error_ || t3_done_ ||
                 int(tokens_.size()) >= planner_.tokens_needed();
        });
        if (cancelled_) return false;
        if (t3_error_) std::rethrow_exception(t3_error_);
        if (!planner_.next(int(tokens_.size()), t3_done_, plan)) continue;
        tokens = tokens_;  // a snapshot: T3 keeps appending meanwhile
        first_chunk_in_flight_ = stats_.first_audio_seconds == 0 && !plan.last;
      }
      space_cv_.notify_all();  // the planner consumed tokens: T3 may go on
      const auto t0 = std::chrono::steady_clock::now();
      try {
        chunk.samples = decoder_->decode(plan, tokens);
      } catch (const Error& e) {
        if (e.kind() == ErrorKind::kCancelled) return false;
        throw;
      } catch (...) {
        rethrow_as_engine_error("S3Gen");
      }
      chunk.last = plan.last;
      std::lock_guard<std::mutex> lock(mutex_);
      if (first_chunk_in_flight_) {
        first_chunk_in_flight_ = false;
        space_cv_.notify_all();
      }
      stats_.s3gen_busy_seconds += seconds_since(t0);
      stats_.audio_samples += int64_t(chunk.samples.size());
      if (plan.last) {
        finished_ = true;
        stats_.total_seconds = seconds_since(started_);
      }
      if (!chunk.samples.empty() && stats_.first_audio_seconds == 0)
        stats_.first_audio_seconds = seconds_since(started_);
      if (!chunk.samples.empty() || chunk.last) return true;
    }
  }

  void cancel() override {
    cancel_flag_ = true;  // reaches a flow call in progress
    std::lock_guard<std::mutex> lock(mutex_);
    cancelled_ = true;
    tokens_cv_.notify_all();
    space_cv_.notify_all();
  }

  UtteranceStats stats() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

 private:
  const VoiceConditioning& conditioning() const {
    return voice_ ? voice_->conditioning() : model_->builtin_voice;
  }

  // The T3 stage. Tokens S3Gen cannot take (start/stop speech, ids >= 6561) are dropped here,
  // as the reference's post-processing does after generation; at the end, the variant's
  // end-of-utterance tokens (Turbo's silence) are appended for S3Gen, as its generate() does.
  void run_t3() {
    c10::InferenceMode inference_mode;
    ScopedIntraOpThreads threads(threads_.t3);
    try {
      const int64_t start_speech = model_->start_speech_token();
      const size_t max_ahead = size_t(std::max(1, params_.queue_depth)) *
                               size_t(std::max({params_.first_chunk_tokens, params_.chunk_tokens,
                                                params_.max_chunk_tokens}));
      while (!session_->finished()) {
        {
          // Back-pressure: stay at most queue_depth chunks ahead of S3Gen. While the first chunk
          // is being vocoded, T3 waits: on a CPU the two stages share the cores and the memory
          // bus (a decode step streams all of T3's weights), and the first audio matters more
          // than the tokens of the second chunk, which T3 makes in a fraction of a chunk's S3Gen
          // time.
          std::unique_lock<std::mutex> lock(mutex_);
          space_cv_.wait(lock, [&] {
            return cancelled_ || (!first_chunk_in_flight_ &&
                                  tokens_.size() < size_t(planner_.emitted_tokens()) + max_ahead);
          });
          if (cancelled_) return;
        }
        const auto t0 = std::chrono::steady_clock::now();
        const int64_t token = session_->step();  // -1: ended without a token
        std::lock_guard<std::mutex> lock(mutex_);
        stats_.t3_busy_seconds += seconds_since(t0);
        if (token >= 0 && token < start_speech) {
          tokens_.push_back(token);
          stats_.speech_tokens++;
          tokens_cv_.notify_all();
        }
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      try {
        rethrow_as_engine_error("T3");
      } catch (...) {
        t3_error_ = std::current_exception();
      }
      tokens_cv_.notify_all();
      return;
    }
    const std::vector<int64_t> tail = model_->end_of_utterance_tokens();
    std::lock_guard<std::mutex> lock(mutex_);
    tokens_.insert(tokens_.end(), tail.begin(), tail.end());
    t3_done_ = true;
    tokens_cv_.notify_all();
  }

  std::shared_ptr<const LoadedModel> model_;
  SynthesisParams params_;
  std::shared_ptr<const ConditionedVoice> voice_;  // null: the model's built-in voice
  std::unique_ptr<SpeechTokenSession> session_;  // used by the T3 thread only (after construction)
  std::unique_ptr<ChunkDecoder> decoder_;        // used by the S3Gen stage only
  std::chrono::steady_clock::time_point started_;
  StageThreads threads_;
  // Held from before the T3 thread starts until after it is joined: with more than one intra-op
  // thread in a stage, OpenBLAS's own pool would oversubscribe the cores (engine/blas_threads.h).
  ScopedSingleThreadedBlas single_threaded_blas_;
  std::thread t3_thread_;
  std::atomic<bool> cancel_flag_{false};  // read by the S3Gen stage inside model calls

  mutable std::mutex mutex_;           // protects everything below
  std::condition_variable tokens_cv_;  // T3 -> S3Gen: tokens appended, done, error, cancel
  std::condition_variable space_cv_;   // S3Gen -> T3: chunk planned, cancel
  ChunkPlanner planner_;
  std::vector<int64_t> tokens_;  // generated speech tokens (< 6561)
  bool t3_done_ = false;
  bool cancelled_ = false;
  bool finished_ = false;
  bool first_chunk_in_flight_ = false;  // S3Gen is making the first audio: T3 holds off
  std::exception_ptr t3_error_;
  UtteranceStats stats_;
};

}  // namespace

StageThreads stage_threads(int total) {
  if (total <= 0) return {};
  return {std::max(1, total / 2), std::max(1, total - total / 2)};
}

std::unique_ptr<Utterance> start_streaming_utterance(std::shared_ptr<const LoadedModel> model,
                                                     std::vector<int64_t> text_tokens,
                                                     const SynthesisParams& params) {
  return std::make_unique<StreamingUtterance>(std::move(model), text_tokens, params);
}

}  // namespace chatterbox
