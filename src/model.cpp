#include "model.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>

#include "common/device_name.h"
#include "common/error.h"
#include "io/conds.h"
#include "io/safetensors.h"
#include "io/weights.h"
#include "text/punc_norm.h"
#include "text/splitter.h"

namespace chatterbox {

c10::Device parse_device(const std::string& name) {
  if (!name.empty() && !is_device_name(name))
    throw Error(ErrorKind::kInvalidInput,
                "unknown device '" + name + "' (expected auto, cpu, cuda or cuda:N)");
  if (name.empty() || name == "auto")
    return at::hasCUDA() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  if (name == "cpu") return c10::Device(c10::kCPU);
  // "cuda" or "cuda:N" (the grammar was checked above).
  {
    if (!at::hasCUDA())
      throw Error(ErrorKind::kDevice, "device '" + name +
                                          "' requested, but this libtorch has no CUDA support "
                                          "or no GPU is present (use device=cpu or auto)");
    try {
      c10::Device device(name);
      at::empty({1}, at::TensorOptions().device(device));  // fails for an index out of range
      return device;
    } catch (const c10::Error& e) {
      throw Error(ErrorKind::kDevice,
                  "device '" + name + "' is not usable: " + e.what_without_backtrace());
    }
  }
}

// Rethrows libtorch errors (c10::Error, std::bad_alloc, ...) as typed engine errors.
void rethrow_as_engine_error(const std::string& context) {
  try {
    throw;
  } catch (const Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Error(ErrorKind::kInternal, context + ": " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Error(ErrorKind::kInternal, context + ": " + e.what());
  }
}

at::ScalarType t3_matmul_dtype(const std::string& precision) {
  if (precision == "fp32") return at::kFloat;
  if (precision == "bf16") return at::kBFloat16;
  if (precision == "int8") return at::kChar;
  throw Error(ErrorKind::kInvalidInput,
              "unknown T3 precision '" + precision + "' (expected fp32, bf16 or int8)");
}

std::shared_ptr<const LoadedModel> load_model(const EngineConfig& config) {
  c10::InferenceMode inference_mode;
  const at::ScalarType matmul_dtype = t3_matmul_dtype(config.t3_precision);
  auto model = std::make_shared<LoadedModel>();
  model->files = locate_model(config.model_dir);
  model->device = parse_device(config.device);
  model->options = at::TensorOptions().dtype(at::kFloat).device(model->device);
  const ModelFiles& files = model->files;
  int64_t text_vocab = 0, tokenizer_vocab = 0;
  try {
    auto t3_file = std::make_shared<const SafetensorsFile>(files.t3);
    if (files.variant == ModelVariant::kEnglish || files.variant == ModelVariant::kMultilingual) {
      if (files.variant == ModelVariant::kEnglish) {
        model->tokenizer = TextTokenizer::from_file(files.tokenizer);
      } else {
        model->mtl_tokenizer = std::make_shared<const MtlTokenizer>(
            MtlTokenizer::from_files(files.tokenizer, files.cangjie));
      }
      T3LoadOptions load_options;
      load_options.matmul_dtype = matmul_dtype;
      model->t3 = T3Model::load(t3_file, T3Config::from_checkpoint(*t3_file, files.t3_config),
                                model->options, load_options);
      text_vocab = model->t3->config().text_tokens_dict_size;
      // The reference recognises the multilingual T3 by its text vocabulary, and runs the
      // alignment control only then.
      if (model->t3->multilingual() != (files.variant == ModelVariant::kMultilingual))
        throw Error(ErrorKind::kModelFile, files.t3 + ": text vocabulary of " +
                                               std::to_string(text_vocab) +
                                               " ids; the multilingual T3 has " +
                                               std::to_string(T3Model::kMultilingualTextVocab) +
                                               ", the English one another size");
      tokenizer_vocab = files.variant == ModelVariant::kEnglish
                            ? model->tokenizer.vocab_size()
                            : model->mtl_tokenizer->vocab_size();
    } else {
      model->gpt2_tokenizer =
          std::make_shared<const Gpt2Tokenizer>(Gpt2Tokenizer::from_directory(files.tokenizer));
      T3TurboLoadOptions load_options;
      load_options.matmul_dtype = matmul_dtype;
      model->t3_turbo =
          T3TurboModel::load(t3_file, T3TurboConfig::from_checkpoint(*t3_file, files.t3_config),
                             model->options, load_options);
      text_vocab = model->t3_turbo->config().text_tokens_dict_size;
      tokenizer_vocab = model->gpt2_tokenizer->vocab_size();
    }
    model->s3gen_file = std::make_shared<const SafetensorsFile>(files.s3gen);
    model->s3gen = S3GenModel::load(model->s3gen_file, files.s3gen_config, model->options);
    if (!files.conds.empty()) model->builtin_voice = load_conds(files.conds, model->options);
    // The voice encoder loads when the first voice is cloned; its file's container (header,
    // offsets, size) is checked now, so a broken download is reported with the model.
    model->ve_file = std::make_shared<const SafetensorsFile>(files.ve);
  } catch (...) {
    rethrow_as_engine_error("loading the " + std::string(model_variant_name(files.variant)) +
                            " model in " + files.dir);
  }
  if (uses_turbo_pipeline(files.variant) != model->s3gen->meanflow())
    throw Error(ErrorKind::kModelFile,
                files.s3gen + ": " + (model->s3gen->meanflow() ? "a mean-flow" : "a CFM") +
                    " S3Gen does not belong to a " + model_variant_name(files.variant) + " model");
  if (tokenizer_vocab > text_vocab)
    throw Error(ErrorKind::kModelFile, files.tokenizer + ": vocabulary of " +
                                           std::to_string(tokenizer_vocab) +
                                           " ids does not fit T3's text embedding (" +
                                           std::to_string(text_vocab) + " rows)");
  return model;
}

namespace {

std::string lower_ascii(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return s;
}

}  // namespace

void LoadedModel::check_language(const std::string& language) const {
  const std::string code = lower_ascii(language);
  if (variant() == ModelVariant::kMultilingual) {
    if (is_multilingual_language(code)) return;
    throw Error(ErrorKind::kInvalidInput, "language '" + language +
                                              "' is not spoken by the multilingual model (" +
                                              "supported: " + multilingual_language_list() + ")");
  }
  if (code != "en")
    throw Error(ErrorKind::kInvalidInput,
                "language '" + language + "': the " + model_variant_name(variant()) +
                    " model speaks English only (language en); use the multilingual "
                    "model for other languages");
}

std::vector<int64_t> LoadedModel::text_ids(const std::string& text,
                                           const std::string& language) const {
  check_language(language);
  if (variant() == ModelVariant::kEnglish) return tokenizer.encode(punc_norm(text));
  if (variant() == ModelVariant::kMultilingual)
    return mtl_tokenizer->encode(punc_norm_multilingual(text), lower_ascii(language));
  return gpt2_tokenizer->encode_untruncated(punc_norm_turbo(text));
}

std::vector<int64_t> LoadedModel::t3_text_input(std::vector<int64_t> ids) const {
  if (variant() == ModelVariant::kEnglish) return tokenizer.wrap_for_t3(std::move(ids));
  if (variant() == ModelVariant::kMultilingual)
    return mtl_tokenizer->text_tokenizer().wrap_for_t3(std::move(ids));
  return gpt2_tokenizer->truncate(std::move(ids));
}

std::vector<int64_t> LoadedModel::text_tokens(const std::string& text,
                                              const std::string& language) const {
  return t3_text_input(text_ids(text, language));
}

int LoadedModel::max_text_tokens() const {
  if (!uses_turbo_pipeline(variant())) return int(t3->config().max_text_tokens);
  // generate() truncates at the tokenizer's model_max_length (GPT-2: 1024): utterances are
  // packed below it so that nothing is cut.
  return int(std::min<int64_t>(gpt2_tokenizer->model_max_length(), kMaxTextTokens));
}

std::unique_ptr<SpeechTokenSession> LoadedModel::start_t3(const VoiceConditioning& voice,
                                                          const std::vector<int64_t>& text_tokens,
                                                          const SynthesisParams& params,
                                                          uint64_t seed) const {
  if (!uses_turbo_pipeline(variant())) {
    T3SamplingParams sampling(params, params.max_tokens, seed);
    sampling.validate();
    return std::make_unique<T3Session>(t3, voice, params.exaggeration, text_tokens, sampling);
  }
  // inference_turbo emits up to max_gen_len + 1 tokens: max_tokens is the whole utterance.
  T3TurboSamplingParams sampling(params, std::max(0, params.max_tokens - 1), seed);
  sampling.validate();
  return std::make_unique<T3TurboSession>(t3_turbo, voice, turbo_prefix(voice), text_tokens,
                                          sampling);
}

std::shared_ptr<const T3TurboPrefix> LoadedModel::turbo_prefix(
    const VoiceConditioning& voice) const {
  // The prefix depends on the speaker embedding and the prompt tokens only: their bytes are the
  // key.
  auto bytes = [](const at::Tensor& t) {
    if (!t.defined()) return std::string();
    at::Tensor c = t.to(at::kCPU).contiguous();
    return std::string(static_cast<const char*>(c.data_ptr()),
                       size_t(c.numel()) * c.element_size());
  };
  const std::string key = bytes(voice.speaker_emb) + '|' + bytes(voice.cond_prompt_speech_tokens);
  {
    std::lock_guard<std::mutex> lock(prefix_mutex_);
    for (auto it = turbo_prefixes_.begin(); it != turbo_prefixes_.end(); ++it) {
      if (it->first != key) continue;
      turbo_prefixes_.splice(turbo_prefixes_.begin(), turbo_prefixes_, it);
      return turbo_prefixes_.front().second;
    }
  }
  auto prefix = t3_turbo->prefix(
      voice);  // outside the lock: a second first use computes it twice, harmlessly
  std::lock_guard<std::mutex> lock(prefix_mutex_);
  turbo_prefixes_.emplace_front(key, prefix);
  if (turbo_prefixes_.size() > kTurboPrefixes) turbo_prefixes_.pop_back();
  return prefix;
}

int64_t LoadedModel::start_speech_token() const {
  return t3 ? t3->config().start_speech_token : t3_turbo->config().start_speech_token;
}

std::vector<int64_t> LoadedModel::end_of_utterance_tokens() const {
  if (!uses_turbo_pipeline(variant())) return {};
  return std::vector<int64_t>(kTurboSilenceTokens, kS3GenSilenceToken);
}

}  // namespace chatterbox
