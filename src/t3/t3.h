// T3: text tokens + voice conditioning -> speech tokens.
// Ports chatterbox/models/t3/t3.py (T3: prepare_conditioning, prepare_input_embeds, forward,
// inference) and modules/learned_pos_emb.py. The model (T3Model) is loaded once, immutable and
// shared; everything that belongs to one utterance (KV cache, sampler RNG, generated tokens)
// lives in a T3Session.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "io/safetensors.h"
#include "t3/alignment_analyzer.h"
#include "t3/cond_encoder.h"
#include "t3/kv_cache.h"
#include "t3/llama.h"
#include "t3/sampler.h"
#include "t3/speech_token_session.h"
#include "t3/t3_config.h"
#include "voice/conditioning.h"

namespace chatterbox {

// How the decode matrices are stored and multiplied (small_linear.h).
using T3LoadOptions = LinearLoadOptions;

// Teacher-forced T3.forward outputs (batch B, no CFG).
struct T3ForwardOutput {
  at::Tensor text_logits;    // [B, Tt, text vocab]
  at::Tensor speech_logits;  // [B, Ts, speech vocab]
  at::Tensor hidden_states;  // [B, Lc + Tt + Ts, D] final-RMSNorm output
};

class T3Model {
 public:
  // Takes every tensor by its checkpoint name with its expected shape; throws one
  // Error(kModelFile) listing every missing or mis-shaped tensor.
  static std::shared_ptr<const T3Model> load(std::shared_ptr<const SafetensorsFile> file,
                                             const T3Config& config, c10::TensorOptions options,
                                             const T3LoadOptions& load_options = {});

  const T3Config& config() const { return config_; }
  const c10::TensorOptions& options() const { return options_; }
  // The multilingual T3 (23 languages), recognised as the reference does: by its text vocabulary
  // of exactly 2454 ids. Its sessions run the alignment control (AlignmentStreamAnalyzer).
  bool multilingual() const { return config_.text_tokens_dict_size == kMultilingualTextVocab; }
  static constexpr int64_t kMultilingualTextVocab = 2454;
  const LlamaBackbone& backbone() const { return tfmr_; }

  // The conditioning prefix [1, Lc, D] (Lc = 34 for the official model) for a voice, with the
  // emotion scalar `exaggeration` (the API argument, overriding cond.exaggeration).
  at::Tensor cond_embedding(const VoiceConditioning& cond, float exaggeration) const;
  // The same from its raw inputs: speaker_emb [1, 256], prompt tokens [1, Tp] int64 (may be
  // undefined), exaggeration. tap (index -1): "prompt_speech_emb" [1, Tp, D] =
  // speech_emb(tokens) + speech_pos_emb(0..Tp-1) (only with a prompt), then T3CondEnc::forward's.
  at::Tensor cond_embedding(const at::Tensor& speaker_emb, const at::Tensor& prompt_tokens,
                            float exaggeration, const TensorTap& tap = {}) const;

  // text_emb(tokens) + text_pos_emb(0..T-1): tokens [B, T] int64 -> [B, T, D]. zero_tokens:
  // only the position part (the unconditional CFG row).
  at::Tensor text_embeddings(const at::Tensor& tokens, bool zero_tokens = false) const;
  // speech_emb(tokens) + speech_pos_emb(start..start+T-1): tokens [B, T] int64 -> [B, T, D]
  at::Tensor speech_embeddings(const at::Tensor& tokens, int64_t start_position = 0) const;
  // speech_head (no bias) on final-normed hidden states [..., D] -> [..., speech vocab]
  at::Tensor speech_logits(const at::Tensor& hidden) const;

  // T3.forward, teacher forcing: cond_emb [B or 1, Lc, D], text_tokens [B, Tt] (wrapped with
  // start/stop text), speech_tokens [B, Ts] (start speech + tokens + stop speech).
  T3ForwardOutput forward(const at::Tensor& cond_emb, const at::Tensor& text_tokens,
                          const at::Tensor& speech_tokens, const TensorTap& tap = {}) const;

  T3Model() = default;  // use load()

