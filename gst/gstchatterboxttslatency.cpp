/* gst-chatterbox: Chatterbox text-to-speech for GStreamer.
 * SPDX-License-Identifier: MIT
 */

/* Latency and position of chatterboxtts: the source pad's LATENCY and POSITION queries, the
 * element's own latency (one value, used by the query and by the live deadline alike), the
 * measurement that raises it when the configured value cannot be met, and the live deadline
 * past which audio is dropped as late. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <algorithm>

#include "gstchatterboxttserror.h"
#include "gstchatterboxttsprivate.h"

/* A raised latency is the measured need plus a quarter, rounded up to this, so that small
 * variations of the measurement do not raise it again. */
static const GstClockTime kLatencyStep = 100 * GST_MSECOND;

GstClockTime gst_chatterbox_tts_running_time_now(GstChatterboxTts* self) {
  GST_OBJECT_LOCK(self);
  bool playing = GST_STATE(self) == GST_STATE_PLAYING;
  GstClock* clock =
      GST_ELEMENT_CLOCK(self) ? (GstClock*)gst_object_ref(GST_ELEMENT_CLOCK(self)) : NULL;
  GstClockTime base = GST_ELEMENT_CAST(self)->base_time;
  GST_OBJECT_UNLOCK(self);
  if (!clock) return GST_CLOCK_TIME_NONE;
  GstClockTime now = gst_clock_get_time(clock);
  gst_object_unref(clock);
  if (!playing || !GST_CLOCK_TIME_IS_VALID(now) || now < base) return GST_CLOCK_TIME_NONE;
  return now - base;
}

/* The synthesis part of the own latency: the `latency` property, or what measurement showed
 * is needed when that is more. With the object lock. */
static GstClockTime processing_latency_locked(GstChatterboxTtsPrivate* priv) {
  return std::max<GstClockTime>(priv->settings.latency_ms * GST_MSECOND, priv->latency_needed);
}

GstClockTime gst_chatterbox_tts_own_latency(GstChatterboxTts* self) {
  GST_OBJECT_LOCK(self);
  GstClockTime own = processing_latency_locked(self->priv);
  GST_OBJECT_UNLOCK(self);
  return own + self->priv->converter_latency;
}

void gst_chatterbox_tts_post_latency(GstChatterboxTts* self) {
  if (!self->priv->upstream_live) return; /* nothing to recompute: no live latency */
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_latency(GST_OBJECT(self)));
}

void gst_chatterbox_tts_note_processing(GstChatterboxTts* self, GstClockTime need) {
  GstChatterboxTtsPrivate* priv = self->priv;
  GstClockTime configured, raised = 0;
  GST_OBJECT_LOCK(self);
  configured = priv->settings.latency_ms * GST_MSECOND;
  if (need > processing_latency_locked(priv)) {
    raised = gst_util_uint64_scale_int_ceil(need + need / 4, 1, kLatencyStep) * kLatencyStep;
    priv->latency_needed = raised;
  }
  GST_OBJECT_UNLOCK(self);
  if (raised == 0) return;
  GST_ELEMENT_WARNING(
      self, LIBRARY, SETTINGS,
      ("Latency %" G_GUINT64_FORMAT " ms is too short for this machine: set the "
       "latency property to at least %" G_GUINT64_FORMAT " ms",
       configured / GST_MSECOND, raised / GST_MSECOND),
      ("audio was ready %" GST_TIME_FORMAT " after its utterance started; the "
       "element now reports (and drops late audio against) %" G_GUINT64_FORMAT " ms",
       GST_TIME_ARGS(need), raised / GST_MSECOND));
  gst_chatterbox_tts_post_latency(self);
}

/* Keeps what upstream answered to a LATENCY query (the live deadline needs it). */
static void remember_upstream_latency(GstChatterboxTtsPrivate* priv, GstQuery* answered,
                                      gboolean* live, GstClockTime* min, GstClockTime* max) {
  gst_query_parse_latency(answered, live, min, max);
  priv->upstream_live = *live;
  priv->upstream_min = *min;
  priv->upstream_known = true;
}

