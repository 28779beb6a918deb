/* gst-chatterbox: Chatterbox text-to-speech for GStreamer.
 * SPDX-License-Identifier: MIT
 */

/* The properties of the chatterboxtts element: their values, their GParamSpecs, and what an
 * utterance takes from them. Adding a property: a field (with its default) in ElementSettings
 * and one entry in the table of gstchatterboxttsproperties.cpp (plus its use, e.g. in
 * gst_chatterbox_tts_snapshot_settings()). */
#pragma once

#include <gst/gst.h>

#include <string>

#include "engine.h"
#include "gstchatterboxenums.h"
#include "gstchatterboxtts.h"

namespace chatterbox {

/* Property values, protected by the object lock. Defaults of the synthesis settings are the
 * original ChatterboxTTS.generate() defaults, those of the streaming knobs the engine's (the
 * element tests check both against SynthesisParams). */
struct ElementSettings {
  std::string model_path; /* "": $CHATTERBOX_MODEL_DIR, then the Hugging Face cache */
  std::string device = "auto";
  std::string voice; /* "": the built-in voice */
  double exaggeration = 0.5;
  double cfg_weight = 0.5;
  double temperature = 0.8;
  double top_p = 1.0;
  double min_p = 0.05;
  double repetition_penalty = 1.2;
  gint64 seed = -1;
  guint max_tokens = 1000;
  std::string text;
  guint first_chunk_size = guint(SynthesisParams().first_chunk_tokens);
  guint chunk_size = guint(SynthesisParams().chunk_tokens);
  guint max_chunk_size = guint(SynthesisParams().max_chunk_tokens);
  GstChatterboxTtsStitchMode stitch_mode = GST_CHATTERBOX_TTS_STITCH_CONTEXT;
  guint overlap = guint(SynthesisParams().overlap_tokens);
  guint cfm_steps = guint(SynthesisParams().cfm_steps);
  guint queue_depth = guint(SynthesisParams().queue_depth);
  GstChatterboxTtsOverflow overflow = GST_CHATTERBOX_TTS_OVERFLOW_SHIFT;
  guint latency_ms = 1000;
  gboolean post_messages = TRUE;
  guint max_queued_text = 32;
};

/* What one utterance needs from the properties, read once under the object lock when it
 * starts: property changes apply from the next utterance. */
struct UtteranceSettings {
  SynthesisParams params; /* without the voice, which the task resolves */
  std::string voice;
  GstChatterboxTtsOverflow overflow;
  bool post_messages;
};

}  // namespace chatterbox

/* Installs every property and the set/get_property vfuncs. */
void gst_chatterbox_tts_install_properties(GObjectClass* gobject_class);

/* The settings of the next utterance (takes the object lock). */
chatterbox::UtteranceSettings gst_chatterbox_tts_snapshot_settings(GstChatterboxTts* self);
