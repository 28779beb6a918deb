// Turbo T3: text tokens + voice conditioning -> speech tokens with a GPT-2 backbone, no CFG.
// Ports chatterbox/models/t3/t3.py as ChatterboxTurboTTS uses it (prepare_conditioning,
// prepare_input_embeds and forward with input_pos_emb = None and is_gpt, inference_turbo) and
// the HF logits processors it chains (TemperatureLogitsWarper, TopKLogitsWarper,
// TopPLogitsWarper, RepetitionPenaltyLogitsProcessor from
// transformers/generation/logits_process.py). The model (T3TurboModel) is loaded once, immutable
// and shared; one utterance's state (KV cache, generator, tokens) lives in a T3TurboSession.
#pragma once

#include <ATen/ATen.h>
#include <ATen/core/Generator.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "common/synthesis_settings.h"
#include "io/safetensors.h"
#include "t3/gpt2.h"
#include "t3/kv_cache.h"
#include "t3/speech_token_session.h"
#include "t3/t3_turbo_config.h"
#include "voice/conditioning.h"

namespace chatterbox {

// How the decode matrices are stored and multiplied (small_linear.h), as for the English T3.
using T3TurboLoadOptions = LinearLoadOptions;

// Teacher-forced T3.forward outputs (batch B).
struct T3TurboForwardOutput {
  at::Tensor text_logits;    // [B, Tt, text vocab]   text_head (no bias)
  at::Tensor speech_logits;  // [B, Ts, speech vocab] speech_head (with bias)
  at::Tensor hidden_states;  // [B, Lc + Tt + Ts, D]  ln_f output
};

class T3TurboModel;

// The backbone's keys and values over a voice's conditioning prefix [spkr | prompt speech]. GPT-2
// attention is causal, so these positions do not depend on the text: every utterance of the voice
// can start from them and prefill only its text (exact up to float rounding of the split). The
// prefix of the 375-token prompt is ~90% of a prefill's positions.
struct T3TurboPrefix {
  const T3TurboModel* model = nullptr;  // the weights it was computed with
  at::Tensor keys;                      // [L, 1, H, Lc, Dh]
  at::Tensor values;                    // [L, 1, H, Lc, Dh]
  int64_t length() const { return keys.defined() ? keys.size(3) : 0; }
};

class T3TurboModel {
 public:
  // Takes every tensor by its checkpoint name with its expected shape; throws one
  // Error(kModelFile) listing every missing or mis-shaped tensor. tfmr.wte.weight must be
  // present and is dropped.
  static std::shared_ptr<const T3TurboModel> load(std::shared_ptr<const SafetensorsFile> file,
                                                  const T3TurboConfig& config,
                                                  c10::TensorOptions options,
                                                  const T3TurboLoadOptions& load_options = {});

  const T3TurboConfig& config() const { return config_; }
  const c10::TensorOptions& options() const { return options_; }
  const Gpt2Backbone& backbone() const { return tfmr_; }

  // The conditioning prefix [1, 1 + Tp, D] = cat(spkr_enc(speaker_emb), speech_emb(prompt tokens))
  // (no perceiver, no emotion token, no position embedding). speaker_emb [1, 256]; prompt tokens
  // [1, Tp] int64, may be undefined or empty. tap (index -1): the parts "spkr_enc_out" [1, 1, D]
  // and "prompt_speech_emb" [1, Tp, D] (only with a prompt).
  at::Tensor cond_embedding(const at::Tensor& speaker_emb, const at::Tensor& prompt_tokens,
                            const TensorTap& tap = {}) const;
  at::Tensor cond_embedding(const VoiceConditioning& cond) const;
  // Runs the backbone over cond_embedding(cond) once: the prefix every utterance of this voice
  // can share.
  std::shared_ptr<const T3TurboPrefix> prefix(const VoiceConditioning& cond) const;

  // text_emb(tokens): [B, T] int64 -> [B, T, D] (no position embedding: GPT-2's wpe does it)
  at::Tensor text_embeddings(const at::Tensor& tokens) const;
  // speech_emb(tokens): [B, T] int64 -> [B, T, D]
  at::Tensor speech_embeddings(const at::Tensor& tokens) const;
  // Bytes of the matrices one decode step reads (backbone layers + speech head, as stored):
  // what bounds a token step on a bandwidth-limited machine.
  int64_t decode_weight_bytes() const;
  // speech_head with bias on ln_f outputs [..., D] -> [..., speech vocab]
  at::Tensor speech_logits(const at::Tensor& hidden) const;

  // T3.forward, teacher forcing: cond_emb [1 or B, Lc, D], text_tokens [B, Tt] (no start/stop
  // text tokens), speech_tokens [B, Ts] (start speech + tokens). tap: see Gpt2Backbone::forward;
  // additionally "input_embeds" (-1) [B, total, D].
  T3TurboForwardOutput forward(const at::Tensor& cond_emb, const at::Tensor& text_tokens,
                               const at::Tensor& speech_tokens, const TensorTap& tap = {}) const;

  T3TurboModel() = default;  // use load()

