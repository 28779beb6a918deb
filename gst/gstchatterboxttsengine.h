/* gst-chatterbox: Chatterbox text-to-speech for GStreamer.
 * SPDX-License-Identifier: MIT
 */

/* How a chatterboxtts element gets its engine: the synthesizer (model) and the voice loaded
 * in NULL->READY, released in READY->NULL. Private (not installed): the element tests inject
 * their fake synthesizer through gst_chatterbox_tts_set_synthesizer_factory(). */
#pragma once

#include <gst/gst.h>

#include <functional>
#include <memory>

#include "engine.h"
#include "gstchatterboxtts.h"

namespace chatterbox {
// Makes the synthesizer an element uses once it goes NULL->READY. The default calls
// chatterbox::Engine::load(config).
using SynthesizerFactory = std::function<std::shared_ptr<Synthesizer>(const EngineConfig&)>;
}  // namespace chatterbox

/* Test hook: every chatterboxtts element that loads after this call gets its synthesizer
 * from @factory instead of the real engine (the element tests inject a deterministic fake
 * this way). An empty function restores chatterbox::Engine::load. Thread-safe. */
void gst_chatterbox_tts_set_synthesizer_factory(chatterbox::SynthesizerFactory factory);

/* NULL->READY: checks the settings, loads (or shares) the model, loads the voice if one is
 * set. Posts the error and returns FALSE on failure. */
gboolean gst_chatterbox_tts_start_engine(GstChatterboxTts* self);

/* READY->NULL: releases the model and the voices. */
void gst_chatterbox_tts_stop_engine(GstChatterboxTts* self);
