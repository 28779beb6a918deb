/* gst-chatterbox: Chatterbox text-to-speech for GStreamer.
 * SPDX-License-Identifier: MIT
 */

/* The sink pad of chatterboxtts: text in. Frames the incoming text into utterances (timed
 * buffers and buffer lists as they are, untimed bytes by sentence) and queues them, with the
 * serialized events in between, for the source pad task. It never synthesizes. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string>
#include <utility>
#include <vector>

#include "gstchatterboxttserror.h"
#include "gstchatterboxttsprivate.h"

using chatterbox::QueueItem;

/* Longest untimed text kept waiting for a sentence end before it is spoken anyway. */
static const size_t kMaxPendingBytes = 2000;

void gst_chatterbox_tts_reset_input(GstChatterboxTts* self) {
  self->priv->decoder.reset();
  self->priv->pending.clear();
}

static std::shared_ptr<GstBuffer> share_buffer(GstBuffer* buffer) {
  if (!buffer) return nullptr;
  return std::shared_ptr<GstBuffer>(gst_buffer_ref(buffer), gst_buffer_unref);
}

/* Queues one piece of text, blocking while the queue is full. Returns the flow result the
 * chain function should return. */
static GstFlowReturn queue_text(GstChatterboxTts* self, QueueItem&& item) {
  guint max_queued;
  GST_OBJECT_LOCK(self);
  max_queued = self->priv->settings.max_queued_text;
  GST_OBJECT_UNLOCK(self);
  GST_LOG_OBJECT(self, "queueing text '%s' pts %" GST_TIME_FORMAT, item.text.c_str(),
                 GST_TIME_ARGS(item.pts));
  return self->priv->queue.push_text(std::move(item), max_queued);
}

/* Untimed text in a live pipeline is spoken from the running time at which it is complete
 * here (like do-timestamp on a live source), so that its audio, due that much plus the
 * latency later, is on time. NONE when upstream is not live or no clock runs yet: the text
 * then follows the previous audio. */
static GstClockTime live_ready_time(GstChatterboxTts* self) {
  gst_chatterbox_tts_ensure_upstream_latency(self);
  if (!self->priv->upstream_live) return GST_CLOCK_TIME_NONE;
  return gst_chatterbox_tts_running_time_now(self);
}

/* Splits `text` into utterances with the synthesizer's splitter and queues them; the first
 * one carries the timed group's PTS. */
static GstFlowReturn queue_text_group(GstChatterboxTts* self, const std::string& text,
                                      GstClockTime pts, GstClockTime duration, gint64 arrival_us,
                                      bool split, GstBuffer* meta_source = nullptr) {
  if (chatterbox::is_blank(text)) {
    GST_DEBUG_OBJECT(self, "skipping blank text");
    return GST_FLOW_OK;
  }
  std::vector<chatterbox::TextUtterance> pieces;
  if (split) {
    GST_OBJECT_LOCK(self);
    std::string language = self->priv->settings.language;
    GST_OBJECT_UNLOCK(self);
    pieces = self->priv->synth->split_for(text, language.empty() ? "en" : language);
  }
  if (pieces.empty()) pieces.push_back({text, {}, {}});
  GstClockTime group_end = GST_CLOCK_TIME_NONE;
  if (GST_CLOCK_TIME_IS_VALID(pts) && GST_CLOCK_TIME_IS_VALID(duration)) group_end = pts + duration;
  GstClockTime ready_rt = GST_CLOCK_TIME_NONE;
  if (!GST_CLOCK_TIME_IS_VALID(pts)) ready_rt = live_ready_time(self);
  bool first = true;
  for (chatterbox::TextUtterance& piece : pieces) {
    if (chatterbox::is_blank(piece.text)) continue;
    QueueItem item;
    item.text = std::move(piece.text);
    item.token_ids = std::move(piece.token_ids);
    item.token_language = std::move(piece.language);
    item.pts = first ? pts : GST_CLOCK_TIME_NONE;
    item.group_end = group_end;
    item.arrival_us = arrival_us;
    item.ready_rt = ready_rt;
    item.meta_source = share_buffer(meta_source);
    first = false;
    GstFlowReturn ret = queue_text(self, std::move(item));
    if (ret != GST_FLOW_OK) return ret;
  }
  return GST_FLOW_OK;
}

/* Speaks whatever untimed text is waiting, complete sentence or not (EOS, GAP, a timed
 * buffer, ...). `final` also flushes a partial UTF-8 sequence or markup tag. */
