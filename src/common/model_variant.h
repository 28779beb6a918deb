// Which Chatterbox model a directory holds. Recognised from the files present (io/model_dir.h);
// every layer may include this header (no torch, no GStreamer).
//
//   english       ResembleAI/chatterbox: Llama T3 with CFG, 10-step CFM S3Gen
//   turbo         ResembleAI/chatterbox-turbo: GPT-2-medium T3 without CFG, 2-step mean-flow S3Gen
//   nano          ResembleAI/chatterbox-nano: the Turbo code with a GPT-2-small T3
//   multilingual  ResembleAI/chatterbox (mtl files): Llama T3, 23 languages
#pragma once

#include <string>

namespace chatterbox {

enum class ModelVariant { kEnglish, kTurbo, kNano, kMultilingual };

inline const char* model_variant_name(ModelVariant variant) {
  switch (variant) {
    case ModelVariant::kEnglish:
      return "english";
    case ModelVariant::kTurbo:
      return "turbo";
    case ModelVariant::kNano:
      return "nano";
    case ModelVariant::kMultilingual:
      return "multilingual";
  }
  return "unknown";
}

// Turbo and Nano share every code path; only the T3 size differs.
inline bool uses_turbo_pipeline(ModelVariant variant) {
  return variant == ModelVariant::kTurbo || variant == ModelVariant::kNano;
}

}  // namespace chatterbox
