/* gst-chatterbox: Chatterbox text-to-speech for GStreamer.
 * SPDX-License-Identifier: MIT
 */

/* Voice resolution of the chatterboxtts element: a voice property value (a path, or "" for
 * the model's built-in voice) to the chatterbox::Voice the engine speaks with. The element keeps
 * only the voice selected now; the engine's voice cache (src/engine/voice_cache.h) is what
 * makes a recording used again cost nothing. */
#pragma once

#include <gst/gst.h>

#include <memory>
#include <string>

#include "engine.h"

namespace chatterbox {

/* Not thread-safe: used from NULL->READY and by the source pad task, never at once. */
class VoiceResolver {
 public:
  /* The voice for `path`, loading it when the path differs from the last one selected (or it
   * failed to load): null for "" (the built-in voice). Audio files are decoded with
   * decode_voice_file(), .pt/.safetensors conditioning read by the synthesizer. Throws
   * VoiceFileError or chatterbox::Error; the current voice is then unchanged. `log_object`
   * names the element in debug logs. */
  std::shared_ptr<const Voice> select(Synthesizer& synth, const std::string& path,
                                      GstObject* log_object);

  /* Forgets the current voice (the synthesizer goes away). */
  void clear();

 private:
  std::shared_ptr<const Voice> load(Synthesizer& synth, const std::string& path,
                                    GstObject* log_object);

  std::string current_path_; /* path of the voice last selected */
  std::shared_ptr<const Voice> current_;
};

}  // namespace chatterbox
