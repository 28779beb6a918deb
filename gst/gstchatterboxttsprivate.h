/* gst-chatterbox: Chatterbox text-to-speech for GStreamer.
 * SPDX-License-Identifier: MIT
 */

/* Private to the chatterboxtts element: its instance structure and the functions its files
 * share. Not installed. */
#pragma once

#include <gst/audio/audio.h>
#include <gst/gst.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "chatterboxtext.h"
#include "engine.h"
#include "gstchatterboxtts.h"
#include "gstchatterboxttsconvert.h"
#include "gstchatterboxttsproperties.h"
#include "gstchatterboxttsqueue.h"
#include "gstchatterboxttsvoice.h"

GST_DEBUG_CATEGORY_EXTERN(gst_chatterbox_tts_debug);
#define GST_CAT_DEFAULT gst_chatterbox_tts_debug

/* Internal flow return of the task: the error was already posted on the bus. */
#define GST_CHATTERBOX_TTS_FLOW_ERROR_POSTED GST_FLOW_CUSTOM_ERROR

#define GST_CHATTERBOX_TTS_SINK_CAPS "text/x-raw, format = (string) { utf8, pango-markup }"
#define GST_CHATTERBOX_TTS_SRC_CAPS                                                  \
  "audio/x-raw, format = (string) { F32LE, S16LE }, rate = (int) [ 8000, 192000 ], " \
  "channels = (int) [ 1, 64 ], layout = (string) interleaved"

/* Name of the custom downstream event that switches the voice mid-stream. */
#define GST_CHATTERBOX_TTS_VOICE_EVENT "chatterbox-voice"

/* C++ state of the element, new'ed in _init and deleted in _finalize so that constructors and
 * destructors run. Lock order: stream lock, then task_lock, then the object lock or the
 * queue's lock (never both). */
struct GstChatterboxTtsPrivate {
  /* Protected by the object lock. */
  chatterbox::ElementSettings settings;
  /* Own live latency that measurement showed is needed beyond the latency property (0: none);
   * cleared when the property changes. */
  GstClockTime latency_needed = 0;

  /* Set in NULL->READY, cleared in READY->NULL; the streaming threads only run in between. */
  std::shared_ptr<chatterbox::Synthesizer> synth;

  /* Sink side, protected by the sink pad's stream lock. */
  chatterbox::TextDecoder decoder;
  std::string pending; /* untimed text waiting for a sentence end */
  gint64 pending_arrival_us = 0;
  bool markup = false; /* input caps say pango-markup */
  bool in_time = true; /* input segment is TIME (else all input is untimed) */

  /* Between the sink pad and the source pad task (thread-safe). */
  chatterbox::TextQueue queue;

  /* Serializes (re)starting the source pad task with its deactivation, so that a FLUSH_STOP
   * racing a state change never starts a task on a pad that is going inactive. */
  std::mutex task_lock;

  /* Source side, used by the source pad task only (or while it is stopped/paused). */
  GstSegment segment;
  bool have_segment = false; /* a segment event was received */
  bool segment_pushed = false;
  GstClockTime position = GST_CLOCK_TIME_NONE; /* end of the last output, segment time */
  guint64 offset = 0;                          /* output samples pushed since start/flush */
  bool discont = true;
  bool negotiated = false;
  GstAudioInfo out_info;
  chatterbox::OutputConverter converter;
  chatterbox::VoiceResolver voices;     /* also used in NULL->READY */
  std::set<std::string> warned_ignored; /* properties already warned about as unused */
  GstTagList* upstream_tags = nullptr;  /* upstream's stream tags, filtered (owned) */
  bool tags_pending = true;             /* our stream tags are to be (re)sent */
  guint64 dropped = 0;                  /* output frames dropped as late */
  /* Rate limit of the bus warning about late audio: running time of the last one, and the
   * frames dropped since it. */
  GstClockTime last_drop_warning = GST_CLOCK_TIME_NONE;
  guint64 dropped_unreported = 0;

  /* Read by queries from any thread. */
  std::atomic<guint64> query_position{GST_CLOCK_TIME_NONE};
  std::atomic<guint64> converter_latency{0};
  /* Upstream's latency answer (without ours), for the live deadline. */
  std::atomic<bool> upstream_known{false};
  std::atomic<bool> upstream_live{false};
  std::atomic<guint64> upstream_min{0};
};

struct _GstChatterboxTts {
  GstElement parent;

  GstPad* sinkpad;
  GstPad* srcpad;
  GstChatterboxTtsPrivate* priv;
};

