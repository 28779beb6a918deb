/* gst-chatterbox: Chatterbox text-to-speech for GStreamer.
 * SPDX-License-Identifier: MIT
 */

/* The source pad task of chatterboxtts: takes the queue's items in order, speaks text (see
 * gstchatterboxttsutterance.cpp) and forwards the events queued between them, negotiating
 * the output and keeping segment and position on the way. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/tag/tag.h>

#include <algorithm>

#include "gstchatterboxttserror.h"
#include "gstchatterboxttsprivate.h"

void gst_chatterbox_tts_reset_output(GstChatterboxTts* self) {
  GstChatterboxTtsPrivate* priv = self->priv;
  priv->segment_pushed = false;
  priv->position = GST_CLOCK_TIME_NONE;
  priv->query_position = GST_CLOCK_TIME_NONE;
  priv->offset = 0;
  priv->discont = true;
  priv->converter.reset();
}

/* Stream-start, caps and segment must precede the first audio. Negotiates the output format
 * (preferring the model's 24 kHz F32) and renegotiates between utterances on RECONFIGURE. */
GstFlowReturn gst_chatterbox_tts_ensure_output(GstChatterboxTts* self) {
  GstChatterboxTtsPrivate* priv = self->priv;
  GstEvent* sticky = gst_pad_get_sticky_event(self->srcpad, GST_EVENT_STREAM_START, 0);
  if (sticky) {
    gst_event_unref(sticky);
  } else {
    gchar* stream_id = gst_pad_create_stream_id(self->srcpad, GST_ELEMENT(self), NULL);
    GstEvent* ev = gst_event_new_stream_start(stream_id);
    gst_event_set_group_id(ev, gst_util_group_id_next());
    g_free(stream_id);
    gst_pad_push_event(self->srcpad, ev);
  }

  if (!priv->negotiated || gst_pad_check_reconfigure(self->srcpad)) {
    GstCaps* templ = gst_pad_get_pad_template_caps(self->srcpad);
    GstCaps* caps = gst_pad_peer_query_caps(self->srcpad, templ);
    gst_caps_unref(templ);
    if (gst_caps_is_empty(caps)) {
      gst_caps_unref(caps);
      GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, (NULL),
                        ("downstream accepts none of %s", GST_CHATTERBOX_TTS_SRC_CAPS));
      return GST_CHATTERBOX_TTS_FLOW_ERROR_POSTED;
    }
    caps = gst_caps_truncate(caps);
    caps = gst_caps_make_writable(caps);
    GstStructure* s = gst_caps_get_structure(caps, 0);
    gst_structure_fixate_field_string(s, "format", "F32LE");
    gst_structure_fixate_field_nearest_int(s, "rate", chatterbox::kSampleRate);
    gst_structure_fixate_field_nearest_int(s, "channels", 1);
    caps = gst_caps_fixate(caps);
    GstAudioInfo info;
    if (!gst_audio_info_from_caps(&info, caps)) {
      GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, (NULL), ("invalid caps %" GST_PTR_FORMAT, caps));
      gst_caps_unref(caps);
      return GST_CHATTERBOX_TTS_FLOW_ERROR_POSTED;
    }
    if (!priv->negotiated || !gst_audio_info_is_equal(&info, &priv->out_info)) {
      GST_INFO_OBJECT(self, "output caps %" GST_PTR_FORMAT, caps);
      if (!gst_pad_set_caps(self->srcpad, caps)) {
        gst_caps_unref(caps);
        GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, (NULL), ("downstream refused caps"));
        return GST_CHATTERBOX_TTS_FLOW_ERROR_POSTED;
      }
      if (!priv->converter.configure(info)) {
        gst_caps_unref(caps);
        GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, (NULL),
                          ("no audio converter to %" GST_PTR_FORMAT, caps));
        return GST_CHATTERBOX_TTS_FLOW_ERROR_POSTED;
      }
      priv->out_info = info;
      priv->negotiated = true;
      priv->converter_latency = priv->converter.latency();
    }
    gst_caps_unref(caps);
  }

  if (!priv->segment_pushed) {
    if (!priv->have_segment) gst_segment_init(&priv->segment, GST_FORMAT_TIME);
    gst_pad_push_event(self->srcpad, gst_event_new_segment(&priv->segment));
    priv->segment_pushed = true;
  }
  if (!GST_CLOCK_TIME_IS_VALID(priv->position)) priv->position = priv->segment.start;
  return GST_FLOW_OK;
}

void gst_chatterbox_tts_update_position(GstChatterboxTts* self, GstClockTime position) {
  self->priv->position = position;
  self->priv->segment.position = position;
  self->priv->query_position = position;
}

