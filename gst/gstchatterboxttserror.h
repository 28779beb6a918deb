/* gst-chatterbox: Chatterbox text-to-speech for GStreamer.
 * SPDX-License-Identifier: MIT
 */

/* Error mapping of the chatterboxtts element: every C++ exception stops at the entry point
 * that GStreamer called (pad functions, the task, state changes) and becomes an element
 * error. gst_chatterbox_tts_guard() is that one catch for every entry point. */
#pragma once

#include <gst/gst.h>

#include <utility>

/* Posts the error of the exception being handled, mapped to a GStreamer error domain and
 * code (chatterbox::Error by kind, VoiceFileError by reason). `what` prefixes the message.
 * Call only inside a catch block. */
void gst_chatterbox_tts_post_current_exception(GstElement* element, const char* what);

namespace chatterbox {
struct NoCleanup {
  void operator()() const {}
};
}  // namespace chatterbox

/* Runs `fn` and returns its result; if it throws, runs `cleanup` (which must not throw), posts
 * the error (prefixed with `what`) on the bus and returns `on_error`. */
template <typename Ret, typename Fn, typename Cleanup = chatterbox::NoCleanup>
Ret gst_chatterbox_tts_guard(GstElement* element, const char* what, Ret on_error, Fn&& fn,
                             Cleanup&& cleanup = Cleanup()) {
  try {
    return std::forward<Fn>(fn)();
  } catch (...) {
    cleanup();
    gst_chatterbox_tts_post_current_exception(element, what);
    return on_error;
  }
}
