// Model defaults and unused settings of SynthesisParams (engine.h), per model variant.
#include "engine.h"

namespace chatterbox {

SynthesisParams SynthesisParams::resolve_for(ModelVariant variant) const {
  SynthesisParams p = *this;
  static_cast<SamplingSettings&>(p) = resolved_for(variant);
  if (p.cfm_steps <= 0) p.cfm_steps = uses_turbo_pipeline(variant) ? 2 : 10;
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