 private:
  T3Config config_;
  c10::TensorOptions options_;
  T3CondEnc cond_enc_;
  LlamaBackbone tfmr_;
  at::Tensor text_emb_;        // [text vocab, D]      text_emb.weight
  at::Tensor speech_emb_;      // [speech vocab, D]    speech_emb.weight
  at::Tensor text_pos_emb_;    // [max_text + 2, D]    text_pos_emb.emb.weight
  at::Tensor speech_pos_emb_;  // [max_speech + 4, D]  speech_pos_emb.emb.weight
  at::Tensor text_head_;      // [text vocab, D]      text_head.weight (teacher-forced forward only)
  LinearWeight speech_head_;  // [speech vocab, D]    speech_head.weight (stored as matmul_dtype)
};

// One utterance of T3.inference: prefill of [cond | text | BOS | BOS] (the reference feeds the
// start-of-speech embedding twice), then one token per step() with CFG as a batch of 2 rows
// (row 1 = text token embeddings zeroed), or a single row when cfg_weight == 0. For a
// multilingual model each step's CFG logits first pass the alignment control, fed with the
// attention of the analyzer's heads captured during the same forward passes.
// Not thread-safe; each step() is bounded work so the caller can poll cancellation in between.
class T3Session : public SpeechTokenSession {
 public:
  // text_tokens: wrapped ids (start_text ... stop_text), e.g. [255, ..., 0].
  T3Session(std::shared_ptr<const T3Model> model, const VoiceConditioning& cond, float exaggeration,
            const std::vector<int64_t>& text_tokens, const T3SamplingParams& params);

  // Intermediates under the oracle's names: input_embeds, prefill_embeds_with_bos,
  // hidden_states (prefill only, see LlamaBackbone::forward), prefill_final_hidden, the
  // sampler's step_* (index = step), sampled_token (the generator's draw, index = step);
  // multilingual: analyzer.aligned_attn [3, T, total] (the captured maps each step reads) and
  // step_logits_after_analyzer [V].
  void set_tap(TensorTap tap) { tap_ = std::move(tap); }

  // Runs the prefill if not done yet (the first step() calls it too).
  void prefill();
  // The next speech token (the stop token is returned too, then finished() is true).
  int64_t step() override;
  // Teacher forcing: as step(), the generator still draws (and reports "sampled_token"), but
  // `token` is what gets emitted and fed back.
  int64_t step_forced(int64_t token);

  bool finished() const override { return finished_; }
  bool prefilled() const { return prefilled_; }
  const std::vector<int64_t>& tokens() const override {
    return generated_;
  }  // raw output, incl. stop
  int64_t prefill_length() const { return prefill_len_; }
  int64_t rows() const { return rows_; }
  // Multilingual: the alignment analyzer (null otherwise) and what each step of it did.
  const AlignmentStreamAnalyzer* analyzer() const { return analyzer_.get(); }
  const std::vector<AlignmentStepResult>& analysis() const { return analysis_; }

 private:
  int64_t advance(const int64_t* forced);

  std::shared_ptr<const T3Model> model_;
  T3Sampler sampler_;
  TensorTap tap_;
  int64_t rows_ = 2;
  at::Tensor input_embeds_for_tap_;  // [B, Lc + Tt + 1, D], kept until the prefill only
  at::Tensor
      prefill_embeds_;  // [B, Lc + Tt + 2, D], built at construction, dropped after the prefill
  int64_t prefill_len_ = 0;
  KvCache cache_;
  at::Tensor last_logits_;          // [B, V] speech logits of the last fed position
  std::vector<int64_t> history_;    // ids seen by the repetition penalty (start + generated)
  std::vector<int64_t> generated_;  // emitted tokens
  int64_t pending_ = -1;            // last emitted token, not yet fed to the backbone
  bool prefilled_ = false;
  bool finished_ = false;
  std::unique_ptr<AlignmentStreamAnalyzer> analyzer_;  // multilingual only
  AttentionCapture capture_;                           // the analyzer's heads, of the last forward
  std::vector<AlignmentStepResult> analysis_;
};

// ChatterboxTTS.generate's post-processing (drop_invalid_tokens): drop everything up to and
// including the first start-speech id, cut at the first stop-speech id, keep only codec ids
// (< start_speech_token, 6561). The result is what S3Gen takes.
std::vector<int64_t> t3_tokens_for_s3gen(const std::vector<int64_t>& raw,
                                         int64_t start_speech_token = 6561,
                                         int64_t stop_speech_token = 6562);

}  // namespace chatterbox
