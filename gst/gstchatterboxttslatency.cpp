/* gst-chatterbox: Chatterbox text-to-speech for GStreamer.
 * SPDX-License-Identifier: MIT
 */

/* Latency and position of chatterboxtts: the source pad's LATENCY and POSITION queries, the
 * time-to-first-audio estimate that the live latency includes, and the live deadline past
 * which audio is dropped as late. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <algorithm>

#include "gstchatterboxttserror.h"
#include "gstchatterboxttsprivate.h"

/* Updates the first-audio estimate used by the live latency; posts a latency message when it
 * grows, so that sinks re-configure. */
void gst_chatterbox_tts_note_first_audio(GstChatterboxTts* self, GstClockTime ttfa) {
  bool grew = false;
  GST_OBJECT_LOCK(self);
  /* Only growth by more than 10% is worth a pipeline latency reconfiguration. */
  if (ttfa > self->priv->first_chunk_estimate + self->priv->first_chunk_estimate / 10) {
    self->priv->first_chunk_estimate = ttfa;
    grew = true;
  }
  GST_OBJECT_UNLOCK(self);
  if (grew) gst_element_post_message(GST_ELEMENT(self), gst_message_new_latency(GST_OBJECT(self)));
}

/* Asks upstream whether it is live, when no latency query has told us yet. */
void gst_chatterbox_tts_ensure_upstream_latency(GstChatterboxTts* self) {
  GstChatterboxTtsPrivate* priv = self->priv;
  if (priv->upstream_known || !gst_pad_is_linked(self->sinkpad)) return;
  GstQuery* query = gst_query_new_latency();
  if (gst_pad_peer_query(self->sinkpad, query)) {
    gboolean live;
    GstClockTime min, max;
    gst_query_parse_latency(query, &live, &min, &max);
    priv->upstream_live = live;
    priv->upstream_min = min;
    priv->upstream_known = true;
  }
  gst_query_unref(query);
}

/* Live deadline: audio at running time rt is due at the sink at rt + upstream latency + our
 * latency. Returns how many leading frames of a chunk starting at `pts` are already past
 * that point (0 when upstream is not live or there is no running clock), and by how much. */
guint64 gst_chatterbox_tts_late_frames(GstChatterboxTts* self, GstClockTime pts, guint64 frames,
                                       int rate, GstClockTime* late_by) {
  GstChatterboxTtsPrivate* priv = self->priv;
  if (!priv->upstream_live) return 0;
  GST_OBJECT_LOCK(self);
  bool playing = GST_STATE(self) == GST_STATE_PLAYING;
  GstClock* clock =
      GST_ELEMENT_CLOCK(self) ? (GstClock*)gst_object_ref(GST_ELEMENT_CLOCK(self)) : NULL;
  GstClockTime base = GST_ELEMENT_CAST(self)->base_time;
  GstClockTime latency = priv->settings.latency_ms * GST_MSECOND;
  GST_OBJECT_UNLOCK(self);
  if (!clock) return 0;
  GstClockTime now = gst_clock_get_time(clock);
  gst_object_unref(clock);
  if (!playing || now < base) return 0;
  GstClockTime rt = gst_segment_to_running_time(&priv->segment, GST_FORMAT_TIME, pts);
  if (!GST_CLOCK_TIME_IS_VALID(rt)) return 0;
  GstClockTime deadline = rt + priv->upstream_min + latency;
  if (now - base <= deadline) return 0;
  *late_by = now - base - deadline;
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
      gst_query_parse_latency(query, &live, &min, &max);
      priv->upstream_live = live;
      priv->upstream_min = min;
      priv->upstream_known = true;
      if (live) {
        GST_OBJECT_LOCK(self);
        GstClockTime own = priv->settings.latency_ms * GST_MSECOND + priv->first_chunk_estimate;
        GST_OBJECT_UNLOCK(self);
        own += priv->converter_latency;
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
