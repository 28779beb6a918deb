// The engine: loads a model directory once, and runs utterances as two stages in parallel:
//
//   start() -> T3 thread: prefill, then one speech token per step ---tokens--->  (bounded)
//   next()  -> S3Gen stage in the caller's thread: as soon as the ChunkPlanner says a chunk is
//              decodable, flow + HiFT on it, stitched by the ChunkDecoder, returned as audio.
//
// Lock order: Utterance::mutex_ only; it is never held across model work, so cancel() from any
// thread takes effect between two T3 steps and before the next S3Gen chunk.
#include "engine.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "common/error.h"
#include "io/conds.h"
#include "model.h"
#include "stream/chunk_decoder.h"
#include "stream/chunk_plan.h"
#include "t3/t3.h"
#include "text/punc_norm.h"
#include "text/splitter.h"
#include "text/tokenizer.h"
#include "voice/voice_builder.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace chatterbox {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

class VoiceImpl : public Voice {
 public:
  VoiceImpl(VoiceConditioning cond, std::string description)
      : cond_(std::move(cond)), description_(std::move(description)) {}
  std::string describe() const override { return description_; }
  const VoiceConditioning& conditioning() const { return cond_; }

 private:
  VoiceConditioning cond_;
  std::string description_;
};

// ---------------------------------------------------------------------------------------------
// One utterance: T3 in its own thread, S3Gen in the caller's.

class StreamingUtterance : public Utterance {
 public:
  StreamingUtterance(std::shared_ptr<const LoadedModel> model, std::vector<int64_t> text_tokens,
                     const SynthesisParams& params)
      : model_(std::move(model)),
        params_(params),
        voice_(std::static_pointer_cast<const VoiceImpl>(params.voice)),
        planner_(schedule_from(params)),
        started_(std::chrono::steady_clock::now()) {
    stats_.text_tokens = static_cast<int>(text_tokens.size());
    const uint64_t seed = params.seed >= 0 ? uint64_t(params.seed) : std::random_device{}() * 0x100000001ull;
    T3SamplingParams sampling;
    sampling.cfg_weight = params.cfg_weight;
    sampling.temperature = params.temperature;
    sampling.top_p = params.top_p;
    sampling.min_p = params.min_p;
    sampling.repetition_penalty = params.repetition_penalty;
    sampling.max_new_tokens = params.max_tokens;
    sampling.seed = seed;
    sampling.validate();
    decoder_ = std::make_unique<ChunkDecoder>(model_->s3gen->flow(), model_->s3gen->hift(), conditioning(),
                                              planner_.schedule(), params.cfm_steps, seed + 1);
    decoder_->set_cancel_flag(&cancel_flag_);
    t3_thread_ = std::thread([this, tokens = std::move(text_tokens), sampling] { run_t3(tokens, sampling); });
  }

  ~StreamingUtterance() override {
    cancel();
    if (t3_thread_.joinable()) t3_thread_.join();
  }

