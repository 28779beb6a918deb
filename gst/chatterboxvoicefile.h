// Decoding a voice reference recording for chatterboxtts: any audio file GStreamer can play is
// decoded with a private pipeline to mono float samples at the rate the engine asks for. No
// torch here; the engine turns the samples into a chatterbox::Voice.
#pragma once

#include <gst/gst.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace chatterbox {

// Why a voice file could not be used; the element maps each reason to a GStreamer error.
class VoiceFileError : public std::runtime_error {
 public:
  enum class Reason {
    kNotFound,
    kUnreadable,
    kNotAudio,
    kSilent,
    kTooShort,
    kTimeout,
    kMissingPlugin
  };
  VoiceFileError(Reason reason, const std::string& message)
      : std::runtime_error(message), reason_(reason) {}
  Reason reason() const { return reason_; }

 private:
  Reason reason_;
};

struct VoiceDecodeOptions {
  int sample_rate = 24000;     // S3Gen's rate; the engine resamples further as it needs
  double max_seconds = 30.0;   // decoding stops here (Chatterbox uses at most the first 10 s)
  double min_seconds = 1.0;    // shorter recordings give no usable speaker embedding
  float silence_peak = 1e-3f;  // peak below -60 dBFS counts as silence
  GstClockTime timeout = 20 * GST_SECOND;  // whole decode, so a stuck decoder cannot hang us
};

// True for files that hold saved conditioning (conds.pt or a save_voice() file) rather than
// audio: paths ending in .pt or .safetensors.
bool is_conditioning_file(const std::string& path);

// Decodes `path` (filesrc ! decodebin ! audioconvert ! audioresample ! appsink) into mono float
// samples [S] at options.sample_rate. Throws VoiceFileError with a message naming the file.
std::vector<float> decode_voice_file(const std::string& path,
                                     const VoiceDecodeOptions& options = {});

}  // namespace chatterbox
