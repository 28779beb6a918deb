/* gst-chatterbox: Chatterbox text-to-speech for GStreamer.
 * SPDX-License-Identifier: MIT
 */

/* The queue between the chatterboxtts sink pad (which only queues text) and its source pad
 * task (which speaks it), with the flushing state both sides obey. No pads here: it can be
 * tested on its own. */
#pragma once

#include <gst/gst.h>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine.h"

namespace chatterbox {

/* One entry of the queue: a piece of text to speak, or a serialized event that must leave
 * after the audio queued before it. Move-only; owns its event. */
struct QueueItem {
  QueueItem() = default;
  QueueItem(QueueItem&& other) noexcept { *this = std::move(other); }
  QueueItem& operator=(QueueItem&& other) noexcept;
  QueueItem(const QueueItem&) = delete;
  QueueItem& operator=(const QueueItem&) = delete;
  ~QueueItem();

  GstEvent* event = nullptr; /* owned; null for text */
  std::string text;
  std::vector<int64_t>
      token_ids;              /* the synthesizer's ids for `text` (from split_for()), or empty */
  std::string token_language; /* the language token_ids were made for */
  GstClockTime pts = GST_CLOCK_TIME_NONE;       /* start of a timed group, else NONE */
  GstClockTime group_end = GST_CLOCK_TIME_NONE; /* pts + duration of the timed group */
  gint64 arrival_us = 0;                        /* g_get_monotonic_time() at the sink pad */
  /* Untimed text from a live upstream: the running time at which it was complete on the sink
   * pad (it is spoken from then on, or after the previous audio); NONE otherwise. */
  GstClockTime ready_rt = GST_CLOCK_TIME_NONE;
  std::shared_ptr<GstBuffer> meta_source; /* timed input buffer whose metas we copy */
};

/* Thread-safe. Starts flushing (nothing accepted) until unflush(). */
class TextQueue {
 public:
  /* Appends text, blocking while `max_queued` text items wait. Returns GST_FLOW_OK, or
   * GST_FLOW_FLUSHING / the task's flow error when the text was not queued. */
  GstFlowReturn push_text(QueueItem&& item, size_t max_queued);
  /* Appends an event (never blocks). Takes ownership; false (event dropped) when flushing. */
  bool push_event(GstEvent* event);
  /* Appends without bound or flushing check (the text property in source mode). */
  void push_unchecked(QueueItem&& item);

  /* Task side: waits for the next item. False when flushing (the task should pause). */
  bool pop(QueueItem& item);

  /* What the sink pad should return now: FLUSHING, the task's flow result, or OK. */
  GstFlowReturn flow();
  /* Stops everything: flushing with `result`, every waiter woken and the utterance in flight
   * cancelled, so the task leaves within one model step. */
  void set_flushing(GstFlowReturn result);
  /* Lets data flow again (activation, FLUSH_STOP). */
  void unflush();
  /* The task stopped on `result`: the sink pad returns it from now on (FLUSHING instead while
   * flushing, which is also what this returns then). */
  GstFlowReturn stop_with(GstFlowReturn result);
  /* A new stream after EOS may flow again. */
  void reset_eos();
  /* Wakes blocked writers (the bound changed). */
  void wake();

  /* Removes and returns everything queued. */
  std::deque<QueueItem> take_all();

  /* The utterance in flight, cancelled by set_flushing(). False (and nothing set) when
   * already flushing: the caller cancels it. */
  bool set_current(std::shared_ptr<Utterance> utterance);
  void clear_current();

 private:
  std::mutex lock_;
  std::condition_variable cond_;
  std::deque<QueueItem> items_;
  size_t queued_text_ = 0; /* text items in items_ */
  bool flushing_ = true;
  GstFlowReturn result_ = GST_FLOW_FLUSHING;
  std::shared_ptr<Utterance> current_;
};

}  // namespace chatterbox