/* Handles an event that waited in the queue behind the text before it. */
static GstFlowReturn task_event(GstChatterboxTts* self, GstEvent* event) {
  GstChatterboxTtsPrivate* priv = self->priv;
  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_SEGMENT: {
      const GstSegment* in;
      gst_event_parse_segment(event, &in);
      if (in->format == GST_FORMAT_TIME) {
        gst_segment_copy_into(in, &priv->segment);
      } else {
        /* Untimed input (filesrc, fdsrc): our audio gets its own timeline from 0. */
        GST_DEBUG_OBJECT(self, "%s segment in, TIME segment out", gst_format_get_name(in->format));
        guint32 seqnum = gst_event_get_seqnum(event);
        gst_event_unref(event);
        gst_segment_init(&priv->segment, GST_FORMAT_TIME);
        event = gst_event_new_segment(&priv->segment);
        gst_event_set_seqnum(event, seqnum);
      }
      priv->have_segment = true;
      priv->segment_pushed = true;
      gst_chatterbox_tts_update_position(self, priv->segment.start);
      priv->discont = true;
      /* Caps must precede the segment. */
      GstFlowReturn ret = GST_FLOW_OK;
      if (!priv->negotiated) {
        priv->segment_pushed = true; /* ensure_output must not push a default one */
        ret = gst_chatterbox_tts_ensure_output(self);
      }
      if (ret != GST_FLOW_OK) {
        gst_event_unref(event);
        return ret;
      }
      gst_pad_push_event(self->srcpad, event);
      return GST_FLOW_OK;
    }
    case GST_EVENT_GAP: {
      GstFlowReturn ret = gst_chatterbox_tts_ensure_output(self);
      if (ret != GST_FLOW_OK) {
        gst_event_unref(event);
        return ret;
      }
      GstClockTime ts, duration;
      gst_event_parse_gap(event, &ts, &duration);
      if (GST_CLOCK_TIME_IS_VALID(ts) && GST_CLOCK_TIME_IS_VALID(priv->position)) {
        GstClockTime end = GST_CLOCK_TIME_IS_VALID(duration) ? ts + duration : ts;
        if (GST_CLOCK_TIME_IS_VALID(duration) && end <= priv->position) {
          GST_DEBUG_OBJECT(self, "dropping gap already covered by audio");
          gst_event_unref(event);
          return GST_FLOW_OK;
        }
        if (ts < priv->position) {
          /* Only the part after our audio is a gap. */
          guint32 seqnum = gst_event_get_seqnum(event);
          gst_event_unref(event);
          event = gst_event_new_gap(priv->position, end - priv->position);
          gst_event_set_seqnum(event, seqnum);
          ts = priv->position;
        }
        gst_chatterbox_tts_update_position(self, std::max(priv->position, end));
      }
      gst_pad_push_event(self->srcpad, event);
      return GST_FLOW_OK;
    }
    case GST_EVENT_CUSTOM_DOWNSTREAM:
      if (gst_event_has_name(event, GST_CHATTERBOX_TTS_VOICE_EVENT)) {
        const gchar* voice = gst_structure_get_string(gst_event_get_structure(event), "voice");
        GST_INFO_OBJECT(self, "voice event: %s", GST_STR_NULL(voice));
        GST_OBJECT_LOCK(self);
        priv->settings.voice = voice ? voice : "";
        GST_OBJECT_UNLOCK(self);
        g_object_notify(G_OBJECT(self), "voice");
        gst_event_unref(event);
        return GST_FLOW_OK;
      }
      gst_pad_push_event(self->srcpad, event);
      return GST_FLOW_OK;
    case GST_EVENT_TAG: {
      /* A language tag switches the language from this point of the text stream on. */
      if (gchar* language = gst_chatterbox_tts_tag_language(event)) {
        GST_INFO_OBJECT(self, "language tag: %s", language);
        GST_OBJECT_LOCK(self);
        priv->settings.language = language;
        GST_OBJECT_UNLOCK(self);
        g_free(language);
        g_object_notify(G_OBJECT(self), "language");
      }
      gst_pad_push_event(self->srcpad, event);
      return GST_FLOW_OK;
    }
    case GST_EVENT_EOS:
      GST_DEBUG_OBJECT(self, "all text spoken, forwarding EOS");
      gst_pad_push_event(self->srcpad, event);
      return GST_FLOW_OK;
    default:
      gst_pad_push_event(self->srcpad, event);
      return GST_FLOW_OK;
  }
}

/* One item per call: the task function. Pauses the task when flushing or when the flow
 * stops (EOS, not linked, errors: those are posted and followed by EOS). */
void gst_chatterbox_tts_loop(GstChatterboxTts* self) {
  GstChatterboxTtsPrivate* priv = self->priv;
  chatterbox::QueueItem item;
  if (!priv->queue.pop(item)) {
    GST_DEBUG_OBJECT(self, "flushing, pausing task");
    gst_pad_pause_task(self->srcpad);
    return;
  }

  GstFlowReturn ret = gst_chatterbox_tts_guard(GST_ELEMENT(self), "Speech synthesis failed",
                                               GST_CHATTERBOX_TTS_FLOW_ERROR_POSTED, [&] {
                                                 if (!item.event)
                                                   return gst_chatterbox_tts_speak(self, item);
                                                 GstEvent* event = item.event;
                                                 item.event = nullptr;
                                                 return task_event(self, event);
                                               });
  if (ret == GST_FLOW_OK) return;

  bool posted = ret == GST_CHATTERBOX_TTS_FLOW_ERROR_POSTED;
  if (posted) ret = GST_FLOW_ERROR;
  ret = priv->queue.stop_with(ret);
  GST_DEBUG_OBJECT(self, "pausing task: %s", gst_flow_get_name(ret));
  gst_pad_pause_task(self->srcpad);
  if (ret == GST_FLOW_EOS) {
    gst_pad_push_event(self->srcpad, gst_event_new_eos());
  } else if (ret == GST_FLOW_NOT_LINKED || ret < GST_FLOW_EOS) {
    if (!posted) GST_ELEMENT_FLOW_ERROR(self, ret);
    gst_pad_push_event(self->srcpad, gst_event_new_eos());
  }
}

gchar* gst_chatterbox_tts_tag_language(GstEvent* event) {
  GstTagList* tags = nullptr;
  gst_event_parse_tag(event, &tags);
  gchar* code = nullptr;
  if (!tags || !gst_tag_list_get_string(tags, GST_TAG_LANGUAGE_CODE, &code)) return nullptr;
  /* The tag may hold an ISO 639-2 code ("fra") or a name: the model takes ISO 639-1. */
  const gchar* iso1 = gst_tag_get_language_code_iso_639_1(code);
  if (iso1) {
    g_free(code);
    return g_strdup(iso1);
  }
  return code; /* unknown to GStreamer: passed on, the model says whether it speaks it */
}
