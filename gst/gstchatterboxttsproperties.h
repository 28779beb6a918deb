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

/* Property values, protected by the object lock. Every synthesis setting takes its default from
 * chatterbox::SynthesisParams, where it is declared once. */
struct ElementSettings {
  std::string model_path; /* "": $CHATTERBOX_MODEL_DIR, then the Hugging Face cache */
  std::string device = "auto";
  std::string voice; /* "": the built-in voice */
  double exaggeration = SynthesisParams().exaggeration;
  double cfg_weight = SynthesisParams().cfg_weight;
  double temperature = SynthesisParams().temperature;
  double top_p = SynthesisParams().top_p;
  double min_p = SynthesisParams().min_p;
  double repetition_penalty = SynthesisParams().repetition_penalty;
  gint64 seed = SynthesisParams().seed;
  guint max_tokens = guint(SynthesisParams().max_tokens);
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
  guint top_k = guint(SynthesisParams().top_k);
  std::string model_variant; /* read-only: set when the model loads, "" before */
  GstChatterboxTtsPrecision t3_precision = GST_CHATTERBOX_TTS_PRECISION_FP32;
  guint n_threads = guint(SynthesisParams().threads);
  std::string language = SynthesisParams().language; /* "": the default, en */
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