/* gstchatterboxttssink.cpp: text in on the sink pad. */
GstFlowReturn gst_chatterbox_tts_sink_chain(GstPad* pad, GstObject* parent, GstBuffer* buffer);
GstFlowReturn gst_chatterbox_tts_sink_chain_list(GstPad* pad, GstObject* parent,
                                                 GstBufferList* list);
gboolean gst_chatterbox_tts_sink_event(GstPad* pad, GstObject* parent, GstEvent* event);
/* Forgets partial input; with the sink stream lock or while stopped. */
void gst_chatterbox_tts_reset_input(GstChatterboxTts* self);

/* gstchatterboxtts.cpp: the source pad task's life. */
/* FLUSH_STOP: lets data flow again and restarts the task, unless the source pad is inactive
 * or being deactivated (then the element stays flushing). */
void gst_chatterbox_tts_restart_task(GstChatterboxTts* self);
/* Queues a serialized event behind the text before it. Takes ownership. */
gboolean gst_chatterbox_tts_queue_event(GstChatterboxTts* self, GstEvent* event);
/* Drops everything queued, keeping sticky events on the source pad. */
void gst_chatterbox_tts_clear_queue(GstChatterboxTts* self);

/* gstchatterboxttstask.cpp: the source pad task and what it does with queued events. */
void gst_chatterbox_tts_loop(GstChatterboxTts* self);
/* Stream-start, caps and segment before the first audio; (re)negotiates the output. */
GstFlowReturn gst_chatterbox_tts_ensure_output(GstChatterboxTts* self);
void gst_chatterbox_tts_update_position(GstChatterboxTts* self, GstClockTime position);
/* Resets the output state; the task must not be running. */
void gst_chatterbox_tts_reset_output(GstChatterboxTts* self);

/* gstchatterboxttstags.cpp: upstream tags filtered onto the audio stream, our own tags. */
/* The ISO 639-1 code of a tag event's GST_TAG_LANGUAGE_CODE (639-2 codes converted), or NULL
 * when it carries none. g_free() the result. */
gchar* gst_chatterbox_tts_tag_language(GstEvent* event);
/* A TAG event that waited in the queue: stream tags are kept (without the tags that describe
 * the text, such as its language or title) and sent merged with ours; global tags are
 * forwarded without those. Takes ownership. */
GstFlowReturn gst_chatterbox_tts_tag_event(GstChatterboxTts* self, GstEvent* event);
/* Sends our stream tags (with upstream's) if they changed and the segment is out. */
void gst_chatterbox_tts_push_stream_tags(GstChatterboxTts* self);
/* Forgets upstream's stream tags; ours are sent again (new stream, start). */
void gst_chatterbox_tts_reset_tags(GstChatterboxTts* self);

/* gstchatterboxttsutterance.cpp: one queued text to audio buffers. */
GstFlowReturn gst_chatterbox_tts_speak(GstChatterboxTts* self, chatterbox::QueueItem& item);

/* gstchatterboxttslatency.cpp: latency and position, live deadlines. */
gboolean gst_chatterbox_tts_src_query(GstPad* pad, GstObject* parent, GstQuery* query);
void gst_chatterbox_tts_ensure_upstream_latency(GstChatterboxTts* self);
/* Running time of the element's clock, or NONE when not PLAYING or without a clock. */
GstClockTime gst_chatterbox_tts_running_time_now(GstChatterboxTts* self);
/* What the element adds to a live latency: the latency property (or the measured need when
 * larger) plus the output converter's delay. The LATENCY answer and the deadline both use it. */
GstClockTime gst_chatterbox_tts_own_latency(GstChatterboxTts* self);
/* Posts a LATENCY message, only when upstream is live (else there is nothing to recompute). */
void gst_chatterbox_tts_post_latency(GstChatterboxTts* self);
/* Audio was ready `need` after the point its deadline counts from: when that is more than the
 * current own latency, raises it, warns on the bus with the value that works, and posts a
 * LATENCY message. */
void gst_chatterbox_tts_note_processing(GstChatterboxTts* self, GstClockTime need);
/* Leading frames of `frames` starting at `pts` that are already past the live deadline at
 * running time `now`, and by how much (`late_by`); 0 when upstream is not live or `now` is
 * NONE. */
guint64 gst_chatterbox_tts_late_frames(GstChatterboxTts* self, GstClockTime now, GstClockTime pts,
                                       guint64 frames, int rate, GstClockTime* late_by);
