// Model defaults and unused settings of SynthesisParams (engine.h), per model variant.
#include "engine.h"

namespace chatterbox {

SynthesisParams SynthesisParams::resolve_for(ModelVariant variant) const {
  SynthesisParams p = *this;
  const bool turbo = uses_turbo_pipeline(variant);
  if (p.top_p < 0) p.top_p = turbo ? 0.95f : 1.0f;
  if (p.top_k <= 0) p.top_k = turbo ? 1000 : 0;  // English: 0 = no top-k filter
  if (p.cfm_steps <= 0) p.cfm_steps = turbo ? 2 : 10;
  // ChatterboxMultilingualTTS.generate (0.1.7) defaults to a stronger penalty than English.
  if (p.repetition_penalty < 0) p.repetition_penalty = variant == ModelVariant::kMultilingual ? 2.0f : 1.2f;
  return p;
}

std::vector<std::string> SynthesisParams::ignored_by(ModelVariant variant) const {
  const SynthesisParams defaults;
  std::vector<std::string> ignored;
  if (uses_turbo_pipeline(variant)) {
    // Turbo's generate() takes these arguments and drops them (no CFG, no emotion input, no
    // min-p processor).
    if (cfg_weight != defaults.cfg_weight) ignored.push_back("cfg_weight");
    if (exaggeration != defaults.exaggeration) ignored.push_back("exaggeration");
    if (min_p != defaults.min_p) ignored.push_back("min_p");
  } else if (top_k != defaults.top_k) {
    ignored.push_back("top_k");  // the English sampler has no top-k step
  }
  return ignored;
}

}  // namespace chatterbox
