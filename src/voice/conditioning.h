// The voice conditioning: everything T3 and S3Gen need to know about the speaker.
// Filled from conds.pt for the built-in voice (src/io/conds.cpp) or computed from a reference
// recording (src/voice/). Tensors live on the model's device; read-only once built.
#pragma once

#include <ATen/Tensor.h>

namespace chatterbox {

struct VoiceConditioning {
  // T3 side (conds.pt "t3" dict)
  at::Tensor speaker_emb;                // [1, 256] float, VoiceEncoder embedding (L2-normalised)
  at::Tensor cond_prompt_speech_tokens;  // [1, Tp] int64, S3 tokens of the first 6 s (Tp <= 150)
  float exaggeration = 0.5f;             // emotion_adv; the API argument overrides it per utterance

  // S3Gen side (conds.pt "gen" dict)
  at::Tensor prompt_token;  // [1, Tg] int64, S3 tokens of the (<= 10 s) reference
  at::Tensor prompt_feat;   // [1, 2*Tg, 80] float, 24 kHz log-mel, time-major
  at::Tensor embedding;     // [1, 192] float, CAMPPlus x-vector (not normalised)
};

}  // namespace chatterbox
