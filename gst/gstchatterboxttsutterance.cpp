/* gst-chatterbox: Chatterbox text-to-speech for GStreamer.
 * SPDX-License-Identifier: MIT
 */

/* One utterance to audio buffers, in the source pad task: where it starts on the timeline,
 * its audio pushed chunk by chunk as the engine makes it (converted, clipped, late parts
 * dropped when live), and the statistics message at its end. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <algorithm>
#include <string>
#include <vector>

#include "common/error.h"
#include "gstchatterboxttserror.h"
#include "gstchatterboxttsprivate.h"

using chatterbox::QueueItem;

static const char* const kMessageName = "chatterboxtts/synthesized-audio";

namespace {

/* An utterance being spoken: its timeline and what it has pushed so far. */
struct Speech {
  const QueueItem& item;
  chatterbox::UtteranceSettings settings;
  GstClockTime start = GST_CLOCK_TIME_NONE;    /* PTS of its first sample */
  GstClockTime clip_end = GST_CLOCK_TIME_NONE; /* overflow=clip: nothing at or after this */
  int rate = 0;
  int bpf = 0;
  guint64 clip_frames = G_MAXUINT64;
  guint64 frames_out = 0; /* output frames of the timeline used: pushed or dropped late */
  /* Accounting at the output rate: produced = pushed + dropped + cut off by overflow=clip. */
  guint64 produced = 0;
  guint64 pushed = 0;
  guint64 dropped = 0;
  guint64 engine_samples = 0;                     /* 24 kHz samples from the engine */
  gint64 started_us = 0;                          /* when the engine was asked */
  gint64 last_chunk_us = 0;                       /* when its last chunk was ready */
  GstClockTime started_rt = GST_CLOCK_TIME_NONE;  /* running time then (NONE: no clock) */
  GstClockTime first_audio = GST_CLOCK_TIME_NONE; /* text arrival -> first buffer */

  GstClockTime time_at(guint64 frames) const {
    return start + gst_util_uint64_scale_int(frames, GST_SECOND, rate);
  }
};

/* Unsets the task's utterance in flight when speaking ends, however it ends. */
struct CurrentUtterance {
  chatterbox::TextQueue& queue;
  ~CurrentUtterance() { queue.clear_current(); }
};

}  // namespace

/* Copies the metas of the text buffer that carry no tags (so they do not describe the text's
 * bytes or format) onto an audio chunk, as awspolly does. */
static void copy_untagged_metas(GstBuffer* from, GstBuffer* to) {
  gpointer state = NULL;
  while (GstMeta* meta = gst_buffer_iterate_meta(from, &state)) {
    const GstMetaInfo* info = meta->info;
    const gchar* const* tags = gst_meta_api_type_get_tags(info->api);
    if ((tags && tags[0]) || !info->transform_func) continue;
    GstMetaTransformCopy copy = {FALSE, 0, (gsize)-1};
    info->transform_func(to, meta, from, _gst_meta_transform_copy, &copy);
  }
}

/* Selects the utterance's voice. False when it could not be loaded (the error is posted). */
static bool select_voice(GstChatterboxTts* self, Speech& sp) {
  GstChatterboxTtsPrivate* priv = self->priv;
  std::string what = "Failed to load voice '" + sp.settings.voice + "'";
  return gst_chatterbox_tts_guard(GST_ELEMENT(self), what.c_str(), false, [&] {
    sp.settings.params.voice =
        priv->voices.select(*priv->synth, sp.settings.voice, GST_OBJECT(self));
    return true;
  });
}

/* Where the utterance starts (see docs/element.md, "Timestamps"): at its PTS, or right after
 * the previous audio when untimed or (overflow=shift) when that is later; untimed live text
 * not before the running time at which it was ready. A hole before it becomes a GAP event. */
static void place_utterance(GstChatterboxTts* self, Speech& sp) {
  GstChatterboxTtsPrivate* priv = self->priv;
  sp.start = priv->position;
  if (GST_CLOCK_TIME_IS_VALID(sp.item.pts)) {
    sp.start = sp.item.pts;
    if (sp.start < priv->position && sp.settings.overflow == GST_CHATTERBOX_TTS_OVERFLOW_SHIFT)
      sp.start = priv->position;
  } else if (GST_CLOCK_TIME_IS_VALID(sp.item.ready_rt)) {
    GstClockTime ready =
        gst_segment_position_from_running_time(&priv->segment, GST_FORMAT_TIME, sp.item.ready_rt);
    if (GST_CLOCK_TIME_IS_VALID(ready)) sp.start = std::max(priv->position, ready);
  }
  if (sp.settings.overflow == GST_CHATTERBOX_TTS_OVERFLOW_CLIP) sp.clip_end = sp.item.group_end;
  if (sp.start > priv->position) {
    /* A hole before timed text: tell downstream (mixers, muxers) there is nothing there. */
    gst_pad_push_event(self->srcpad, gst_event_new_gap(priv->position, sp.start - priv->position));
  } else if (sp.start < priv->position) {
    priv->discont = true;
  }
  gst_chatterbox_tts_update_position(self, std::max(priv->position, sp.start));
}

