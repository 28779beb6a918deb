/* gst-chatterbox: Chatterbox text-to-speech for GStreamer.
 * SPDX-License-Identifier: MIT
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <vector>

#include "chatterboxvoicefile.h"
#include "gstchatterboxttsprivate.h"
#include "gstchatterboxttsvoice.h"

namespace chatterbox {

std::shared_ptr<const Voice> VoiceResolver::select(Synthesizer& synth, const std::string& path,
                                                   GstObject* log_object) {
  if (path != current_path_ || (!path.empty() && !current_)) {
    current_ = load(synth, path, log_object);
    current_path_ = path;
  }
  return current_;
}

void VoiceResolver::clear() {
  current_path_.clear();
  current_.reset();
}

std::shared_ptr<const Voice> VoiceResolver::load(Synthesizer& synth, const std::string& path,
                                                 GstObject* log_object) {
  if (path.empty()) return nullptr;
  if (is_conditioning_file(path)) {
    if (!g_file_test(path.c_str(), G_FILE_TEST_EXISTS))
      throw VoiceFileError(VoiceFileError::Reason::kNotFound,
                           "voice file '" + path + "' does not exist");
    return synth.voice_from_file(path);
  }
  VoiceDecodeOptions options;
  std::vector<float> samples = decode_voice_file(path, options);
  GST_INFO_OBJECT(log_object, "decoded voice %s: %zu samples", path.c_str(), samples.size());
  return synth.voice_from_audio(samples, options.sample_rate);
}

}  // namespace chatterbox
