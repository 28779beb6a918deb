// A deterministic stand-in for chatterbox::Engine used by the element tests, so they need no
// model. It speaks one 40 ms token (960 samples at 24 kHz) per Unicode character of the text,
// as a 440 Hz sine at amplitude 0.5, in chunks of first_chunk_tokens then chunk_tokens, and
// records every call so tests can check what the element asked for.
//
// Requests written into the text:
//   "[slow]"  each chunk takes 1 s (interruptible by cancel(), to test flushing);
//   "[paced]" each chunk takes 5 ms (interruptible), so storms land mid-sentence;
//   "[fail]"  next() throws chatterbox::Error after the first chunk (error path).
// A chunk hook, when set, runs before next() returns each chunk: tests advance a GstTestClock
// there to give each chunk a simulated compute time without any real waiting.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine.h"

namespace chatterbox::testing {

struct FakeCall {
  std::string text;
  SynthesisParams params;
  std::string voice;  // describe() of params.voice, "" for the built-in voice
};

struct FakeVoiceRequest {
  std::string kind;  // "audio" or "file"
  size_t samples = 0;
  int sample_rate = 0;
  std::string path;
};

class FakeSynthesizer : public Synthesizer {
 public:
  static constexpr int kSlowChunkMs = 1000;
  static constexpr int kPacedChunkMs = 5;
  static constexpr float kAmplitude = 0.5f;
  static constexpr float kFrequency = 440.0f;

  using Synthesizer::start;
  std::unique_ptr<Utterance> start(const TextUtterance& text,
                                   const SynthesisParams& params) override;
  std::vector<TextUtterance> split(const std::string& text) const override;
  std::string describe() const override { return "fake synthesizer"; }
  std::shared_ptr<const Voice> voice_from_audio(const std::vector<float>& samples,
                                                int sample_rate) override;
  std::shared_ptr<const Voice> voice_from_file(const std::string& path) override;
  void save_voice(const Voice& voice, const std::string& path) override;
  void warm_up() override;

  // Everything recorded since the last reset(), across all fake instances.
  static std::vector<FakeCall> calls();
  static std::vector<FakeVoiceRequest> voice_requests();
  static std::vector<EngineConfig> loads();
  static int warm_ups();
  // Called with the chunk's token count and whether it is the utterance's first chunk, in the
  // thread calling next(). Cleared by reset().
  using ChunkHook = std::function<void(int tokens, bool first)>;
  static void set_chunk_hook(ChunkHook hook);
  static void reset();
  // Installs the fake as the element's synthesizer factory (and records each load).
  static void install();

  // Tokens (and so 960-sample blocks) the fake makes for `text`.
  static int tokens_for(const std::string& text);
};

}  // namespace chatterbox::testing
