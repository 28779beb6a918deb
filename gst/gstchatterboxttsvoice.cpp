/* gst-chatterbox: Chatterbox text-to-speech for GStreamer.
 * SPDX-License-Identifier: MIT
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/stat.h>

#include <vector>

#include "chatterboxvoicefile.h"
#include "gstchatterboxttsprivate.h"
#include "gstchatterboxttsvoice.h"

namespace chatterbox {

namespace {

/* Identifies a voice file version, so a replaced file is decoded again. */
std::string voice_cache_key(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return path;
  return path + "|" + std::to_string((long long)st.st_mtime) + "|" +
         std::to_string((long long)st.st_size);
}

}  // namespace

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
  cache_.clear();
}

std::shared_ptr<const Voice> VoiceResolver::load(Synthesizer& synth, const std::string& path,
                                                 GstObject* log_object) {
  if (path.empty()) return nullptr;
  std::string key = voice_cache_key(path);
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second;

  std::shared_ptr<const Voice> voice;
  if (is_conditioning_file(path)) {
    if (!g_file_test(path.c_str(), G_FILE_TEST_EXISTS))
      throw VoiceFileError(VoiceFileError::Reason::kNotFound,
                           "voice file '" + path + "' does not exist");
    voice = synth.voice_from_file(path);
  } else {
    VoiceDecodeOptions options;
    std::vector<float> samples = decode_voice_file(path, options);
    GST_INFO_OBJECT(log_object, "decoded voice %s: %zu samples", path.c_str(), samples.size());
    voice = synth.voice_from_audio(samples, options.sample_rate);
  }
  cache_[key] = voice;
  return voice;
}

}  // namespace chatterbox
