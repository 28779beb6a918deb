// VoiceBuilder: a reference recording -> VoiceConditioning. Two recipes, chosen by
// VoiceBuilderConfig::variant: the English ChatterboxTTS.prepare_conditionals (chatterbox/tts.py)
// and Turbo's (chatterbox/tts_turbo.py: loudness normalisation, librosa soxr_hq resampling, a 15 s
// / 375-token T3 prompt), both with S3Gen.embed_ref from chatterbox/models/s3gen/s3gen.py
// (docs/model.md §7.1 Audio and lengths, §7.2 embed_ref, §7.8 Turbo voice conditioning).
//
// Immutable after construction and safe to share between threads (build() is const and keeps no
// state). Holds the VoiceEncoder (ve.safetensors), CAMPPlus (`speaker_encoder.*`) and
// S3TokenizerV2 (`tokenizer.*`) of s3gen.safetensors.
#pragma once

#include <ATen/Tensor.h>
#include <c10/core/TensorOptions.h>

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "common/model_variant.h"
#include "io/safetensors.h"
#include "voice/campplus.h"
#include "voice/conditioning.h"
#include "voice/resample.h"
#include "voice/s3tokenizer.h"
#include "voice/voice_encoder.h"

namespace chatterbox {

struct VoiceBuilderConfig {
  // kEnglish: the English recipe. kTurbo / kNano: Turbo's recipe: the 24 kHz reference is
  // loudness-normalised, every resampling outside embed_ref is librosa's soxr_hq (libsoxr HQ),
  // the reference must be longer than min_reference_seconds.
  ModelVariant variant = ModelVariant::kEnglish;
  VoiceEncoderConfig voice_encoder;
  CampplusConfig campplus;
  S3TokenizerConfig tokenizer;
  int64_t s3gen_sample_rate = 24000;     // S3GEN_SR
  int64_t s3_sample_rate = 16000;        // S3_SR
  double dec_cond_seconds = 10.0;        // DEC_COND_LEN = 10 * S3GEN_SR: S3Gen reference cap
  double enc_cond_seconds = 6.0;         // ENC_COND_LEN = 6 * S3_SR: T3 prompt audio cap
  int64_t speech_cond_prompt_len = 150;  // T3Config.speech_cond_prompt_len: T3 prompt token cap
  double min_reference_seconds = 0.5;    // shorter references are refused (not in the original)
  double silence_peak = 1e-4;            // -80 dBFS: quieter references count as silent
  // English: every rate conversion (input -> 24 kHz, 24 -> 16 kHz) uses these resampler
  // settings. Turbo: only embed_ref's own 24 -> 16 kHz step does.
  ResamplerParams resampler = ResamplerParams::torchaudio_default();
  // Turbo only: tts_turbo.norm_loudness (pyloudnorm integrated loudness -> gain to target_lufs;
  // skipped when the gain is not finite, e.g. for silence).
  bool normalize_loudness = true;
  double target_lufs = -27.0;

  // From the oracle's ve.json and s3gen.json ("tokenizer", "speaker_encoder") and, optionally,
  // the T3 json (speech_cond_prompt_len, top level or under "t3_config"). Null objects keep the
  // official defaults of `variant`; a Turbo variant also sets the Turbo recipe (15 s / 375-token
  // T3 prompt, references over 5 s, S3Tokenizer attn_ln eps 1e-5 as in s3tokenizer 0.3).
  static VoiceBuilderConfig from_json(const nlohmann::json& ve, const nlohmann::json& s3gen,
                                      const nlohmann::json& t3,
                                      ModelVariant variant = ModelVariant::kEnglish);
};

// S3Gen.embed_ref output (the "gen" half of conds).
struct S3GenReference {
  at::Tensor prompt_token;  // [1, Tg] int64
  at::Tensor prompt_feat;   // [1, F, 80] float, F = 2 Tg or 2 Tg + 1
  at::Tensor embedding;     // [1, 192] float (CAMPPlus x-vector, not normalised)
  at::Tensor wav16;         // [1, S16] the internally resampled 16 kHz reference
};

class VoiceBuilder {
 public:
  VoiceBuilder(std::shared_ptr<const SafetensorsFile> ve_file,
               std::shared_ptr<const SafetensorsFile> s3gen_file, const VoiceBuilderConfig& config,
               c10::TensorOptions options);
  // Maps the two files and builds; throws Error(kModelFile) listing every bad tensor.
  static std::shared_ptr<const VoiceBuilder> load(const std::string& ve_path,
                                                  const std::string& s3gen_path,
                                                  const VoiceBuilderConfig& config,
                                                  c10::TensorOptions options);

  // prepare_conditionals: `wav` is mono float audio in [-1, 1] at `sample_rate`. Resamples to
  // 24 kHz if needed (Turbo: then normalises the loudness), keeps the first 10 s for S3Gen, the
  // first enc_cond_seconds (<= speech_cond_prompt_len tokens) of the 16 kHz signal for the T3
  // prompt and the whole 16 kHz signal for the VoiceEncoder. Throws Error(kInvalidInput) for a bad
  // rate, non-finite samples, audio shorter than min_reference_seconds (Turbo: not longer), or
  // audio that is silent.
  VoiceConditioning build(const std::vector<float>& wav, int sample_rate, float exaggeration) const;
  // The same from a 24 kHz waveform [S] already on any device.
  VoiceConditioning build_24k(const at::Tensor& wav24, float exaggeration) const;

  // S3Gen.embed_ref on a 24 kHz reference [S] (caller applies the 10 s cap).
  S3GenReference embed_ref(const at::Tensor& wav24) const;

  const VoiceBuilderConfig& config() const { return config_; }
  const VoiceEncoder& voice_encoder() const { return voice_encoder_; }
  const Campplus& campplus() const { return campplus_; }
  const S3Tokenizer& tokenizer() const { return tokenizer_; }
  const S3GenMel& s3gen_mel() const { return s3gen_mel_; }

 private:
  S3GenReference embed_ref(const at::Tensor& wav24, const at::Tensor& wav16) const;
  // Both variants' last steps: the S3Gen reference into `conds`, and the T3 speech prompt
  // tokenised from the 16 kHz signal w16 [S].
  void add_reference_and_prompt(VoiceConditioning& conds, const S3GenReference& ref,
                                const at::Tensor& w16) const;
  // Turbo's prepare_conditionals after the input checks: w24 [S] on the model's device.
  VoiceConditioning build_turbo_24k(const at::Tensor& w24, float exaggeration) const;
  bool turbo() const { return uses_turbo_pipeline(config_.variant); }

  VoiceBuilderConfig config_;
  c10::TensorOptions options_;
  VoiceEncoder voice_encoder_;
  Campplus campplus_;
  S3Tokenizer tokenizer_;
  S3GenMel s3gen_mel_;
};

}  // namespace chatterbox
