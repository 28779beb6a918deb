// The engine API that the GStreamer element (and the tools) drive. Pure C++17: no torch and no
// GStreamer headers, so gst/ compiles fast and the engine can be tested alone.
//
//   auto engine = chatterbox::Engine::load({"/path/to/model", "auto"});   // once, shared
//   auto utt = engine->start(text, params);                                 // per utterance
//   chatterbox::AudioChunk chunk;
//   while (utt->next(chunk)) play(chunk.samples);                           // 24 kHz mono float
//   utt->cancel();                                                          // from any thread
//
// Dimension letters used in shape comments throughout src/:
//   B batch (2 rows under classifier-free guidance), T tokens, D model width, H heads,
//   F mel frames (50 per second), S audio samples (24 kHz), C channels.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/audio_format.h"
#include "common/model_variant.h"
#include "common/synthesis_settings.h"
#include "common/text_utterance.h"

namespace chatterbox {

struct EngineConfig {
  std::string model_dir;        // empty: $CHATTERBOX_MODEL_DIR, then the Hugging Face cache
  std::string device = "auto";  // auto | cpu | cuda | cuda:N
  // How T3's matrices are stored for decoding: fp32 (exact), bf16 (half the bytes a token step
  // reads) or int8 (a quarter, with a scale per row; arithmetic stays fp32). See
  // docs/benchmarks.md for speed and measured effect.
  std::string t3_precision = "fp32";
};

// A speaker to clone: the conditioning computed from a reference recording (or read from a
// saved conditioning file). Opaque and immutable; share it between utterances.
class Voice {
 public:
  virtual ~Voice() = default;
  virtual std::string describe() const = 0;
};

// Per-utterance settings: every synthesis setting with its default, the element's properties
// take their defaults from here. The sampling and chunking settings are declared in
// common/synthesis_settings.h (the T3 samplers and the chunk planner read them too). Defaults
// are the original generate() defaults; where the English and Turbo models differ, the field
// holds a "model default" value that the engine resolves for the loaded model (resolve_for()).
struct SynthesisParams : SamplingSettings, ChunkSettings {
  std::shared_ptr<const Voice> voice;  // null: the model's built-in voice (conds.pt)
  float exaggeration = 0.5f;           // English only: emotion intensity
  int64_t seed = -1;                   // -1: random
  // ISO 639-1 code of the text's language. The multilingual model speaks 23 (see
  // multilingual_languages() in text/mtl_tokenizer.h); English and Turbo only "en" and reject
  // another with Error(kInvalidInput).
  std::string language = "en";
  int max_tokens = 1000;  // speech tokens per utterance
  int cfm_steps = 0;      // flow-matching steps; 0: the model's (English 10, Turbo 2)
  int queue_depth = 4;    // chunks buffered between the T3 and S3Gen stages
  // Intra-op threads for the utterance's two stages together (0: libtorch's default in each):
  // T3 gets total / 2, S3Gen the rest, each at least one, so that the stages running side by
  // side never use more than `threads` cores (see stage_threads()).
  int threads = 0;

  // A copy with every "model default" replaced by `variant`'s value.
  SynthesisParams resolve_for(ModelVariant variant) const;
  // The settings `variant` does not use that differ from their defaults, by field name
  // (e.g. "cfg_weight"): hosts warn about them rather than ignore them silently.
  std::vector<std::string> ignored_by(ModelVariant variant) const;
};

struct AudioChunk {
  std::vector<float> samples;  // [S] 24 kHz mono
  bool last = false;           // the utterance ends with this chunk
};

// What one utterance cost; filled as it runs, complete after the last chunk.
struct UtteranceStats {
  int text_tokens = 0;
  int speech_tokens = 0;
  int64_t audio_samples = 0;
  double first_audio_seconds = 0;  // start() to the first chunk ready
  double total_seconds = 0;        // start() to the last chunk ready
  double t3_busy_seconds = 0;
  double s3gen_busy_seconds = 0;
  double real_time_factor() const {
    return audio_samples > 0 ? total_seconds / (double(audio_samples) / kSampleRate) : 0.0;
  }
};

// One utterance in flight. next() blocks until a chunk is ready; it returns false at the end
// (after the chunk marked `last`) or after cancel(). Throws chatterbox::Error on failure.
class Utterance {
 public:
  virtual ~Utterance() = default;
  virtual bool next(AudioChunk& chunk) = 0;
  virtual void cancel() = 0;  // thread-safe; next() returns false within one model step
  virtual UtteranceStats stats() const = 0;
};

// Something that turns text into audio: the real engine, or a test double.
class Synthesizer {
 public:
  virtual ~Synthesizer() = default;
  // Starts speaking one utterance: a piece from split() or split_for() (its ids are used as they
  // are when they were made for params.language), or any text short enough for the model
  // (tokenised here).
  virtual std::unique_ptr<Utterance> start(const TextUtterance& text,
                                           const SynthesisParams& params) = 0;
  std::unique_ptr<Utterance> start(const std::string& text, const SynthesisParams& params) {
    return start(TextUtterance{text, {}, {}}, params);
  }
  // Splits free text into utterances the model can speak (sentence boundaries, length cap),
  // each with its text ids for English.
  virtual std::vector<TextUtterance> split(const std::string& text) const = 0;
  // The same for text in `language` (token counts and ids depend on it for the multilingual
  // model). Throws Error(kInvalidInput) for a language the model does not speak.
  virtual std::vector<TextUtterance> split_for(const std::string& text,
                                               const std::string& language) const {
    (void)language;
    return split(text);
  }
  virtual std::string describe() const = 0;  // model directory and device, for logs
  // Which model answers (a test double may keep the default).
  virtual ModelVariant variant() const { return ModelVariant::kEnglish; }

  // Voice cloning. `samples` is mono float audio at `sample_rate` (the host decodes files;
  // the engine resamples to what each model needs). Results are cached in memory and on disk
  // by content hash, so the same recording twice costs nothing. Throws Error(kInvalidInput)
  // for audio that is silent or too short.
  virtual std::shared_ptr<const Voice> voice_from_audio(const std::vector<float>& samples,
                                                        int sample_rate) = 0;
  // A saved conditioning file (conds.pt format, or one written by save_voice()).
  virtual std::shared_ptr<const Voice> voice_from_file(const std::string& path) = 0;
  virtual void save_voice(const Voice& voice, const std::string& path) = 0;

  // Runs a short utterance once per loaded model, so that one-time costs (allocator growth,
  // kernel selection) are not paid by the first real utterance, whose time to first audio a
  // live host counts against its latency. Later calls return at once. Throws Error.
  virtual void warm_up() {}
};

// The real engine. load() returns a shared instance per (model directory, device): loading
// twice with the same settings costs nothing. Throws chatterbox::Error.
class Engine : public Synthesizer {
 public:
  static std::shared_ptr<Engine> load(const EngineConfig& config);
  // Where load() would look for a model when config.model_dir is empty, in order.
  static std::vector<std::string> model_search_path();
};

}  // namespace chatterbox
