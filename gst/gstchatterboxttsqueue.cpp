/* gst-chatterbox: Chatterbox text-to-speech for GStreamer.
 * SPDX-License-Identifier: MIT
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstchatterboxttsqueue.h"

namespace chatterbox {

QueueItem& QueueItem::operator=(QueueItem&& other) noexcept {
  if (this == &other) return *this;
  if (event) gst_event_unref(event);
  event = other.event;
  other.event = nullptr;
  text = std::move(other.text);
  token_ids = std::move(other.token_ids);
  token_language = std::move(other.token_language);
  pts = other.pts;
  group_end = other.group_end;
  arrival_us = other.arrival_us;
  ready_rt = other.ready_rt;
  meta_source = std::move(other.meta_source);
  return *this;
}

QueueItem::~QueueItem() {
  if (event) gst_event_unref(event);
}

GstFlowReturn TextQueue::push_text(QueueItem&& item, size_t max_queued) {
  std::unique_lock<std::mutex> lock(lock_);
  cond_.wait(lock,
             [&] { return flushing_ || result_ != GST_FLOW_OK || queued_text_ < max_queued; });
  if (flushing_) return GST_FLOW_FLUSHING;
  if (result_ != GST_FLOW_OK) return result_;
  items_.push_back(std::move(item));
  queued_text_++;
  cond_.notify_all();
  return GST_FLOW_OK;
}

bool TextQueue::push_event(GstEvent* event) {
  std::lock_guard<std::mutex> lock(lock_);
  if (flushing_) {
    gst_event_unref(event);
    return false;
  }
  QueueItem item;
  item.event = event;
  items_.push_back(std::move(item));
  cond_.notify_all();
  return true;
}

void TextQueue::push_unchecked(QueueItem&& item) {
  std::lock_guard<std::mutex> lock(lock_);
  if (!item.event) queued_text_++;
  items_.push_back(std::move(item));
  cond_.notify_all();
}

bool TextQueue::pop(QueueItem& item) {
  std::unique_lock<std::mutex> lock(lock_);
  cond_.wait(lock, [&] { return flushing_ || !items_.empty(); });
  if (flushing_) return false;
  item = std::move(items_.front());
  items_.pop_front();
  if (!item.event) queued_text_--;
  cond_.notify_all();
  return true;
}

GstFlowReturn TextQueue::flow() {
  std::lock_guard<std::mutex> lock(lock_);
  return flushing_ ? GST_FLOW_FLUSHING : result_;
}

void TextQueue::set_flushing(GstFlowReturn result) {
  std::shared_ptr<Utterance> current;
  {
    std::lock_guard<std::mutex> lock(lock_);
    flushing_ = true;
    result_ = result;
    current = current_;
    cond_.notify_all();
  }
  if (current) current->cancel();
}

void TextQueue::unflush() {
  std::lock_guard<std::mutex> lock(lock_);
  flushing_ = false;
  result_ = GST_FLOW_OK;
  current_.reset();
  cond_.notify_all();
}

GstFlowReturn TextQueue::stop_with(GstFlowReturn result) {
  std::lock_guard<std::mutex> lock(lock_);
  if (flushing_)
    result = GST_FLOW_FLUSHING;
  else
    result_ = result;
  cond_.notify_all(); /* the chain function returns our result */
  return result;
}

void TextQueue::reset_eos() {
  std::lock_guard<std::mutex> lock(lock_);
  if (result_ == GST_FLOW_EOS && !flushing_) result_ = GST_FLOW_OK;
}

void TextQueue::wake() {
  std::lock_guard<std::mutex> lock(lock_);
  cond_.notify_all();
}

std::deque<QueueItem> TextQueue::take_all() {
  std::deque<QueueItem> taken;
  std::lock_guard<std::mutex> lock(lock_);
  taken.swap(items_);
  queued_text_ = 0;
  cond_.notify_all();
  return taken;
}

bool TextQueue::set_current(std::shared_ptr<Utterance> utterance) {
  std::lock_guard<std::mutex> lock(lock_);
  if (flushing_) return false;
  current_ = std::move(utterance);
  return true;
}

void TextQueue::clear_current() {
  std::lock_guard<std::mutex> lock(lock_);
  current_.reset();
}

}  // namespace chatterbox
