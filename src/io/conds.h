// conds.pt: the built-in voice, a torch.save zip pickle {"t3": {...}, "gen": {...}} (see
// docs/model.md §2.9 conds.pt). Read and written with libtorch's pickle support.
#pragma once

#include <c10/core/TensorOptions.h>

#include <string>

#include "voice/conditioning.h"

namespace chatterbox {

// Throws Error(kModelFile) naming the file and the key that is missing or malformed.
VoiceConditioning load_conds(const std::string& path, c10::TensorOptions float_options);
// Writes the same schema (None for t3.clap_emb, t3.cond_prompt_speech_emb, gen.prompt_feat_len).
void save_conds(const VoiceConditioning& conds, const std::string& path);

}  // namespace chatterbox
