// The synthesis settings that more than one layer reads, each declared once with its default:
// the engine API's SynthesisParams (engine.h) holds them, the T3 samplers (t3/) and the chunk
// planner (stream/) take them as they are, adding only what is theirs. No torch.
#pragma once

#include "common/audio_format.h"
#include "common/model_variant.h"

namespace chatterbox {

// How speech tokens are drawn. Defaults are the original generate() defaults; where the models
// differ, the field holds a "model default" value (resolved_for()).
struct SamplingSettings {
  float cfg_weight = 0.5f;  // English only: classifier-free guidance weight (0: off)
  float temperature = 0.8f;
  float top_p = -1.0f;  // < 0: the model's default (English 1.0 = off, Turbo 0.95)
  int top_k = 0;        // 0: the model's default (Turbo 1000; English has no top-k)
  float min_p = 0.05f;  // English only
  float repetition_penalty =
      -1.0f;  // < 0: the model's default (English, Turbo 1.2; multilingual 2.0)

  // A copy with every "model default" replaced by `variant`'s value.
  SamplingSettings resolved_for(ModelVariant variant) const {
    SamplingSettings s = *this;
    const bool turbo = uses_turbo_pipeline(variant);
    if (s.top_p < 0) s.top_p = turbo ? 0.95f : 1.0f;
    if (s.top_k <= 0) s.top_k = turbo ? 1000 : 0;  // English: 0 = no top-k filter
    // ChatterboxMultilingualTTS.generate (0.1.7) defaults to a stronger penalty than English.
    if (s.repetition_penalty < 0)
      s.repetition_penalty = variant == ModelVariant::kMultilingual ? 2.0f : 1.2f;
    return s;
  }
};

// How an utterance's speech tokens are cut into chunks for S3Gen and joined again.
struct ChunkSettings {
  int first_chunk_tokens = 10;  // speech tokens in the first streamed chunk (plus look-ahead)
  int chunk_tokens = 25;        // speech tokens per later chunk
  int max_chunk_tokens = 25;    // chunks double from chunk_tokens up to this (CosyVoice2 style)
  StitchMode stitch_mode = StitchMode::kContext;
  int overlap_tokens =
      8;  // overlap-add mode: 16 frames, so the phase anchor sits 8 frames from both edges
};

}  // namespace chatterbox
