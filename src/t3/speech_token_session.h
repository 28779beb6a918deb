// What the engine needs from a T3 session, whatever the model variant (English Llama T3 with CFG,
// Turbo GPT-2 T3): one speech token per bounded step, so the caller can poll cancellation and
// stream tokens to S3Gen as they come.
#pragma once

#include <cstdint>
#include <vector>

namespace chatterbox {

class SpeechTokenSession {
 public:
  virtual ~SpeechTokenSession() = default;
  // Runs the prefill on the first call, then one backbone position per call. Returns the token
  // emitted by this step (stop tokens included), or -1 when the session ended without emitting
  // one. Calling it once finished() is true throws Error(kInternal).
  virtual int64_t step() = 0;
  virtual bool finished() const = 0;
  // Every token emitted so far, as sampled (stop tokens included).
  virtual const std::vector<int64_t>& tokens() const = 0;
};

}  // namespace chatterbox