/* Live: how long after the point its deadline counts from the chunk about to be pushed was
 * ready, beyond its place in the utterance. The deadline counts from the utterance's running
 * time plus the upstream latency; the engine could not start before `started_rt`, so waiting
 * for it (late input, earlier text still being generated) is not processing time. */
static void measure_processing(GstChatterboxTts* self, const Speech& sp, GstClockTime now) {
  GstChatterboxTtsPrivate* priv = self->priv;
  if (!priv->upstream_live || !GST_CLOCK_TIME_IS_VALID(now) ||
      !GST_CLOCK_TIME_IS_VALID(sp.started_rt))
    return;
  GstClockTime rt = gst_segment_to_running_time(&priv->segment, GST_FORMAT_TIME, sp.start);
  if (!GST_CLOCK_TIME_IS_VALID(rt)) return;
  GstClockTime from = std::max<GstClockTime>(sp.started_rt, rt + priv->upstream_min) +
                      gst_util_uint64_scale_int(sp.frames_out, GST_SECOND, sp.rate);
  if (now > from) gst_chatterbox_tts_note_processing(self, now - from);
}

/* The bus warning about late audio, at most one per kDropWarningInterval of running time,
 * counting what the ones left out dropped. */
static const GstClockTime kDropWarningInterval = 10 * GST_SECOND;

static void warn_dropped(GstChatterboxTts* self, GstClockTime now, GstClockTime late_by) {
  GstChatterboxTtsPrivate* priv = self->priv;
  if (GST_CLOCK_TIME_IS_VALID(priv->last_drop_warning) &&
      now < priv->last_drop_warning + kDropWarningInterval)
    return;
  GstClockTime lost =
      gst_util_uint64_scale_int(priv->dropped_unreported, GST_SECOND, priv->converter.rate());
  GstClockTime own = gst_chatterbox_tts_own_latency(self);
  GST_ELEMENT_WARNING(self, CORE, CLOCK, ("Speech audio was dropped because it was late"),
                      ("%" GST_TIME_FORMAT " of audio dropped since the last warning, the last "
                       "part late by %" GST_TIME_FORMAT " against a latency of %" GST_TIME_FORMAT
                       "; the machine does not keep up, or the text arrived late",
                       GST_TIME_ARGS(lost), GST_TIME_ARGS(late_by), GST_TIME_ARGS(own)));
  priv->last_drop_warning = now;
  priv->dropped_unreported = 0;
}

/* Live and already late at running time `now`: drops the late head (or all) of the `frames`
 * about to be pushed, tells the application with a QOS message and a (rate-limited) warning,
 * and returns how many were dropped. */
static guint64 drop_late(GstChatterboxTts* self, Speech& sp, guint64 frames, GstClockTime now) {
  GstChatterboxTtsPrivate* priv = self->priv;
  GstClockTime late_by = 0;
  GstClockTime late_pts = sp.time_at(sp.frames_out);
  guint64 skip = gst_chatterbox_tts_late_frames(self, now, late_pts, frames, sp.rate, &late_by);
  if (skip == 0) return 0;
  GST_WARNING_OBJECT(self,
                     "audio at %" GST_TIME_FORMAT " is late by %" GST_TIME_FORMAT
                     ", dropping %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
                     " samples; consider increasing the latency property",
                     GST_TIME_ARGS(late_pts), GST_TIME_ARGS(late_by), skip, frames);
  priv->dropped += skip;
  priv->dropped_unreported += skip;
  sp.dropped += skip;
  GstMessage* qos =
      gst_message_new_qos(GST_OBJECT(self), TRUE,
                          gst_segment_to_running_time(&priv->segment, GST_FORMAT_TIME, late_pts),
                          gst_segment_to_stream_time(&priv->segment, GST_FORMAT_TIME, late_pts),
                          late_pts, gst_util_uint64_scale_int(skip, GST_SECOND, sp.rate));
  gst_message_set_qos_values(qos, (gint64)late_by, 1.0, 1000000);
  gst_message_set_qos_stats(qos, GST_FORMAT_DEFAULT, priv->offset, priv->dropped);
  gst_element_post_message(GST_ELEMENT(self), qos);
  warn_dropped(self, now, late_by);
  priv->discont = true;
  sp.frames_out += skip;
  gst_chatterbox_tts_update_position(self, std::max(priv->position, sp.time_at(sp.frames_out)));
  return skip;
}

