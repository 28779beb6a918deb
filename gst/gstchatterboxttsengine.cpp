/* gst-chatterbox: Chatterbox text-to-speech for GStreamer.
 * SPDX-License-Identifier: MIT
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <mutex>
#include <string>

#include "common/device_name.h"
#include "common/error.h"
#include "gstchatterboxttsengine.h"
#include "gstchatterboxttserror.h"
#include "gstchatterboxttsprivate.h"

namespace {

std::mutex factory_mutex;
chatterbox::SynthesizerFactory synthesizer_factory;

std::shared_ptr<chatterbox::Synthesizer> make_synthesizer(const chatterbox::EngineConfig& config) {
  chatterbox::SynthesizerFactory factory;
  {
    std::lock_guard<std::mutex> lock(factory_mutex);
    factory = synthesizer_factory;
  }
  if (factory) return factory(config);
  return chatterbox::Engine::load(config);
}

void post_progress(GstChatterboxTts* self, GstProgressType type, const char* text) {
  gst_element_post_message(GST_ELEMENT(self),
                           gst_message_new_progress(GST_OBJECT(self), type, "loading", text));
}

}  // namespace

void gst_chatterbox_tts_set_synthesizer_factory(chatterbox::SynthesizerFactory factory) {
  std::lock_guard<std::mutex> lock(factory_mutex);
  synthesizer_factory = std::move(factory);
}

gboolean gst_chatterbox_tts_start_engine(GstChatterboxTts* self) {
  GstChatterboxTtsPrivate* priv = self->priv;
  chatterbox::EngineConfig config;
  std::string voice;
  GST_OBJECT_LOCK(self);
  config.model_dir = priv->settings.model_path;
  config.device = priv->settings.device;
  switch (priv->settings.t3_precision) {
    case GST_CHATTERBOX_TTS_PRECISION_BF16:
      config.t3_precision = "bf16";
      break;
    case GST_CHATTERBOX_TTS_PRECISION_INT8:
      config.t3_precision = "int8";
      break;
    default:
      config.t3_precision = "fp32";
      break;
  }
  voice = priv->settings.voice;
  GST_OBJECT_UNLOCK(self);

  if (!chatterbox::is_device_name(config.device)) {
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS,
                      ("Invalid device '%s': use auto, cpu, cuda or cuda:N", config.device.c_str()),
                      (NULL));
    return FALSE;
  }
  if (!config.model_dir.empty() && !g_file_test(config.model_dir.c_str(), G_FILE_TEST_IS_DIR)) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND,
                      ("Model directory '%s' does not exist", config.model_dir.c_str()),
                      ("model-path must name a directory with the Chatterbox model files"));
    return FALSE;
  }

  post_progress(self, GST_PROGRESS_TYPE_START, "Loading the Chatterbox model");
  std::string what = "Failed to load the Chatterbox model";
  if (!config.model_dir.empty()) what += " from '" + config.model_dir + "'";
  bool loaded = gst_chatterbox_tts_guard(
      GST_ELEMENT(self), what.c_str(), false,
      [&] {
        priv->synth = make_synthesizer(config);
        if (!priv->synth)
          throw chatterbox::Error(chatterbox::ErrorKind::kInternal, "no synthesizer");
        GST_INFO_OBJECT(self, "model: %s", priv->synth->describe().c_str());
        return true;
      },
      [&] { post_progress(self, GST_PROGRESS_TYPE_ERROR, "Loading the Chatterbox model failed"); });
  if (!loaded) {
    priv->synth.reset();
    return FALSE;
  }
  const char* variant = chatterbox::model_variant_name(priv->synth->variant());
  GST_OBJECT_LOCK(self);
  priv->settings.model_variant = variant;
  GST_OBJECT_UNLOCK(self);
  priv->warned_ignored.clear();
  g_object_notify(G_OBJECT(self), "model-variant");
  const std::string loaded_text =
      std::string("Chatterbox model loaded: ") + variant + ", " + priv->synth->describe();
  post_progress(self, GST_PROGRESS_TYPE_COMPLETE, loaded_text.c_str());

  /* A voice set already is checked now, so a bad file fails here rather than mid-stream. */
  priv->voices.clear();
  what = "Failed to load voice '" + voice + "'";
  if (!gst_chatterbox_tts_guard(GST_ELEMENT(self), what.c_str(), false, [&] {
        priv->voices.select(*priv->synth, voice, GST_OBJECT(self));
        return true;
      })) {
    priv->synth.reset();
    priv->voices.clear();
    return FALSE;
  }
  return TRUE;
}

void gst_chatterbox_tts_stop_engine(GstChatterboxTts* self) {
  GST_OBJECT_LOCK(self);
  self->priv->settings.model_variant.clear();
  GST_OBJECT_UNLOCK(self);
  self->priv->synth.reset();
  self->priv->voices.clear();
}