static GstFlowReturn drain_pending(GstChatterboxTts* self, bool final) {
  GstChatterboxTtsPrivate* priv = self->priv;
  if (final && priv->decoder.has_pending()) {
    chatterbox::TextDecoder::Result res = priv->decoder.push("", 0, priv->markup, true);
    if (res.invalid_bytes)
      GST_ELEMENT_WARNING(
          self, STREAM, DECODE, ("Invalid UTF-8 in text input"),
          ("%zu bytes of an incomplete sequence at the end of the text were skipped",
           res.invalid_bytes));
    priv->pending += res.text;
  }
  if (priv->pending.empty()) return GST_FLOW_OK;
  std::string text;
  text.swap(priv->pending);
  return queue_text_group(self, text, GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE,
                          priv->pending_arrival_us, true);
}

/* Decodes one buffer's bytes, warning about (and dropping) invalid UTF-8. */
static std::string decode_buffer(GstChatterboxTts* self, GstBuffer* buffer) {
  GstMapInfo map;
  if (!gst_buffer_map(buffer, &map, GST_MAP_READ)) {
    GST_ELEMENT_WARNING(self, STREAM, DECODE, ("Could not read a text buffer"), (NULL));
    return std::string();
  }
  chatterbox::TextDecoder::Result res = self->priv->decoder.push(
      reinterpret_cast<const char*>(map.data), map.size, self->priv->markup, false);
  gst_buffer_unmap(buffer, &map);
  if (res.invalid_bytes)
    GST_ELEMENT_WARNING(self, STREAM, DECODE, ("Invalid UTF-8 in text input"),
                        ("%zu invalid bytes in buffer %" GST_PTR_FORMAT " were skipped",
                         res.invalid_bytes, buffer));
  return res.text;
}

static GstFlowReturn chain_buffer(GstChatterboxTts* self, GstBuffer* buffer) {
  GstChatterboxTtsPrivate* priv = self->priv;
  GstFlowReturn ret = self->priv->queue.flow();
  if (ret != GST_FLOW_OK) return ret;
  gint64 now = g_get_monotonic_time();
  std::string text = decode_buffer(self, buffer);
  GstClockTime pts = GST_BUFFER_PTS(buffer);
  bool timed = priv->in_time && GST_CLOCK_TIME_IS_VALID(pts);

  if (timed) {
    /* A timed buffer is a self-contained group; untimed text before it goes first. */
    ret = drain_pending(self, false);
    if (ret != GST_FLOW_OK) return ret;
    return queue_text_group(self, text, pts, GST_BUFFER_DURATION(buffer), now, true, buffer);
  }

  if (priv->pending.empty()) priv->pending_arrival_us = now;
  priv->pending += text;
  size_t end = chatterbox::complete_sentences_end(priv->pending, kMaxPendingBytes);
  if (end == 0) return GST_FLOW_OK;
  std::string complete = priv->pending.substr(0, end);
  priv->pending.erase(0, end);
  gint64 arrival = priv->pending_arrival_us;
  priv->pending_arrival_us = now;
  return queue_text_group(self, complete, GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE, arrival, true);
}

GstFlowReturn gst_chatterbox_tts_sink_chain(GstPad*, GstObject* parent, GstBuffer* buffer) {
  GstChatterboxTts* self = GST_CHATTERBOX_TTS(parent);
  GstFlowReturn ret =
      gst_chatterbox_tts_guard(GST_ELEMENT(self), "Failed to process text", GST_FLOW_ERROR,
                               [&] { return chain_buffer(self, buffer); });
  gst_buffer_unref(buffer);
  return ret;
}

/* A buffer list (e.g. a sentence from textaccumulate) is one utterance spanning the first
 * PTS to the last end; the default handler would make one utterance per buffer. */
static GstFlowReturn chain_list(GstChatterboxTts* self, GstBufferList* list) {
  GstChatterboxTtsPrivate* priv = self->priv;
  GstFlowReturn ret = self->priv->queue.flow();
  if (ret != GST_FLOW_OK) return ret;
  gint64 now = g_get_monotonic_time();
  std::string text;
  GstClockTime first = GST_CLOCK_TIME_NONE, last_end = GST_CLOCK_TIME_NONE;
  guint n = gst_buffer_list_length(list);
  for (guint i = 0; i < n; ++i) {
    GstBuffer* buf = gst_buffer_list_get(list, i);
    std::string piece = decode_buffer(self, buf);
    if (!text.empty() && !piece.empty() && !g_ascii_isspace(text.back()) &&
        !g_ascii_isspace(piece.front()))
      text += ' '; /* list items are words: join them as words */
    text += piece;
    GstClockTime pts = GST_BUFFER_PTS(buf);
    if (GST_CLOCK_TIME_IS_VALID(pts)) {
      if (!GST_CLOCK_TIME_IS_VALID(first)) first = pts;
      GstClockTime end = pts;
      if (GST_BUFFER_DURATION_IS_VALID(buf)) end += GST_BUFFER_DURATION(buf);
      if (!GST_CLOCK_TIME_IS_VALID(last_end) || end > last_end) last_end = end;
    }
  }
  ret = drain_pending(self, false);
  if (ret != GST_FLOW_OK) return ret;
  GstClockTime duration = GST_CLOCK_TIME_NONE;
  if (!priv->in_time)
    first = GST_CLOCK_TIME_NONE;
  else if (GST_CLOCK_TIME_IS_VALID(first) && last_end > first)
    duration = last_end - first;
  return queue_text_group(self, text, first, duration, now, false,
                          n > 0 ? gst_buffer_list_get(list, 0) : nullptr);
}