  bool next(AudioChunk& chunk) override {
    c10::InferenceMode inference_mode;
    chunk = AudioChunk();
    while (true) {
      ChunkPlan plan;
      std::vector<int64_t> tokens;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        if (finished_) return false;
        tokens_cv_.wait(lock, [&] {
          return cancelled_ || t3_error_ || t3_done_ || int(tokens_.size()) >= planner_.tokens_needed();
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
  const VoiceConditioning& conditioning() const { return voice_ ? voice_->conditioning() : model_->builtin_voice; }

  static ChunkSchedule schedule_from(const SynthesisParams& params) {
    ChunkSchedule s;
    s.mode = params.stitch_mode;
    s.first_chunk_tokens = params.first_chunk_tokens;
    s.chunk_tokens = params.chunk_tokens;
    s.max_chunk_tokens = params.max_chunk_tokens;
    s.overlap_tokens = params.overlap_tokens;
    return s;
  }

  // The T3 stage. Tokens S3Gen cannot take (start/stop speech, ids >= 6561) are dropped here,
  // as the reference's post-processing does after generation.
  void run_t3(const std::vector<int64_t>& text_tokens, const T3SamplingParams& sampling) {
    c10::InferenceMode inference_mode;
    try {
      T3Session session(model_->t3, conditioning(), params_.exaggeration, text_tokens, sampling);
      const int64_t start_speech = model_->t3->config().start_speech_token;
      const size_t max_ahead = size_t(std::max(1, params_.queue_depth)) *
                               size_t(std::max({params_.first_chunk_tokens, params_.chunk_tokens, params_.max_chunk_tokens}));
      while (!session.finished()) {
        {
          // Back-pressure: stay at most queue_depth chunks ahead of S3Gen. While the first chunk
          // is being vocoded, T3 waits: on a CPU the two stages share the cores and the memory
          // bus (a decode step streams all 2 GB of T3 weights), and the first audio matters more
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
        const int64_t token = session.step();
        std::lock_guard<std::mutex> lock(mutex_);
        stats_.t3_busy_seconds += seconds_since(t0);
        if (token < start_speech) {
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
    std::lock_guard<std::mutex> lock(mutex_);
    t3_done_ = true;
    tokens_cv_.notify_all();
  }

  std::shared_ptr<const LoadedModel> model_;
  SynthesisParams params_;
  std::shared_ptr<const VoiceImpl> voice_;  // null: the model's built-in voice
  std::unique_ptr<ChunkDecoder> decoder_;  // used by the S3Gen stage only
  std::chrono::steady_clock::time_point started_;
  std::thread t3_thread_;
  std::atomic<bool> cancel_flag_{false};  // read by the S3Gen stage inside model calls

  mutable std::mutex mutex_;  // protects everything below
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

// ---------------------------------------------------------------------------------------------

class EngineImpl : public Engine {
 public:
  explicit EngineImpl(std::shared_ptr<const LoadedModel> model) : model_(std::move(model)) {}

  std::unique_ptr<Utterance> start(const std::string& text, const SynthesisParams& params) override {
    std::vector<int64_t> text_tokens = model_->tokenizer.encode_for_t3(punc_norm(text));
    const int64_t max_text = model_->t3->config().max_text_tokens + 2;
    if (int64_t(text_tokens.size()) > max_text)
      throw Error(ErrorKind::kInvalidInput, "text of " + std::to_string(text_tokens.size()) +
                                                " tokens is longer than T3 can take (" + std::to_string(max_text) +
                                                "); split it first");
    try {
      return std::make_unique<StreamingUtterance>(model_, std::move(text_tokens), params);
    } catch (...) {
      rethrow_as_engine_error("starting an utterance");
    }
  }

  std::vector<std::string> split(const std::string& text) const override {
    return split_utterances(text, model_->tokenizer, int(model_->t3->config().max_text_tokens));
  }

  std::string describe() const override {
    return model_->files.dir + " on " + model_->device.str();
  }

  std::shared_ptr<const Voice> voice_from_audio(const std::vector<float>& samples, int sample_rate) override {
    // The conditioning depends on the audio and on the model's voice networks: key the caches
    // by both.
    const std::string key = voice_cache_key(samples, sample_rate);
    {
      std::lock_guard<std::mutex> lock(voice_mutex_);
      auto it = voices_.find(key);
      if (it != voices_.end()) return it->second;
    }
    const std::string cache_dir = voice_cache_dir();
    const std::string disk_path = cache_dir.empty() ? "" : cache_dir + "/" + key + ".pt";
    std::shared_ptr<const VoiceImpl> voice;
    if (!disk_path.empty() && ::access(disk_path.c_str(), R_OK) == 0) {
      try {
        voice = std::make_shared<const VoiceImpl>(load_conds(disk_path, model_->options),
                                                  "cloned voice (cached " + disk_path + ")");
      } catch (const Error&) {
        voice.reset();  // a corrupt cache entry: rebuild it below
      }
    }
    if (!voice) {
      try {
        c10::InferenceMode inference_mode;
        VoiceConditioning cond = voice_builder().build(samples, sample_rate, SynthesisParams().exaggeration);
        voice = std::make_shared<const VoiceImpl>(std::move(cond), "cloned voice");
      } catch (...) {
        rethrow_as_engine_error("building the voice conditioning");
      }
      if (!disk_path.empty()) {
        try {
          ::mkdir(cache_dir.c_str(), 0755);
          const std::string tmp = disk_path + ".tmp" + std::to_string(::getpid());
          save_conds(voice->conditioning(), tmp);
          std::rename(tmp.c_str(), disk_path.c_str());  // atomic: readers never see half a file
        } catch (const Error&) {
          // The disk cache is an optimisation; a read-only home directory must not fail synthesis.
        }
      }
    }
    std::lock_guard<std::mutex> lock(voice_mutex_);
    voices_[key] = voice;
    return voice;
  }

  std::shared_ptr<const Voice> voice_from_file(const std::string& path) override {
    try {
      return std::make_shared<const VoiceImpl>(load_conds(path, model_->options), "conditioning " + path);
    } catch (...) {
      rethrow_as_engine_error("loading voice " + path);
    }
  }

  void save_voice(const Voice& voice, const std::string& path) override {
    save_conds(dynamic_cast<const VoiceImpl&>(voice).conditioning(), path);
  }

 private:
  // The voice networks (VoiceEncoder, CAMPPlus, S3Tokenizer) load on first use: most
  // pipelines never clone a voice.
  const VoiceBuilder& voice_builder() {
    std::lock_guard<std::mutex> lock(voice_mutex_);
    if (!voice_builder_) {
      voice_builder_ = VoiceBuilder::load(
          model_->files.ve, model_->files.s3gen,
          VoiceBuilderConfig::from_json(model_->files.ve_config, model_->files.s3gen_config, model_->files.t3_config),
          model_->options);
    }
    return *voice_builder_;
  }

  // FNV-1a over the samples, the rate and the model files' identity (path, size, mtime).
  std::string voice_cache_key(const std::vector<float>& samples, int sample_rate) const {
    uint64_t h = 1469598103934665603ull;
    auto mix = [&h](const void* data, size_t n) {
      const auto* p = static_cast<const unsigned char*>(data);
      for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
    };
    mix(samples.data(), samples.size() * sizeof(float));
    mix(&sample_rate, sizeof(sample_rate));
    for (const std::string& file : {model_->files.ve, model_->files.s3gen}) {
      struct stat st {};
      ::stat(file.c_str(), &st);
      mix(file.data(), file.size());
      mix(&st.st_size, sizeof(st.st_size));
      mix(&st.st_mtime, sizeof(st.st_mtime));
    }
    char hex[17];
    std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(h));
    return hex;
  }

  // $CHATTERBOX_VOICE_CACHE, else $XDG_CACHE_HOME/gst-chatterbox/voices, else
  // ~/.cache/gst-chatterbox/voices; empty (no disk cache) when none can be made.
  static std::string voice_cache_dir() {
    if (const char* dir = std::getenv("CHATTERBOX_VOICE_CACHE")) return dir;
    std::string base;
    if (const char* xdg = std::getenv("XDG_CACHE_HOME")) base = xdg;
    else if (const char* home = std::getenv("HOME")) base = std::string(home) + "/.cache";
    if (base.empty()) return "";
    ::mkdir(base.c_str(), 0755);
    ::mkdir((base + "/gst-chatterbox").c_str(), 0755);
    return base + "/gst-chatterbox/voices";
  }

  std::shared_ptr<const LoadedModel> model_;
  std::mutex voice_mutex_;  // protects the two members below
  std::shared_ptr<const VoiceBuilder> voice_builder_;
  std::map<std::string, std::shared_ptr<const VoiceImpl>> voices_;
};

}  // namespace

std::shared_ptr<Engine> Engine::load(const EngineConfig& config) {
  // One loaded model per (directory, device), shared by every element that asks for it; kept
  // only as long as someone uses it.
  static std::mutex mutex;
  static std::map<std::pair<std::string, std::string>, std::weak_ptr<Engine>> loaded;
  const auto key = std::make_pair(config.model_dir, config.device);
  std::lock_guard<std::mutex> lock(mutex);
  if (auto engine = loaded[key].lock()) return engine;
  auto engine = std::make_shared<EngineImpl>(load_model(config));
  loaded[key] = engine;
  return engine;
}

std::vector<std::string> Engine::model_search_path() { return chatterbox::model_search_path(); }

}  // namespace chatterbox