/* Pushes `frames` output frames from `data` as one buffer, timestamped from the sample
 * count. */
static GstFlowReturn push_audio(GstChatterboxTts* self, Speech& sp, const guint8* data,
                                guint64 frames) {
  GstChatterboxTtsPrivate* priv = self->priv;
  GstBuffer* buf = gst_buffer_new_allocate(NULL, frames * sp.bpf, NULL);
  gst_buffer_fill(buf, 0, data, frames * sp.bpf);
  GstClockTime pts = sp.time_at(sp.frames_out);
  GstClockTime end = sp.time_at(sp.frames_out + frames);
  GST_BUFFER_PTS(buf) = pts;
  GST_BUFFER_DURATION(buf) = end - pts;
  if (sp.item.meta_source) copy_untagged_metas(sp.item.meta_source.get(), buf);
  GST_BUFFER_OFFSET(buf) = priv->offset;
  GST_BUFFER_OFFSET_END(buf) = priv->offset + frames;
  if (priv->discont) {
    GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DISCONT);
    priv->discont = false;
  }
  priv->offset += frames;
  sp.frames_out += frames;
  sp.pushed += frames;
  gst_chatterbox_tts_update_position(self, std::max(priv->position, end));
  if (!GST_CLOCK_TIME_IS_VALID(sp.first_audio))
    sp.first_audio = (g_get_monotonic_time() - sp.item.arrival_us) * GST_USECOND;
  return gst_pad_push(self->srcpad, buf);
}

/* The chatterboxtts/synthesized-audio message (see the element documentation). The RTF is
 * measured here rather than taken from the engine, whose statistics stop short for an
 * utterance cut off by overflow=clip. */
static void post_stats(GstChatterboxTts* self, const Speech& sp, chatterbox::Utterance& utt) {
  chatterbox::UtteranceStats stats = utt.stats();
  GstClockTime duration = gst_util_uint64_scale_int(sp.pushed, GST_SECOND, sp.rate);
  double rtf = 0.0;
  if (sp.engine_samples > 0)
    rtf = (double(sp.last_chunk_us - sp.started_us) / G_USEC_PER_SEC) /
          (double(sp.engine_samples) / chatterbox::kSampleRate);
  GstClockTime input_duration = GST_CLOCK_TIME_NONE;
  if (GST_CLOCK_TIME_IS_VALID(sp.item.pts) && GST_CLOCK_TIME_IS_VALID(sp.item.group_end))
    input_duration = sp.item.group_end - sp.item.pts;
  GstStructure* s = gst_structure_new(
      kMessageName, "content", G_TYPE_STRING, sp.item.text.c_str(), "pts", G_TYPE_UINT64,
      (guint64)sp.start, "input-duration", G_TYPE_UINT64, (guint64)input_duration,
      "actual-duration", G_TYPE_UINT64, (guint64)duration, "samples", G_TYPE_UINT64, sp.pushed,
      "produced-samples", G_TYPE_UINT64, sp.produced, "pushed-samples", G_TYPE_UINT64, sp.pushed,
      "dropped-samples", G_TYPE_UINT64, sp.dropped, "text-tokens", G_TYPE_INT, stats.text_tokens,
      "speech-tokens", G_TYPE_INT, stats.speech_tokens, "first-chunk-latency", G_TYPE_UINT64,
      (guint64)sp.first_audio, "rtf", G_TYPE_DOUBLE, rtf, "voice", G_TYPE_STRING,
      sp.settings.voice.c_str(), NULL);
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
}

/* A property the loaded model does not use is named in one warning per element and property,
 * not ignored silently (e.g. cfg-weight with Turbo, which has no guidance). */
static void warn_ignored_settings(GstChatterboxTts* self,
                                  const chatterbox::SynthesisParams& params) {
  const chatterbox::ModelVariant variant = self->priv->synth->variant();
  for (std::string name : params.ignored_by(variant)) {
    std::replace(name.begin(), name.end(), '_', '-');  // field name -> property name
    if (!self->priv->warned_ignored.insert(name).second) continue;
    GST_ELEMENT_WARNING(self, LIBRARY, SETTINGS,
                        ("Property '%s' has no effect with the %s model", name.c_str(),
                         chatterbox::model_variant_name(variant)),
                        ("the %s model's generation does not use it; the value is ignored",
                         chatterbox::model_variant_name(variant)));
  }
}

