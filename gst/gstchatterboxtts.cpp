/* gst-chatterbox: Chatterbox text-to-speech for GStreamer.
 * SPDX-License-Identifier: MIT
 */

// clang-format off: the example launch lines must stay on one line each.
/**
 * SECTION:element-chatterboxtts
 * @title: chatterboxtts
 *
 * Synthesizes speech from UTF-8 text with Resemble AI's Chatterbox model (T3 text-to-token
 * Llama plus S3Gen flow-matching decoder and HiFT vocoder), run with libtorch.
 *
 * Text arrives on the sink pad as `text/x-raw, format=utf8` (or `pango-markup`, whose tags are
 * stripped). The sink pad only queues text (at most #GstChatterboxTts:max-queued-text
 * utterances); synthesis runs in the source pad's streaming thread, which pushes audio chunk
 * by chunk while the model is still generating, so the first audio leaves long before the
 * utterance is complete.
 *
 * * **Timed text** (buffers with a PTS in a TIME segment, e.g. from subparse): each buffer,
 *   or each buffer list, is spoken starting at its PTS. #GstChatterboxTts:overflow decides
 *   what happens when the audio is longer than the text's duration.
 * * **Untimed text** (no PTS, or a BYTES segment from filesrc/fdsrc): bytes are accumulated
 *   (even when cut inside a UTF-8 sequence), split into sentences, and each sentence is
 *   spoken right after the previous audio. A trailing partial sentence waits for more text,
 *   a newline, GAP, SEGMENT_DONE or EOS. A BYTES segment becomes a TIME segment at 0.
 *   When upstream is live (an application's live appsrc) and the element is PLAYING, a
 *   sentence is instead spoken from the running time at which it was complete on the sink
 *   pad, or after the previous audio if that is later, so that with the reported latency it
 *   reaches a synchronised sink on time.
 * * **Source mode**: when the sink pad is not linked, the #GstChatterboxTts:text property is
 *   spoken and followed by EOS.
 *
 * Output is `F32LE` or `S16LE` at any rate from 8 to 192 kHz, mono or (copied into every
 * channel) any channel count downstream asks for; the model's native 24000 Hz F32 mono is
 * preferred, other formats go through a #GstAudioConverter. Timestamps and
 * offsets come from sample counts. A flush (FLUSH_START) stops the current utterance within
 * one model step and drops queued text ("barge-in").
 *
 * The model loads in NULL→READY (shared between elements using the same model and device);
 * a missing or damaged model makes that state change fail with an error naming the file.
 *
 * ## Messages
 *
 * With #GstChatterboxTts:post-messages, one element message named
 * `chatterboxtts/synthesized-audio` is posted per utterance, with the fields:
 *
 * * `content` (string): the text spoken.
 * * `pts` (guint64): the timestamp of the utterance's first sample.
 * * `input-duration` (guint64): the duration of the timed text, or GST_CLOCK_TIME_NONE.
 * * `actual-duration` (guint64): the duration of the audio pushed.
 * * `samples` (guint64): samples pushed, at the output rate.
 * * `produced-samples`, `pushed-samples`, `dropped-samples` (guint64): samples made from the
 *   engine's audio at the output rate, pushed, and dropped as late in a live pipeline (the
 *   rest was cut by overflow=clip).
 * * `text-tokens` (gint), `speech-tokens` (gint): token counts of the utterance.
 * * `first-chunk-latency` (guint64): nanoseconds from the text's arrival on the sink pad to
 *   its first audio buffer leaving the source pad.
 * * `rtf` (gdouble): the real-time factor (compute time / audio time; < 1 is faster than
 *   real time), also for utterances cut short by overflow=clip.
 * * `voice` (string): the voice file used, or "" for the model's built-in voice.
 *
 * ## Custom event
 *
 * A serialized downstream custom event whose structure is named `chatterbox-voice`, with a
 * string field `voice` (a file path, or "" for the built-in voice), sets
 * #GstChatterboxTts:voice from that point of the stream on. Text before the event is spoken
 * with the previous voice.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 filesrc location=script.txt ! chatterboxtts model-path=/models/chatterbox !
 * audioconvert ! wavenc ! filesink location=out.wav
 * ]| Reads a text file, speaks it sentence by sentence and writes a WAV file.
 * |[
 * gst-launch-1.0 chatterboxtts text="Hello from GStreamer." voice=me.wav ! audioconvert !
 * autoaudiosink
 * ]| Source mode: speaks one sentence in the voice of me.wav, then stops.
 * |[
 * gst-launch-1.0 filesrc location=subs.srt ! subparse ! chatterboxtts overflow=clip ! audioconvert
 * ! wavenc ! filesink location=dub.wav
 * ]| Speaks subtitles at their timestamps, each cut to its cue's duration.
 * |[
 * gst-launch-1.0 fdsrc ! text/x-raw,format=utf8 ! queue ! chatterboxtts ! queue
 * max-size-time=5000000000 ! audioconvert ! autoaudiosink
 * ]| Speaks each line typed on standard input. The queue before the element keeps upstream
 * unblocked; the one after it lets generation run ahead of playback.
 *
 * Since: 0.1
 */
