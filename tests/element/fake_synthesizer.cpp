// The element tests' deterministic synthesizer (see fake_synthesizer.h).
#include "fake_synthesizer.h"

#include <glib.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>

#include "common/error.h"
#include "gstchatterboxttsengine.h"
#include "text/sentence_rules.h"
#include "text/unicode.h"

namespace chatterbox::testing {

namespace {

std::mutex record_mutex;
std::vector<FakeCall> recorded_calls;
std::vector<FakeVoiceRequest> recorded_voices;
std::vector<EngineConfig> recorded_loads;
int recorded_warm_ups = 0;
FakeSynthesizer::ChunkHook chunk_hook;

void run_chunk_hook(int tokens, bool first) {
  FakeSynthesizer::ChunkHook hook;
  {
    std::lock_guard<std::mutex> lock(record_mutex);
    hook = chunk_hook;
  }
  if (hook) hook(tokens, first);
}

class FakeVoice : public Voice {
 public:
  explicit FakeVoice(std::string what) : what_(std::move(what)) {}
  std::string describe() const override { return what_; }

 private:
  std::string what_;
};

class FakeUtterance : public Utterance {
 public:
  FakeUtterance(const std::string& text, const SynthesisParams& params)
      : total_tokens_(FakeSynthesizer::tokens_for(text)),
        first_tokens_(std::max(1, params.first_chunk_tokens)),
        chunk_tokens_(std::max(1, params.chunk_tokens)),
        max_tokens_(params.max_tokens),
        chunk_ms_(text.find("[slow]") != std::string::npos    ? FakeSynthesizer::kSlowChunkMs
                  : text.find("[paced]") != std::string::npos ? FakeSynthesizer::kPacedChunkMs
                                                              : 0),
        fail_(text.find("[fail]") != std::string::npos),
        start_(std::chrono::steady_clock::now()) {
    total_tokens_ = std::min(total_tokens_, max_tokens_);
    stats_.text_tokens = FakeSynthesizer::tokens_for(text);
  }

  bool next(AudioChunk& chunk) override {
    if (cancelled_ || tokens_done_ >= total_tokens_) return false;
    if (fail_ && tokens_done_ > 0)
      throw Error(ErrorKind::kInternal, "fake synthesizer failure on request");
    if (chunk_ms_ > 0) {
      std::unique_lock<std::mutex> lock(mutex_);
      cond_.wait_for(lock, std::chrono::milliseconds(chunk_ms_), [&] { return cancelled_.load(); });
      if (cancelled_) return false;
    }
    int n =
        std::min(tokens_done_ == 0 ? first_tokens_ : chunk_tokens_, total_tokens_ - tokens_done_);
    chunk.samples.resize(size_t(n) * kSamplesPerToken);
    for (float& s : chunk.samples) {
      s = FakeSynthesizer::kAmplitude *
          std::sin(2.0 * M_PI * FakeSynthesizer::kFrequency * double(sample_) / kSampleRate);
      ++sample_;
    }
    run_chunk_hook(n, tokens_done_ == 0);
    tokens_done_ += n;
    chunk.last = tokens_done_ >= total_tokens_;
    stats_.speech_tokens = tokens_done_;
    stats_.audio_samples = sample_;
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    if (tokens_done_ == n) stats_.first_audio_seconds = elapsed;
    stats_.total_seconds = elapsed;
    return true;
  }

  void cancel() override {
    std::lock_guard<std::mutex> lock(mutex_);
    cancelled_ = true;
    cond_.notify_all();
  }

  UtteranceStats stats() const override { return stats_; }

 private:
  int total_tokens_;
  int first_tokens_;
  int chunk_tokens_;
  int max_tokens_;
  int chunk_ms_;  // time each chunk takes
  bool fail_;
  std::chrono::steady_clock::time_point start_;
  int tokens_done_ = 0;
  int64_t sample_ = 0;
  std::atomic<bool> cancelled_{false};
  std::mutex mutex_;
  std::condition_variable cond_;
  UtteranceStats stats_;
};

}  // namespace

int FakeSynthesizer::tokens_for(const std::string& text) {
  return int(g_utf8_strlen(text.c_str(), -1));
}

std::unique_ptr<Utterance> FakeSynthesizer::start(const TextUtterance& utterance,
                                                  const SynthesisParams& params) {
  const std::string& text = utterance.text;
  {
    std::lock_guard<std::mutex> lock(record_mutex);
    recorded_calls.push_back({text, params, params.voice ? params.voice->describe() : ""});
  }
  return std::make_unique<FakeUtterance>(text, params);
}

// The engine's sentence rules without its token cap; pieces are trimmed and carry no ids.
std::vector<TextUtterance> FakeSynthesizer::split(const std::string& text) const {
  const std::u32string s = decode_utf8(text);
  std::vector<TextUtterance> out;
  for (const TextRange& r : sentence_ranges(s))
    out.push_back({encode_utf8(s.substr(r.begin, r.end - r.begin)), {}, {}});
  return out;
}

std::shared_ptr<const Voice> FakeSynthesizer::voice_from_audio(const std::vector<float>& samples,
                                                               int sample_rate) {
  std::lock_guard<std::mutex> lock(record_mutex);
  recorded_voices.push_back({"audio", samples.size(), sample_rate, ""});
  return std::make_shared<FakeVoice>("audio:" + std::to_string(samples.size()) + "@" +
                                     std::to_string(sample_rate));
}

std::shared_ptr<const Voice> FakeSynthesizer::voice_from_file(const std::string& path) {
  std::lock_guard<std::mutex> lock(record_mutex);
  recorded_voices.push_back({"file", 0, 0, path});
  return std::make_shared<FakeVoice>("file:" + path);
}

void FakeSynthesizer::save_voice(const Voice&, const std::string&) {}

void FakeSynthesizer::warm_up() {
  std::lock_guard<std::mutex> lock(record_mutex);
  recorded_warm_ups++;
}

int FakeSynthesizer::warm_ups() {
  std::lock_guard<std::mutex> lock(record_mutex);
  return recorded_warm_ups;
}

void FakeSynthesizer::set_chunk_hook(ChunkHook hook) {
  std::lock_guard<std::mutex> lock(record_mutex);
  chunk_hook = std::move(hook);
}

std::vector<FakeCall> FakeSynthesizer::calls() {
  std::lock_guard<std::mutex> lock(record_mutex);
  return recorded_calls;
}

std::vector<FakeVoiceRequest> FakeSynthesizer::voice_requests() {
  std::lock_guard<std::mutex> lock(record_mutex);
  return recorded_voices;
}

std::vector<EngineConfig> FakeSynthesizer::loads() {
  std::lock_guard<std::mutex> lock(record_mutex);
  return recorded_loads;
}

void FakeSynthesizer::reset() {
  std::lock_guard<std::mutex> lock(record_mutex);
  recorded_calls.clear();
  recorded_voices.clear();
  recorded_loads.clear();
  recorded_warm_ups = 0;
  chunk_hook = nullptr;
}

void FakeSynthesizer::install() {
  gst_chatterbox_tts_set_synthesizer_factory([](const EngineConfig& config) {
    {
      std::lock_guard<std::mutex> lock(record_mutex);
      recorded_loads.push_back(config);
    }
    return std::make_shared<FakeSynthesizer>();
  });
}

}  // namespace chatterbox::testing