GstFlowReturn gst_chatterbox_tts_speak(GstChatterboxTts* self, QueueItem& item) {
  GstChatterboxTtsPrivate* priv = self->priv;
  Speech sp{item, gst_chatterbox_tts_snapshot_settings(self)};
  if (!select_voice(self, sp)) return GST_CHATTERBOX_TTS_FLOW_ERROR_POSTED;
  warn_ignored_settings(self, sp.settings.params);

  GstFlowReturn ret = gst_chatterbox_tts_ensure_output(self);
  if (ret != GST_FLOW_OK) return ret;
  gst_chatterbox_tts_ensure_upstream_latency(self);

  place_utterance(self, sp);
  if (GST_CLOCK_TIME_IS_VALID(sp.clip_end) && sp.clip_end <= sp.start) {
    GST_ELEMENT_WARNING(self, STREAM, FAILED, ("Text with no duration was not spoken"),
                        ("overflow=clip leaves no time for '%s' at %" GST_TIME_FORMAT,
                         item.text.c_str(), GST_TIME_ARGS(sp.start)));
    return GST_FLOW_OK;
  }

  GST_DEBUG_OBJECT(self, "speaking '%s' at %" GST_TIME_FORMAT, item.text.c_str(),
                   GST_TIME_ARGS(sp.start));
  sp.started_us = g_get_monotonic_time();
  sp.started_rt = gst_chatterbox_tts_running_time_now(self);
  std::shared_ptr<chatterbox::Utterance> utt(
      priv->synth->start({item.text, item.token_ids, item.token_language}, sp.settings.params));
  if (!priv->queue.set_current(utt)) {
    utt->cancel();
    return GST_FLOW_FLUSHING;
  }
  CurrentUtterance clear_current{priv->queue};

  sp.rate = priv->converter.rate();
  sp.bpf = priv->converter.bpf();
  if (GST_CLOCK_TIME_IS_VALID(sp.clip_end))
    sp.clip_frames = gst_util_uint64_scale_int(sp.clip_end - sp.start, sp.rate, GST_SECOND);
  bool clipped = false;
  bool done = false;
  chatterbox::AudioChunk chunk;
  std::vector<guint8> bytes;

  while (!done) {
    bytes.clear();
    bool last = true;
    try {
      if (utt->next(chunk)) {
        last = chunk.last;
        sp.engine_samples += chunk.samples.size();
        sp.last_chunk_us = g_get_monotonic_time();
        priv->converter.process(chunk.samples.data(), chunk.samples.size(), bytes);
      }
    } catch (const chatterbox::Error& e) {
      /* Not an error: a flush cancelled it. Anything else reaches the task's guard. */
      if (e.kind() != chatterbox::ErrorKind::kCancelled) throw;
      last = true;
    }
    if (priv->queue.flow() == GST_FLOW_FLUSHING) {
      priv->converter.reset();
      return GST_FLOW_FLUSHING;
    }
    if (last) {
      priv->converter.drain(bytes);
      done = true;
    }
    guint64 frames = bytes.size() / sp.bpf;
    sp.produced += frames;
    if (sp.frames_out + frames > sp.clip_frames) {
      frames = sp.clip_frames - sp.frames_out;
      clipped = true;
    }
    GstClockTime now = gst_chatterbox_tts_running_time_now(self);
    if (frames > 0) measure_processing(self, sp, now);
    guint64 skip = frames > 0 ? drop_late(self, sp, frames, now) : 0;
    frames -= skip;
    if (frames > 0) {
      ret = push_audio(self, sp, bytes.data() + skip * sp.bpf, frames);
      if (ret != GST_FLOW_OK) {
        utt->cancel();
        priv->converter.reset();
        return ret;
      }
    }
    if (clipped) {
      /* Clip mode: nothing after the text's end is heard, so stop generating now. */
      GST_DEBUG_OBJECT(self, "clipped at %" GST_TIME_FORMAT, GST_TIME_ARGS(sp.clip_end));
      utt->cancel();
      priv->converter.reset();
      done = true;
    }
  }

  if (sp.settings.post_messages) post_stats(self, sp, *utt);
  return GST_FLOW_OK;
}
