// The engine facade: a loaded model shared per (directory, device), text -> utterances, and
// voices (cloned through the one VoiceCache, or read from conditioning files).
#include "engine.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <map>
#include <mutex>
#include <tuple>

#include "common/error.h"
#include "engine/conditioned_voice.h"
#include "engine/streaming_utterance.h"
#include "engine/voice_cache.h"
#include "io/conds.h"
#include "model.h"
#include "text/splitter.h"
#include "voice/voice_builder.h"

namespace chatterbox {
namespace {

class EngineImpl : public Engine {
 public:
  explicit EngineImpl(std::shared_ptr<const LoadedModel> model) : model_(std::move(model)) {}

  using Synthesizer::start;
  std::unique_ptr<Utterance> start(const TextUtterance& text,
                                   const SynthesisParams& params) override {
    // The splitter's ids are used as they are when they were made for the language spoken.
    model_->check_language(params.language);
    std::vector<int64_t> text_tokens = !text.token_ids.empty() && text.language == params.language
                                           ? model_->t3_text_input(text.token_ids)
                                           : model_->text_tokens(text.text, params.language);
    // English and multilingual wrap the text in [START]/[STOP].
    const int64_t max_text =
        model_->max_text_tokens() + (uses_turbo_pipeline(model_->variant()) ? 0 : 2);
    if (int64_t(text_tokens.size()) > max_text)
      throw Error(ErrorKind::kInvalidInput, "text of " + std::to_string(text_tokens.size()) +
                                                " tokens is longer than T3 can take (" +
                                                std::to_string(max_text) + "); split it first");
    try {
      return start_streaming_utterance(model_, std::move(text_tokens), params);
    } catch (...) {
      rethrow_as_engine_error("starting an utterance");
    }
  }

  std::vector<TextUtterance> split(const std::string& text) const override {
    return split_for(text, "en");
  }

  std::vector<TextUtterance> split_for(const std::string& text,
                                       const std::string& language) const override {
    model_->check_language(language);
    std::vector<TextUtterance> pieces = split_utterances(
        text, [&](const std::string& utterance) { return model_->text_ids(utterance, language); },
        model_->max_text_tokens());
    for (TextUtterance& piece : pieces) piece.language = language;
    return pieces;
  }

  std::string describe() const override {
    return model_->files.dir + " (" + model_variant_name(model_->variant()) + ") on " +
           model_->device.str();
  }

  ModelVariant variant() const override { return model_->variant(); }

  std::shared_ptr<const Voice> voice_from_audio(const std::vector<float>& samples,
                                                int sample_rate) override {
    const std::string key = VoiceCache::key(samples, sample_rate, model_->files);
    if (auto cached = voices_.find(key, model_->options)) return cached;
    std::shared_ptr<const ConditionedVoice> voice;
    try {
      c10::InferenceMode inference_mode;
      VoiceConditioning cond =
          voice_builder().build(samples, sample_rate, SynthesisParams().exaggeration);
      voice = std::make_shared<const ConditionedVoice>(std::move(cond), "cloned voice");
    } catch (...) {
      rethrow_as_engine_error("building the voice conditioning");
    }
    voices_.insert(key, voice);
    return voice;
  }

  std::shared_ptr<const Voice> voice_from_file(const std::string& path) override {
    try {
      return std::make_shared<const ConditionedVoice>(load_conds(path, model_->options),
                                                      "conditioning " + path);
    } catch (...) {
      rethrow_as_engine_error("loading voice " + path);
    }
  }

  void save_voice(const Voice& voice, const std::string& path) override {
    save_conds(dynamic_cast<const ConditionedVoice&>(voice).conditioning(), path);
  }

  void warm_up() override {
    std::lock_guard<std::mutex> lock(warm_up_mutex_);
    if (warmed_up_ || !model_->has_builtin_voice()) return;
    SynthesisParams params;
    params.seed = 0;
    // The first chunk and one more: both stages and the stitching path run at least once.
    params.max_tokens = params.first_chunk_tokens + params.chunk_tokens;
    std::unique_ptr<Utterance> utterance = start("Hello there.", params);
    AudioChunk chunk;
    while (utterance->next(chunk)) {
    }
    warmed_up_ = true;
  }

 private:
  // The voice networks (VoiceEncoder, CAMPPlus, S3Tokenizer) load on first use: most
  // pipelines never clone a voice.
  const VoiceBuilder& voice_builder() {
    std::lock_guard<std::mutex> lock(voice_mutex_);
    if (!voice_builder_) {
      voice_builder_ = std::make_shared<const VoiceBuilder>(
          model_->ve_file, model_->s3gen_file,
          VoiceBuilderConfig::from_json(model_->files.ve_config, model_->files.s3gen_config,
                                        model_->files.t3_config, model_->variant()),
          model_->options);
    }
    return *voice_builder_;
  }

  std::shared_ptr<const LoadedModel> model_;
  std::mutex voice_mutex_;  // protects voice_builder_
  std::shared_ptr<const VoiceBuilder> voice_builder_;
  VoiceCache voices_;
  std::mutex warm_up_mutex_;  // protects warmed_up_; held while warming up, so callers wait
  bool warmed_up_ = false;
};

}  // namespace

std::shared_ptr<Engine> Engine::load(const EngineConfig& config) {
  // One loaded model per (directory, device, precision), shared by every element that asks for it;
  // kept only as long as someone uses it.
  static std::mutex mutex;
  static std::map<std::tuple<std::string, std::string, std::string>, std::weak_ptr<Engine>> loaded;
  const auto key = std::make_tuple(config.model_dir, config.device, config.t3_precision);
  std::lock_guard<std::mutex> lock(mutex);
  if (auto engine = loaded[key].lock()) return engine;
  auto engine = std::make_shared<EngineImpl>(load_model(config));
  loaded[key] = engine;
  return engine;
}

std::vector<std::string> Engine::model_search_path() { return chatterbox::model_search_path(); }

}  // namespace chatterbox