GstFlowReturn gst_chatterbox_tts_sink_chain_list(GstPad*, GstObject* parent, GstBufferList* list) {
  GstChatterboxTts* self = GST_CHATTERBOX_TTS(parent);
  GstFlowReturn ret =
      gst_chatterbox_tts_guard(GST_ELEMENT(self), "Failed to process text", GST_FLOW_ERROR,
                               [&] { return chain_list(self, list); });
  gst_buffer_list_unref(list);
  return ret;
}

static gboolean sink_event(GstChatterboxTts* self, GstEvent* event) {
  GstChatterboxTtsPrivate* priv = self->priv;
  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_FLUSH_START: {
      /* Barge-in: stop the utterance within one model step, wake the chain function, let
       * downstream unblock our push, then wait for the task to leave its loop. */
      priv->queue.set_flushing(GST_FLOW_FLUSHING);
      gboolean res = gst_pad_push_event(self->srcpad, event);
      gst_pad_pause_task(self->srcpad);
      GST_DEBUG_OBJECT(self, "flush started, task paused");
      return res;
    }
    case GST_EVENT_FLUSH_STOP: {
      /* The stream lock is held: the chain function has returned and the task is paused. */
      gst_chatterbox_tts_clear_queue(self);
      gst_chatterbox_tts_reset_input(self);
      gst_chatterbox_tts_reset_output(self);
      gboolean res = gst_pad_push_event(self->srcpad, event);
      gst_chatterbox_tts_restart_task(self);
      return res;
    }
    case GST_EVENT_CAPS: {
      /* We have our own source caps; just note whether the text carries markup. */
      GstCaps* caps;
      gst_event_parse_caps(event, &caps);
      const gchar* format = gst_structure_get_string(gst_caps_get_structure(caps, 0), "format");
      priv->markup = g_strcmp0(format, "pango-markup") == 0;
      gst_event_unref(event);
      return TRUE;
    }
    case GST_EVENT_SEGMENT: {
      const GstSegment* segment;
      gst_event_parse_segment(event, &segment);
      drain_pending(self, false);
      priv->in_time = segment->format == GST_FORMAT_TIME;
      return gst_chatterbox_tts_queue_event(self, event);
    }
    case GST_EVENT_STREAM_START: {
      drain_pending(self, true);
      priv->queue.reset_eos(); /* a new stream after EOS may flow again */
      return gst_chatterbox_tts_queue_event(self, event);
    }
    case GST_EVENT_EOS:
    case GST_EVENT_SEGMENT_DONE:
      drain_pending(self, true);
      return gst_chatterbox_tts_queue_event(self, event);
    case GST_EVENT_GAP:
      drain_pending(self, false);
      return gst_chatterbox_tts_queue_event(self, event);
    case GST_EVENT_CUSTOM_DOWNSTREAM:
      if (gst_event_has_name(event, GST_CHATTERBOX_TTS_VOICE_EVENT))
        drain_pending(self, false); /* text so far keeps the previous voice */
      return gst_chatterbox_tts_queue_event(self, event);
    case GST_EVENT_TAG:
      if (gchar* language = gst_chatterbox_tts_tag_language(event)) {
        g_free(language);
        drain_pending(self, false); /* text so far keeps its language */
      }
      return gst_chatterbox_tts_queue_event(self, event);
    default:
      if (GST_EVENT_IS_SERIALIZED(event)) return gst_chatterbox_tts_queue_event(self, event);
      return gst_pad_push_event(self->srcpad, event);
  }
}

gboolean gst_chatterbox_tts_sink_event(GstPad*, GstObject* parent, GstEvent* event) {
  GstChatterboxTts* self = GST_CHATTERBOX_TTS(parent);
  GST_LOG_OBJECT(self, "sink event %" GST_PTR_FORMAT, event);
  return gst_chatterbox_tts_guard(GST_ELEMENT(self), "Failed to handle event", gboolean(FALSE),
                                  [&] { return sink_event(self, event); });
}
