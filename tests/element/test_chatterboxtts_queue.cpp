/* GstCheck tests of the chatterboxtts text queue on its own (no element, no pads): bounds,
 * flushing, event order and the utterance in flight. */
/* C++ and project headers before gstcheck.h (its `fail` macro breaks later standard headers). */
#include <gst/check/gstcheck.h>

#include <atomic>
#include <deque>
#include <memory>
#include <string>

#include "gstchatterboxttsqueue.h"

using chatterbox::QueueItem;
using chatterbox::TextQueue;

static QueueItem text_item(const std::string& text) {
  QueueItem item;
  item.text = text;
  return item;
}

/* Records cancel(). */
class CancelRecorder : public chatterbox::Utterance {
 public:
  bool next(chatterbox::AudioChunk&) override { return false; }
  void cancel() override { cancelled = true; }
  chatterbox::UtteranceStats stats() const override { return {}; }
  std::atomic<bool> cancelled{false};
};

GST_START_TEST(test_starts_flushing) {
  TextQueue q;
  fail_unless_equals_int(q.flow(), GST_FLOW_FLUSHING);
  fail_unless_equals_int(q.push_text(text_item("a"), 10), GST_FLOW_FLUSHING);
  fail_if(q.push_event(gst_event_new_eos()));
  QueueItem item;
  fail_if(q.pop(item));
  fail_unless(q.take_all().empty());
}
GST_END_TEST;

/* Text and events come out in the order they went in; events own their reference. */
GST_START_TEST(test_order_and_events) {
  TextQueue q;
  q.unflush();
  fail_unless_equals_int(q.flow(), GST_FLOW_OK);
  fail_unless_equals_int(q.push_text(text_item("one"), 1), GST_FLOW_OK);
  /* Events are never bounded by the text limit. */
  GstEvent* gap = gst_event_new_gap(0, GST_SECOND);
  gst_event_ref(gap);
  fail_unless(q.push_event(gap));
  fail_unless(q.push_event(gst_event_new_eos()));
  QueueItem item;
  fail_unless(q.pop(item));
  fail_unless_equals_string(item.text.c_str(), "one");
  fail_unless(item.event == NULL);
  fail_unless(q.pop(item));
  fail_unless(item.event == gap);
  item = QueueItem(); /* releases the queue's reference */
  ASSERT_MINI_OBJECT_REFCOUNT(gap, "gap", 1);
  gst_event_unref(gap);
  std::deque<QueueItem> rest = q.take_all();
  fail_unless_equals_int(rest.size(), 1);
  fail_unless_equals_int(GST_EVENT_TYPE(rest[0].event), GST_EVENT_EOS);
}
GST_END_TEST;

struct Writer {
  TextQueue* q;
  std::atomic<bool> done{false};
  GstFlowReturn result = GST_FLOW_ERROR;
};

static gpointer write_third(gpointer data) {
  Writer* w = static_cast<Writer*>(data);
  w->result = w->q->push_text(text_item("three"), 2);
  w->done = true;
  return NULL;
}

/* A full queue blocks the writer until the task takes an item. */
GST_START_TEST(test_bound_blocks_writer) {
  TextQueue q;
  q.unflush();
  fail_unless_equals_int(q.push_text(text_item("one"), 2), GST_FLOW_OK);
  fail_unless_equals_int(q.push_text(text_item("two"), 2), GST_FLOW_OK);
  Writer w{&q};
  GThread* thread = g_thread_new("writer", write_third, &w);
  g_usleep(100 * 1000);
  fail_if(w.done, "a third text was queued past the bound of 2");
  QueueItem item;
  fail_unless(q.pop(item));
  g_thread_join(thread);
  fail_unless_equals_int(w.result, GST_FLOW_OK);
  fail_unless(q.pop(item));
  fail_unless_equals_string(item.text.c_str(), "two");
  fail_unless(q.pop(item));
  fail_unless_equals_string(item.text.c_str(), "three");
}
GST_END_TEST;

/* Flushing releases a blocked writer with FLUSHING and cancels the utterance in flight. */
GST_START_TEST(test_flushing_wakes_and_cancels) {
  TextQueue q;
  q.unflush();
  auto utt = std::make_shared<CancelRecorder>();
  fail_unless(q.set_current(utt));
  fail_unless_equals_int(q.push_text(text_item("one"), 2), GST_FLOW_OK);
  fail_unless_equals_int(q.push_text(text_item("two"), 2), GST_FLOW_OK);
  Writer w{&q};
  GThread* thread = g_thread_new("writer", write_third, &w);
  q.set_flushing(GST_FLOW_FLUSHING);
  g_thread_join(thread);
  fail_unless_equals_int(w.result, GST_FLOW_FLUSHING);
  fail_unless(utt->cancelled);
  QueueItem item;
  fail_if(q.pop(item));
  /* While flushing nothing becomes current: the caller cancels it. */
  fail_if(q.set_current(std::make_shared<CancelRecorder>()));
  fail_unless_equals_int(q.take_all().size(), 2);
}
GST_END_TEST;

/* The task's flow result reaches the sink side until a flush; a new stream clears EOS. */
GST_START_TEST(test_stop_with) {
  TextQueue q;
  q.unflush();
  fail_unless_equals_int(q.stop_with(GST_FLOW_NOT_LINKED), GST_FLOW_NOT_LINKED);
  fail_unless_equals_int(q.flow(), GST_FLOW_NOT_LINKED);
  fail_unless_equals_int(q.push_text(text_item("a"), 10), GST_FLOW_NOT_LINKED);
  q.reset_eos(); /* only EOS is cleared */
  fail_unless_equals_int(q.flow(), GST_FLOW_NOT_LINKED);
  q.unflush();
  fail_unless_equals_int(q.stop_with(GST_FLOW_EOS), GST_FLOW_EOS);
  q.reset_eos();
  fail_unless_equals_int(q.flow(), GST_FLOW_OK);
  q.set_flushing(GST_FLOW_FLUSHING);
  fail_unless_equals_int(q.stop_with(GST_FLOW_ERROR), GST_FLOW_FLUSHING);
  fail_unless_equals_int(q.flow(), GST_FLOW_FLUSHING);
}
GST_END_TEST;

static Suite* chatterboxtts_queue_suite(void) {
  Suite* s = suite_create("chatterboxtts-queue");
  TCase* tc = tcase_create("general");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_starts_flushing);
  tcase_add_test(tc, test_order_and_events);
  tcase_add_test(tc, test_bound_blocks_writer);
  tcase_add_test(tc, test_flushing_wakes_and_cancels);
  tcase_add_test(tc, test_stop_with);
  return s;
}

GST_CHECK_MAIN(chatterboxtts_queue);
