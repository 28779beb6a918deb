// Next-token choice of the T3 decoding loop: CFG mix, then the logit processors in the order of
// chatterbox/models/t3/t3.py T3.inference (HF RepetitionPenaltyLogitsProcessor, temperature,
// MinPLogitsWarper, TopPLogitsWarper from transformers/generation/logits_process.py), then a
// multinomial draw. Runs on the CPU whatever the model device (8194 logits; a CPU generator
// makes a seed mean the same draws everywhere).
#pragma once

#include <ATen/ATen.h>
#include <ATen/core/Generator.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "common/synthesis_settings.h"
#include "common/tensor_tap.h"

namespace chatterbox {

// The sampling settings (common/synthesis_settings.h) resolved for this model, and what one
// session adds. Defaults = ChatterboxTTS.generate() defaults. cfg_weight 0: no guidance,
// single-row inference; top_k is not used.
struct T3SamplingParams : SamplingSettings {
  T3SamplingParams() : SamplingSettings(SamplingSettings().resolved_for(ModelVariant::kEnglish)) {}
  T3SamplingParams(const SamplingSettings& settings, int64_t max_new_tokens, uint64_t seed)
      : SamplingSettings(settings.resolved_for(ModelVariant::kEnglish)),
        max_new_tokens(max_new_tokens),
        seed(seed) {}
  int64_t max_new_tokens = 1000;
  uint64_t seed = 0;  // the session's generator seed (torch.manual_seed equivalent)
  // Multilingual T3 only: run the alignment control (AlignmentStreamAnalyzer) as 0.1.7 does.
  // Off gives upstream main's loop (it dropped the analyzer); benchmarks compare the two.
  bool alignment_control = true;

  // Throws Error(kInvalidInput) for values the reference processors reject.
  void validate() const;
};

class T3Sampler {
 public:
  explicit T3Sampler(const T3SamplingParams& params);

  // raw [B, V] speech logits of the last position (row 0 conditional, row 1 unconditional when
  // B == 2) -> probabilities [V] after CFG and every processor. `history` = every id fed so far
  // (start token + generated tokens); the repetition penalty uses its distinct ids.
  // tap names (index = `step`): step_logits_raw [B, V], step_logits_cfg,
  // step_logits_after_rep_penalty, step_logits_after_temperature, step_logits_after_min_p,
  // step_logits_after_top_p, step_probs [V]. edit_after_cfg: changes the CFG logits [1, V] in place
  // before the processors (the multilingual alignment control).
  at::Tensor probabilities(const at::Tensor& raw, const std::vector<int64_t>& history, int64_t step,
                           const TensorTap& tap = {},
                           const std::function<void(at::Tensor&)>& edit_after_cfg = {}) const;

  // One multinomial draw from probs [V] with the sampler's generator.
  int64_t draw(const at::Tensor& probs);

  const T3SamplingParams& params() const { return params_; }

 private:
  T3SamplingParams params_;
  at::Generator generator_;
};

}  // namespace chatterbox
