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

#ifdef __cplusplus
#include <functional>
#include <memory>

#include "engine.h"

namespace chatterbox {
// Makes the synthesizer an element uses once it goes NULL->READY. The default calls
// chatterbox::Engine::load(config).
using SynthesizerFactory = std::function<std::shared_ptr<Synthesizer>(const EngineConfig&)>;
}  // namespace chatterbox

/* Test hook: every chatterboxtts element that loads after this call gets its synthesizer
 * from @factory instead of the real engine (the element tests inject a deterministic fake
 * this way). An empty function restores chatterbox::Engine::load. Thread-safe. */
void gst_chatterbox_tts_set_synthesizer_factory(chatterbox::SynthesizerFactory factory);
#endif