/* Asks upstream whether it is live, when no latency query has told us yet. */
void gst_chatterbox_tts_ensure_upstream_latency(GstChatterboxTts* self) {
  GstChatterboxTtsPrivate* priv = self->priv;
  if (priv->upstream_known || !gst_pad_is_linked(self->sinkpad)) return;
  GstQuery* query = gst_query_new_latency();
  if (gst_pad_peer_query(self->sinkpad, query)) {
    gboolean live;
    GstClockTime min, max;
    remember_upstream_latency(priv, query, &live, &min, &max);
  }
  gst_query_unref(query);
}

/* Live deadline: audio at running time rt is due at rt + upstream latency + own latency, the
 * same sum the LATENCY query answers. */
guint64 gst_chatterbox_tts_late_frames(GstChatterboxTts* self, GstClockTime now, GstClockTime pts,
                                       guint64 frames, int rate, GstClockTime* late_by) {
  GstChatterboxTtsPrivate* priv = self->priv;
  if (!priv->upstream_live || !GST_CLOCK_TIME_IS_VALID(now)) return 0;
  GstClockTime rt = gst_segment_to_running_time(&priv->segment, GST_FORMAT_TIME, pts);
  if (!GST_CLOCK_TIME_IS_VALID(rt)) return 0;
  GstClockTime deadline = rt + priv->upstream_min + gst_chatterbox_tts_own_latency(self);
  if (now <= deadline) return 0;
  *late_by = now - deadline;
  return std::min<guint64>(frames, gst_util_uint64_scale_int_ceil(*late_by, rate, GST_SECOND));
}

static gboolean src_query(GstChatterboxTts* self, GstPad* pad, GstQuery* query) {
  GstChatterboxTtsPrivate* priv = self->priv;
  switch (GST_QUERY_TYPE(query)) {
    case GST_QUERY_LATENCY: {
      /* Answerable in PAUSED before any data (transcriberbin probes it that way). */
      if (!gst_pad_is_linked(self->sinkpad)) {
        gst_query_set_latency(query, FALSE, 0, GST_CLOCK_TIME_NONE);
        return TRUE;
      }
      if (!gst_pad_peer_query(self->sinkpad, query)) return FALSE;
      gboolean live;
      GstClockTime min, max;
      remember_upstream_latency(priv, query, &live, &min, &max);
      if (live) {
        GstClockTime own = gst_chatterbox_tts_own_latency(self);
        min += own;
        if (GST_CLOCK_TIME_IS_VALID(max)) max += own;
        GST_DEBUG_OBJECT(self, "live upstream, adding %" GST_TIME_FORMAT, GST_TIME_ARGS(own));
        gst_query_set_latency(query, live, min, max);
      }
      return TRUE;
    }
    case GST_QUERY_POSITION: {
      GstFormat format;
      gst_query_parse_position(query, &format, NULL);
      GstClockTime position = priv->query_position;
      if (format != GST_FORMAT_TIME || !GST_CLOCK_TIME_IS_VALID(position))
        return gst_pad_query_default(pad, GST_OBJECT(self), query);
      /* The segment belongs to the task; a torn read only skews one answer. */
      GstSegment segment = priv->segment;
      gst_query_set_position(query, GST_FORMAT_TIME,
                             gst_segment_to_stream_time(&segment, GST_FORMAT_TIME, position));
      return TRUE;
    }
    default:
      return gst_pad_query_default(pad, GST_OBJECT(self), query);
  }
}

gboolean gst_chatterbox_tts_src_query(GstPad* pad, GstObject* parent, GstQuery* query) {
  GstChatterboxTts* self = GST_CHATTERBOX_TTS(parent);
  return gst_chatterbox_tts_guard(GST_ELEMENT(self), "Failed to answer a query", gboolean(FALSE),
                                  [&] { return src_query(self, pad, query); });
}