 private:
  T3TurboConfig config_;
  c10::TensorOptions options_;
  Gpt2Backbone tfmr_;
  at::Tensor spkr_enc_weight_;  // [D, 256]            cond_enc.spkr_enc.weight
  at::Tensor spkr_enc_bias_;    // [D]                 cond_enc.spkr_enc.bias
  at::Tensor text_emb_;         // [text vocab, D]     text_emb.weight
  at::Tensor speech_emb_;       // [speech vocab, D]   speech_emb.weight
  at::Tensor text_head_;      // [text vocab, D]     text_head.weight (teacher-forced forward only)
  LinearWeight speech_head_;  // [speech vocab, D]   speech_head.weight (stored as matmul_dtype)
  at::Tensor speech_head_bias_;  // [speech vocab]      speech_head.bias
};

// The sampling settings (common/synthesis_settings.h) resolved for Turbo, and what one session
// adds. Defaults = ChatterboxTurboTTS.generate() defaults; cfg_weight and min_p are not used. A
// processor whose setting makes it a no-op is skipped, as inference_turbo does (temperature 0 or
// 1, top_k 0, top_p 1, penalty 1).
struct T3TurboSamplingParams : SamplingSettings {
  T3TurboSamplingParams()
      : SamplingSettings(SamplingSettings().resolved_for(ModelVariant::kTurbo)) {}
  T3TurboSamplingParams(const SamplingSettings& settings, int64_t max_new_tokens, uint64_t seed)
      : SamplingSettings(settings.resolved_for(ModelVariant::kTurbo)),
        max_new_tokens(max_new_tokens),
        seed(seed) {}
  // Decode steps after the prefill's token (inference_turbo's max_gen_len): at most
  // max_new_tokens + 1 tokens per utterance.
  int64_t max_new_tokens = 1000;
  uint64_t seed = 0;  // the session's generator seed (torch.manual_seed equivalent)

  // Throws Error(kInvalidInput) for values the reference processors reject.
  void validate() const;
};

// inference_turbo's processors, in its order: temperature -> top-k -> top-p -> repetition
// penalty (on the already filtered logits), then softmax and a multinomial draw. Runs on the CPU
// whatever the model device.
class T3TurboSampler {
 public:
  explicit T3TurboSampler(const T3TurboSamplingParams& params);

  // raw [V] speech logits -> processed logits [V] (removed ids -inf). `ids` = the processors'
  // input_ids (step 0: the start token; later: every token generated so far).
  // tap names (index = step): step_processor_input_ids, step_logits_after_temperature,
  // step_logits_after_top_k, step_logits_after_top_p, step_logits_after_rep_penalty.
  at::Tensor process(const at::Tensor& raw, const std::vector<int64_t>& ids, int64_t step,
                     const TensorTap& tap = {}) const;
  // One multinomial draw from probs [V] with the sampler's generator.
  int64_t draw(const at::Tensor& probs);

  const T3TurboSamplingParams& params() const { return params_; }

 private:
  T3TurboSamplingParams params_;
  at::Generator generator_;
};

// One utterance of T3.inference_turbo: prefill of [cond | text_emb(text) | speech_emb(start)]
// (one row), then one token per step() with the KV cache. Stop rules of the reference: the
// token sampled from the prefill is never checked for the stop token; a later step that samples
// it ends the session (the stop token is emitted); a step whose processed logits are all -inf
// ends it without a token; max_new_tokens + 1 tokens end it.
// Not thread-safe; each step() is bounded work so the caller can poll cancellation in between.
class T3TurboSession : public SpeechTokenSession {
 public:
  // text_tokens: the tokenizer's ids, no start/stop text tokens.
  T3TurboSession(std::shared_ptr<const T3TurboModel> model, const VoiceConditioning& cond,
                 const std::vector<int64_t>& text_tokens, const T3TurboSamplingParams& params);
  // The same starting from `prefix` (T3TurboModel::prefix of `cond`): the prefill runs over the
  // text and the start token only. The intermediates tapped then cover those positions only.
  T3TurboSession(std::shared_ptr<const T3TurboModel> model, const VoiceConditioning& cond,
                 std::shared_ptr<const T3TurboPrefix> prefix,
                 const std::vector<int64_t>& text_tokens, const T3TurboSamplingParams& params);

  // Intermediates under the oracle's names: input_embeds (-1), hidden_states (prefill only, see
  // Gpt2Backbone::forward), prefill_final_hidden (-1), and per step: step_hidden_last [D],
  // step_logits_raw [V], the sampler's names, step_probs [V], sampled_token (the generator's
  // draw).
  void set_tap(TensorTap tap) { tap_ = std::move(tap); }

  // Runs the prefill if not done yet (the first step() calls it too).
  void prefill();
  int64_t step() override;
  // Teacher forcing: as step(), the generator still draws (and reports "sampled_token"), but
  // `token` is what gets emitted, checked by the stop rules and fed back.
  int64_t step_forced(int64_t token);

  bool finished() const override { return finished_; }
  bool prefilled() const { return prefilled_; }
  const std::vector<int64_t>& tokens() const override { return generated_; }
  // inference_turbo's return value: tokens() without a final stop token.
  std::vector<int64_t> output_tokens() const;
  int64_t prefill_length() const { return prefill_len_; }

 private:
  int64_t advance(const int64_t* forced);

  std::shared_ptr<const T3TurboModel> model_;
  T3TurboSampler sampler_;
  TensorTap tap_;
  at::Tensor prefill_embeds_;  // [1, Lc + Tt + 1, D] (without a prefix; else [1, Tt + 1, D]),
                               // dropped after the prefill
  std::shared_ptr<const T3TurboPrefix> prefix_;  // null: the prefill covers the conditioning too
  int64_t prefill_len_ = 0;
  KvCache cache_;
  at::Tensor last_logits_;  // [1, V] speech logits of the last fed position
  at::Tensor last_hidden_;  // [1, D] its ln_f output (for the tap)
  std::vector<int64_t> generated_;
  int64_t pending_ = -1;  // last emitted token, not yet fed to the backbone
  bool prefilled_ = false;
  bool finished_ = false;
};

}  // namespace chatterbox
