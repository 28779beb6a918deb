// The engine's Voice: a VoiceConditioning with a description. Immutable; shared by utterances.
#pragma once

#include <string>
#include <utility>

#include "engine.h"
#include "voice/conditioning.h"

namespace chatterbox {

class ConditionedVoice : public Voice {
 public:
  ConditionedVoice(VoiceConditioning cond, std::string description)
      : cond_(std::move(cond)), description_(std::move(description)) {}
  std::string describe() const override { return description_; }
  const VoiceConditioning& conditioning() const { return cond_; }

 private:
  VoiceConditioning cond_;
  std::string description_;
};

}  // namespace chatterbox
