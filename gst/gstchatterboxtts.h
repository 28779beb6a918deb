/* chatterboxtts: Chatterbox neural text-to-speech as a GStreamer element.
 *
 * The element is GObject glue only; the model lives behind chatterbox::Synthesizer
 * (src/engine.h, no torch in this header or anywhere under gst/). */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_CHATTERBOX_TTS (gst_chatterbox_tts_get_type())
G_DECLARE_FINAL_TYPE(GstChatterboxTts, gst_chatterbox_tts, GST, CHATTERBOX_TTS, GstElement)

GST_ELEMENT_REGISTER_DECLARE(chatterboxtts);

G_END_DECLS