// clang-format on

/* This file: the element type, its pads and state changes, and the life of the source pad
 * task. The rest of the element, one job per file:
 *   gstchatterboxttsproperties.cpp  properties and what an utterance takes from them
 *   gstchatterboxttsengine.cpp      loading the model and voice (NULL->READY), test hook
 *   gstchatterboxttssink.cpp        sink pad: text framing into utterances, input events
 *   gstchatterboxttsqueue.cpp       the queue between the sink pad and the task
 *   gstchatterboxttstask.cpp        the task: queued events, negotiation, segment, gaps
 *   gstchatterboxttsutterance.cpp   one utterance to timestamped audio buffers
 *   gstchatterboxttslatency.cpp     latency/position queries, live deadlines
 *   gstchatterboxttstags.cpp        upstream tags filtered, the element's own tags
 *   gstchatterboxttsconvert.cpp     output format conversion
 *   gstchatterboxttsvoice.cpp       voice resolution and cache
 *   gstchatterboxttserror.cpp       C++ exceptions to element errors */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <deque>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "gstchatterboxenums.h"
#include "gstchatterboxtts.h"
#include "gstchatterboxttsengine.h"
#include "gstchatterboxttserror.h"
#include "gstchatterboxttsprivate.h"

GST_DEBUG_CATEGORY(gst_chatterbox_tts_debug);

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_CHATTERBOX_TTS_SINK_CAPS));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_CHATTERBOX_TTS_SRC_CAPS));

#define gst_chatterbox_tts_parent_class parent_class
G_DEFINE_TYPE(GstChatterboxTts, gst_chatterbox_tts, GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE(chatterboxtts, "chatterboxtts", GST_RANK_NONE,
                                      GST_TYPE_CHATTERBOX_TTS,
                                      GST_DEBUG_CATEGORY_INIT(gst_chatterbox_tts_debug,
                                                              "chatterboxtts", 0,
                                                              "Chatterbox text-to-speech"));

static void gst_chatterbox_tts_dispose(GObject* object);
static gboolean stop_task(GstChatterboxTts* self);
static void gst_chatterbox_tts_finalize(GObject* object);
static GstStateChangeReturn gst_chatterbox_tts_change_state(GstElement* element,
                                                            GstStateChange transition);
static gboolean gst_chatterbox_tts_src_activate_mode(GstPad* pad, GstObject* parent,
                                                     GstPadMode mode, gboolean active);

static void gst_chatterbox_tts_class_init(GstChatterboxTtsClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);

  gobject_class->dispose = gst_chatterbox_tts_dispose;
  gobject_class->finalize = gst_chatterbox_tts_finalize;
  gst_chatterbox_tts_install_properties(gobject_class);

  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(
      element_class, "Chatterbox text-to-speech", "Converter/Text/Audio",
      "Synthesizes speech from UTF-8 text with the Chatterbox neural TTS model (libtorch)",
      "gst-chatterbox developers");

  element_class->change_state = GST_DEBUG_FUNCPTR(gst_chatterbox_tts_change_state);

  gst_type_mark_as_plugin_api(GST_TYPE_CHATTERBOX_TTS_OVERFLOW, (GstPluginAPIFlags)0);
  gst_type_mark_as_plugin_api(GST_TYPE_CHATTERBOX_TTS_STITCH_MODE, (GstPluginAPIFlags)0);
}

static void gst_chatterbox_tts_init(GstChatterboxTts* self) {
  self->priv = new GstChatterboxTtsPrivate();
  gst_segment_init(&self->priv->segment, GST_FORMAT_TIME);
  gst_audio_info_init(&self->priv->out_info);

  self->sinkpad = gst_pad_new_from_static_template(&sink_template, "sink");
  gst_pad_set_chain_function(self->sinkpad, GST_DEBUG_FUNCPTR(gst_chatterbox_tts_sink_chain));
  gst_pad_set_chain_list_function(self->sinkpad,
                                  GST_DEBUG_FUNCPTR(gst_chatterbox_tts_sink_chain_list));
  gst_pad_set_event_function(self->sinkpad, GST_DEBUG_FUNCPTR(gst_chatterbox_tts_sink_event));
  gst_element_add_pad(GST_ELEMENT(self), self->sinkpad);

  self->srcpad = gst_pad_new_from_static_template(&src_template, "src");
  gst_pad_set_query_function(self->srcpad, GST_DEBUG_FUNCPTR(gst_chatterbox_tts_src_query));
  gst_pad_set_activatemode_function(self->srcpad,
                                    GST_DEBUG_FUNCPTR(gst_chatterbox_tts_src_activate_mode));
  gst_pad_use_fixed_caps(self->srcpad);
  gst_element_add_pad(GST_ELEMENT(self), self->srcpad);
}

