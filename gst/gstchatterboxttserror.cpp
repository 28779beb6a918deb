/* gst-chatterbox: Chatterbox text-to-speech for GStreamer.
 * SPDX-License-Identifier: MIT
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <exception>

#include "chatterboxvoicefile.h"
#include "common/error.h"
#include "gstchatterboxttserror.h"
#include "gstchatterboxttsprivate.h"

static void post_engine_error(GstElement* self, const chatterbox::Error& e, const char* what) {
  using chatterbox::ErrorKind;
  switch (e.kind()) {
    case ErrorKind::kModelFile:
      GST_ELEMENT_ERROR(self, LIBRARY, INIT, ("%s: %s", what, e.what()),
                        ("model file error (%s)", chatterbox::error_kind_name(e.kind())));
      break;
    case ErrorKind::kIo:
      GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ, ("%s: %s", what, e.what()), (NULL));
      break;
    case ErrorKind::kDevice:
      GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("%s: %s", what, e.what()), (NULL));
      break;
    case ErrorKind::kInvalidInput:
      GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("%s: %s", what, e.what()), (NULL));
      break;
    default:
      GST_ELEMENT_ERROR(self, STREAM, FAILED, ("%s: %s", what, e.what()),
                        ("engine error (%s)", chatterbox::error_kind_name(e.kind())));
      break;
  }
}

static void post_voice_error(GstElement* self, const chatterbox::VoiceFileError& e) {
  using Reason = chatterbox::VoiceFileError::Reason;
  switch (e.reason()) {
    case Reason::kNotFound:
      GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("%s", e.what()), (NULL));
      break;
    case Reason::kUnreadable:
      GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ, ("%s", e.what()), (NULL));
      break;
    case Reason::kMissingPlugin:
      GST_ELEMENT_ERROR(self, CORE, MISSING_PLUGIN, ("%s", e.what()), (NULL));
      break;
    case Reason::kNotAudio:
      GST_ELEMENT_ERROR(self, STREAM, WRONG_TYPE, ("%s", e.what()), (NULL));
      break;
    case Reason::kTimeout:
      GST_ELEMENT_ERROR(self, STREAM, DECODE, ("%s", e.what()), (NULL));
      break;
    case Reason::kSilent:
    case Reason::kTooShort:
      GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("%s", e.what()), (NULL));
      break;
  }
}

void gst_chatterbox_tts_post_current_exception(GstElement* self, const char* what) {
  try {
    throw;
  } catch (const chatterbox::VoiceFileError& e) {
    post_voice_error(self, e);
  } catch (const chatterbox::Error& e) {
    post_engine_error(self, e, what);
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("%s: %s", what, e.what()), (NULL));
  } catch (...) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("%s: unknown exception", what), (NULL));
  }
}
