// The loaded model: everything read from one model directory for one device. Internal to the
// engine (it includes torch headers); the engine, the tools and the benchmarks share it.
//
// One type for every variant: the parts a variant does not have stay null. What differs between
// variants (text front end, T3, what S3Gen appends) is asked of the LoadedModel, so the
// streaming pipeline and the tools do not branch on the variant themselves.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/TensorOptions.h>

#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine.h"
#include "io/model_dir.h"
#include "io/safetensors.h"
#include "s3gen/s3gen.h"
#include "t3/speech_token_session.h"
#include "t3/t3.h"
#include "t3/t3_turbo.h"
#include "text/gpt2_tokenizer.h"
#include "text/mtl_tokenizer.h"
#include "text/tokenizer.h"
#include "voice/conditioning.h"

namespace chatterbox {

// Immutable after load_model() and shared by every utterance and every element using the same
// directory and device.
struct LoadedModel {
  ModelFiles files;
  c10::Device device = c10::Device(c10::kCPU);
  c10::TensorOptions options;
  TextTokenizer tokenizer;                              // English: tokenizer.json
  std::shared_ptr<const Gpt2Tokenizer> gpt2_tokenizer;  // Turbo/Nano: vocab.json, merges.txt, ...
  std::shared_ptr<const MtlTokenizer>
      mtl_tokenizer;                  // multilingual: grapheme_mtl_merged_expanded_v1.json
  std::shared_ptr<const T3Model> t3;  // English and multilingual (Llama, CFG)
  std::shared_ptr<const T3TurboModel> t3_turbo;  // Turbo/Nano (GPT-2, no CFG)
  std::shared_ptr<const S3GenModel> s3gen;       // flow (CFM or mean-flow) + HiFT
  // The voice networks' files (VoiceEncoder; CAMPPlus and S3Tokenizer in s3gen.safetensors),
  // opened at load (header checked, mapped): their weights are read when the first voice is
  // cloned, most pipelines never do.
  std::shared_ptr<const SafetensorsFile> ve_file;
  std::shared_ptr<const SafetensorsFile> s3gen_file;
  VoiceConditioning builtin_voice;  // conds.pt; undefined tensors when a Turbo directory has none

  ModelVariant variant() const { return files.variant; }
  // Turbo: the conditioning prefix of a voice, computed once and kept for the last few voices
  // used (~74 MB each at full size), found by the voice's content.
  std::shared_ptr<const T3TurboPrefix> turbo_prefix(const VoiceConditioning& voice) const;
  bool has_builtin_voice() const { return builtin_voice.speaker_emb.defined(); }

  // Throws Error(kInvalidInput) unless the model speaks `language`: English and Turbo only "en";
  // the multilingual model the codes of multilingual_languages() (the message lists them).
  void check_language(const std::string& language) const;
  // The variant's punc_norm and tokenizer: the text ids of a raw utterance in `language` (ISO
  // 639-1), without start/stop ids and never truncated (what the splitter packs against
  // max_text_tokens()). Throws Error(kInvalidInput) on invalid UTF-8 and on a language the model
  // does not speak (check_language).
  std::vector<int64_t> text_ids(const std::string& text, const std::string& language) const;
  int max_text_tokens() const;
  // text_ids() -> what T3 reads (English and multilingual: with [START]/[STOP]; Turbo: cut at
  // the tokenizer's model_max_length, as generate() does).
  std::vector<int64_t> t3_text_input(std::vector<int64_t> ids) const;
  // t3_text_input(text_ids(text, language)).
  std::vector<int64_t> text_tokens(const std::string& text, const std::string& language) const;

  // T3 for one utterance. `params` resolved for this variant (SynthesisParams::resolve_for);
  // `text_tokens` from text_tokens(). Throws Error(kInvalidInput) for invalid settings.
  std::unique_ptr<SpeechTokenSession> start_t3(const VoiceConditioning& voice,
                                               const std::vector<int64_t>& text_tokens,
                                               const SynthesisParams& params, uint64_t seed) const;
  // Speech tokens at or above this are not codec ids (start/stop speech): S3Gen never sees them.
  int64_t start_speech_token() const;
  // Tokens S3Gen decodes after the last generated one (Turbo: three silence tokens, as its
  // generate() appends; English: none).
  std::vector<int64_t> end_of_utterance_tokens() const;

 private:
  static constexpr size_t kTurboPrefixes = 4;
  mutable std::mutex prefix_mutex_;  // protects turbo_prefixes_
  mutable std::list<std::pair<std::string, std::shared_ptr<const T3TurboPrefix>>>
      turbo_prefixes_;  // recent first
};

// Parses a device name (auto | cpu | cuda | cuda:N) into a usable device. Throws Error(kDevice) or
// Error(kInvalidInput).
c10::Device parse_device(const std::string& name);

// EngineConfig::t3_precision -> the storage dtype of T3's decode matrices. Throws
// Error(kInvalidInput) for another name.
at::ScalarType t3_matmul_dtype(const std::string& precision);

// Loads every part of the model in config.model_dir (or the search path) onto config.device.
// Throws Error naming the file and what is wrong.
std::shared_ptr<const LoadedModel> load_model(const EngineConfig& config);

// Rethrows the exception being handled as a chatterbox::Error (libtorch's c10::Error and other
// std::exceptions become kInternal with `context`). Call only inside a catch block.
[[noreturn]] void rethrow_as_engine_error(const std::string& context);

}  // namespace chatterbox