/* A task left running would wait on the private state finalize destroys: stop it while the
 * pads still exist (normally there is none: NULL stops it). */
static void gst_chatterbox_tts_dispose(GObject* object) {
  GstChatterboxTts* self = GST_CHATTERBOX_TTS(object);
  if (self->srcpad && gst_pad_get_task_state(self->srcpad) != GST_TASK_STOPPED) {
    GST_WARNING_OBJECT(self, "source pad task still present at dispose, stopping it");
    stop_task(self);
  }
  G_OBJECT_CLASS(parent_class)->dispose(object);
  /* The parent removed (and released) the pads. */
  self->sinkpad = self->srcpad = NULL;
}

static void gst_chatterbox_tts_finalize(GObject* object) {
  GstChatterboxTts* self = GST_CHATTERBOX_TTS(object);
  gst_chatterbox_tts_reset_tags(self);
  delete self->priv; /* queued events go with it */
  self->priv = nullptr;
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

/* ------------------------------------------------------------------------------------------
 * The source pad task: started on activation, paused by FLUSH_START, restarted by
 * FLUSH_STOP, stopped (and joined) on deactivation. It only ever runs on an active pad.
 */

gboolean gst_chatterbox_tts_queue_event(GstChatterboxTts* self, GstEvent* event) {
  GST_LOG_OBJECT(self, "queueing %" GST_PTR_FORMAT, event);
  if (self->priv->queue.push_event(event)) return TRUE;
  GST_DEBUG_OBJECT(self, "flushing, dropped the event");
  return FALSE;
}

/* Sticky events (other than segment/EOS, which a flush resets) are stored on the source pad
 * so that they still precede later data, as queue does. */
void gst_chatterbox_tts_clear_queue(GstChatterboxTts* self) {
  for (chatterbox::QueueItem& item : self->priv->queue.take_all()) {
    if (item.event && GST_EVENT_IS_STICKY(item.event) &&
        GST_EVENT_TYPE(item.event) != GST_EVENT_SEGMENT &&
        GST_EVENT_TYPE(item.event) != GST_EVENT_EOS)
      gst_pad_store_sticky_event(self->srcpad, item.event);
  }
}

/* True when the source pad is active in push mode and not flushing, that is not being
 * deactivated: the pad is marked inactive before our activate function runs. */
static bool src_pad_running(GstChatterboxTts* self) {
  GST_OBJECT_LOCK(self->srcpad);
  bool running =
      GST_PAD_MODE(self->srcpad) == GST_PAD_MODE_PUSH && !GST_PAD_IS_FLUSHING(self->srcpad);
  GST_OBJECT_UNLOCK(self->srcpad);
  return running;
}

static gboolean start_task(GstChatterboxTts* self) {
  return gst_pad_start_task(self->srcpad, (GstTaskFunction)gst_chatterbox_tts_loop, self, NULL);
}

/* Deactivation takes task_lock after the pad is marked inactive and before it stops the task,
 * so either we start the task first (and deactivation stops it) or we see the inactive pad
 * and leave the element flushing. */
void gst_chatterbox_tts_restart_task(GstChatterboxTts* self) {
  GstChatterboxTtsPrivate* priv = self->priv;
  std::lock_guard<std::mutex> task_lock(priv->task_lock);
  if (!src_pad_running(self)) {
    GST_DEBUG_OBJECT(self, "source pad inactive, not restarting the task");
    return;
  }
  priv->queue.unflush();
  start_task(self);
}

/* Stops the task and waits for its thread to leave the task function: flushing wakes it
 * (and cancels its utterance) first. */
static gboolean stop_task(GstChatterboxTts* self) {
  {
    std::lock_guard<std::mutex> task_lock(self->priv->task_lock);
    self->priv->queue.set_flushing(GST_FLOW_FLUSHING);
  }
  return gst_pad_stop_task(self->srcpad);
}

/* Queues the `text` property (source mode: nothing links the sink pad). */
static void queue_source_mode(GstChatterboxTts* self) {
  std::string text;
  GST_OBJECT_LOCK(self);
  text = self->priv->settings.text;
  GST_OBJECT_UNLOCK(self);
  GST_INFO_OBJECT(self, "source mode, speaking the text property");
  gchar* stream_id = gst_pad_create_stream_id(self->srcpad, GST_ELEMENT(self), NULL);
  GstEvent* start = gst_event_new_stream_start(stream_id);
  gst_event_set_group_id(start, gst_util_group_id_next());
  g_free(stream_id);
  gst_chatterbox_tts_queue_event(self, start);
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  gst_chatterbox_tts_queue_event(self, gst_event_new_segment(&segment));
  std::vector<chatterbox::TextUtterance> pieces = self->priv->synth->split(text);
  if (pieces.empty() && !chatterbox::is_blank(text)) pieces.push_back({text, {}, {}});
  gint64 now = g_get_monotonic_time();
  /* Not bounded by max-queued-text: the text property is spoken whole. */
  for (chatterbox::TextUtterance& piece : pieces) {
    if (chatterbox::is_blank(piece.text)) continue;
    chatterbox::QueueItem item;
    item.text = std::move(piece.text);
    item.token_ids = std::move(piece.token_ids);
    item.token_language = std::move(piece.language);
    item.arrival_us = now;
    self->priv->queue.push_unchecked(std::move(item));
  }
  chatterbox::QueueItem eos;
  eos.event = gst_event_new_eos();
  self->priv->queue.push_unchecked(std::move(eos));
}

static gboolean src_activate(GstChatterboxTts* self, gboolean active) {
  GstChatterboxTtsPrivate* priv = self->priv;
  if (!active) {
    gboolean res = stop_task(self);
    gst_chatterbox_tts_clear_queue(self);
    return res;
  }
  gst_chatterbox_tts_clear_queue(self);
  gst_chatterbox_tts_reset_output(self);
  priv->have_segment = false;
  priv->queue.unflush();
  bool source_mode;
  GST_OBJECT_LOCK(self);
  source_mode = !priv->settings.text.empty();
  GST_OBJECT_UNLOCK(self);
  if (source_mode && !gst_pad_is_linked(self->sinkpad) && priv->synth) queue_source_mode(self);
  std::lock_guard<std::mutex> task_lock(priv->task_lock);
  return start_task(self);
}

static gboolean gst_chatterbox_tts_src_activate_mode(GstPad*, GstObject* parent, GstPadMode mode,
                                                     gboolean active) {
  GstChatterboxTts* self = GST_CHATTERBOX_TTS(parent);
  if (mode != GST_PAD_MODE_PUSH) return FALSE;
  return gst_chatterbox_tts_guard(GST_ELEMENT(self), "Failed to (de)activate", gboolean(FALSE),
                                  [&] { return src_activate(self, active); });
}

/* ------------------------------------------------------------------------------------------
 * State changes
 */

static GstStateChangeReturn gst_chatterbox_tts_change_state(GstElement* element,
                                                            GstStateChange transition) {
  GstChatterboxTts* self = GST_CHATTERBOX_TTS(element);
  GstChatterboxTtsPrivate* priv = self->priv;

  switch (transition) {
    case GST_STATE_CHANGE_NULL_TO_READY:
      if (!gst_chatterbox_tts_guard(GST_ELEMENT(self), "Failed to start", gboolean(FALSE),
                                    [&] { return gst_chatterbox_tts_start_engine(self); }))
        return GST_STATE_CHANGE_FAILURE;
      break;
    case GST_STATE_CHANGE_READY_TO_PAUSED:
      /* Live text is due within the latency from the start: the model's one-time costs are
       * paid here, not by the first utterance. */
      if (!gst_chatterbox_tts_guard(GST_ELEMENT(self), "Failed to warm up the model",
                                    gboolean(FALSE), [&] {
                                      priv->synth->warm_up();
                                      return TRUE;
                                    }))
        return GST_STATE_CHANGE_FAILURE;
      priv->upstream_known = false;
      priv->upstream_live = false;
      priv->dropped = 0;
      priv->dropped_unreported = 0;
      priv->last_drop_warning = GST_CLOCK_TIME_NONE;
      gst_chatterbox_tts_reset_input(self);
      priv->markup = false;
      priv->in_time = true;
      priv->negotiated = false;
      gst_chatterbox_tts_reset_tags(self);
      break;
    default:
      break;
  }

  GstStateChangeReturn ret = GST_ELEMENT_CLASS(parent_class)->change_state(element, transition);
  if (ret == GST_STATE_CHANGE_FAILURE) return ret;

  switch (transition) {
    case GST_STATE_CHANGE_PAUSED_TO_READY:
      /* Both pads are inactive now, so nothing can start the task again: make sure it is
       * stopped whatever raced the deactivation. */
      stop_task(self);
      gst_chatterbox_tts_reset_input(self);
      priv->converter.clear();
      priv->negotiated = false;
      gst_chatterbox_tts_reset_tags(self);
      break;
    case GST_STATE_CHANGE_READY_TO_NULL:
      gst_chatterbox_tts_stop_engine(self);
      break;
    default:
      break;
  }
  return ret;
}
