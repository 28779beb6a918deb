/* Helpers shared by the GstCheck tests of chatterboxtts on the fake synthesizer
 * (fake_synthesizer.h: one 40 ms token, 960 samples at 24 kHz, per character): harnesses,
 * text in, audio and bus messages out, test files, and bounded teardown. One test program
 * per file includes this once (its functions are static). */
#pragma once

/* C++ and project headers first: gstcheck.h defines a `fail` macro that breaks standard
 * headers (std::basic_ios::fail) included after it, which C++20 library headers do. */
#include <glib/gstdio.h>
#include <gst/audio/audio.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "fake_synthesizer.h"
#include "gstchatterboxtts.h"
#include "gstchatterboxttsengine.h"

using chatterbox::testing::FakeSynthesizer;

static const GstClockTime kToken = 40 * GST_MSECOND;
static const char* const kF32 = "audio/x-raw,format=F32LE,rate=24000,channels=1,layout=interleaved";

/* ---------------------------------------------------------------------------------------------
 * Helpers
 */

static GstBus* bus;

static inline void setup(void) {
  FakeSynthesizer::reset();
  FakeSynthesizer::install();
  bus = gst_bus_new();
}

static inline void teardown(void) {
  gst_bus_set_flushing(bus, TRUE);
  gst_object_unref(bus);
  bus = NULL;
  gst_chatterbox_tts_set_synthesizer_factory(nullptr);
}

static inline GstElement* make_tts(void) {
  GstElement* e = gst_element_factory_make("chatterboxtts", NULL);
  fail_unless(e != NULL);
  gst_element_set_bus(e, bus);
  return e;
}

/* A harness around `e` (which it takes over) with non-live upstream, so timestamps are not
 * subject to live deadlines, and the given output caps downstream. */
static inline GstHarness* make_harness(GstElement* e, const char* out_caps = kF32,
                                       const char* in_caps = "text/x-raw,format=utf8") {
  GstHarness* h = gst_harness_new_with_element(e, "sink", "src");
  gst_object_unref(e);
  gst_harness_set_live(h, FALSE);
  if (out_caps) gst_harness_set_sink_caps_str(h, out_caps);
  if (in_caps) gst_harness_set_src_caps_str(h, in_caps);
  return h;
}

static inline GstBuffer* text_buffer(const std::string& s, GstClockTime pts = GST_CLOCK_TIME_NONE,
                                     GstClockTime duration = GST_CLOCK_TIME_NONE) {
  GstBuffer* buf = s.empty() ? gst_buffer_new() : gst_buffer_new_memdup(s.data(), s.size());
  GST_BUFFER_PTS(buf) = pts;
  GST_BUFFER_DURATION(buf) = duration;
  return buf;
}

static inline void push_text(GstHarness* h, const std::string& s,
                             GstClockTime pts = GST_CLOCK_TIME_NONE,
                             GstClockTime duration = GST_CLOCK_TIME_NONE) {
  fail_unless_equals_int(gst_harness_push(h, text_buffer(s, pts, duration)), GST_FLOW_OK);
}

static inline void push_eos(GstHarness* h) {
  fail_unless(gst_harness_push_event(h, gst_event_new_eos()));
}

/* Every buffer until EOS (fails on the harness's 60 s timeout). */
static inline std::vector<GstBuffer*> pull_until_eos(GstHarness* h) {
  std::vector<GstBuffer*> out;
  GstBuffer* buf = NULL;
  while (true) {
    fail_unless(gst_harness_pull_until_eos(h, &buf), "timed out waiting for EOS");
    if (!buf) break;
    out.push_back(buf);
  }
  return out;
}

static inline void unref_all(std::vector<GstBuffer*>& bufs) {
  for (GstBuffer* b : bufs) gst_buffer_unref(b);
  bufs.clear();
}

static inline GstAudioInfo output_info(GstHarness* h) {
  GstCaps* caps = gst_pad_get_current_caps(h->sinkpad);
  fail_unless(caps != NULL);
  GstAudioInfo info;
  fail_unless(gst_audio_info_from_caps(&info, caps));
  gst_caps_unref(caps);
  return info;
}

static inline guint64 total_frames(const std::vector<GstBuffer*>& bufs, int bpf) {
  guint64 n = 0;
  for (GstBuffer* b : bufs) n += gst_buffer_get_size(b) / bpf;
  return n;
}

/* Element messages named chatterboxtts/synthesized-audio posted so far. */
static inline std::vector<GstStructure*> stats_messages(void) {
  std::vector<GstStructure*> out;
  while (GstMessage* msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT)) {
    const GstStructure* s = gst_message_get_structure(msg);
    if (gst_structure_has_name(s, "chatterboxtts/synthesized-audio"))
      out.push_back(gst_structure_copy(s));
    gst_message_unref(msg);
  }
  return out;
}

static inline void free_structures(std::vector<GstStructure*>& v) {
  for (GstStructure* s : v) gst_structure_free(s);
  v.clear();
}

static inline guint64 get_u64(const GstStructure* s, const char* field) {
  guint64 v = 0;
  fail_unless(gst_structure_get_uint64(s, field, &v), "no guint64 field %s", field);
  return v;
}

/* Pops the first error or warning on the bus (NULL when none). */
static inline GstMessage* pop_problem(GstMessageType type, GstClockTime timeout = 0) {
  return gst_bus_timed_pop_filtered(bus, timeout, type);
}

static inline void expect_error(GstMessage* msg, GQuark domain, gint code, const char* text_part) {
  fail_unless(msg != NULL, "no error message");
  GError* err = NULL;
  gchar* debug = NULL;
  if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR)
    gst_message_parse_error(msg, &err, &debug);
  else
    gst_message_parse_warning(msg, &err, &debug);
  GST_INFO("message: %s (%s)", err->message, GST_STR_NULL(debug));
  fail_unless(err->domain == domain, "wrong domain %s for '%s'", g_quark_to_string(err->domain),
              err->message);
  fail_unless_equals_int(err->code, code);
  if (text_part) {
    std::string all = std::string(err->message) + " " + (debug ? debug : "");
    fail_unless(all.find(text_part) != std::string::npos, "'%s' not in '%s'", text_part,
                all.c_str());
  }
  g_error_free(err);
  g_free(debug);
  gst_message_unref(msg);
}

static inline void write_file(const std::string& path, const std::string& data) {
  fail_unless(g_file_set_contents(path.c_str(), data.data(), data.size(), NULL));
}

/* A mono 16-bit PCM WAV file with a 220 Hz sine (or silence). */
static inline void write_wav(const std::string& path, int rate, double seconds, double amplitude) {
  guint32 n = guint32(rate * seconds);
  std::string d;
  auto u32 = [&](guint32 v) {
    for (int i = 0; i < 4; ++i) d.push_back(char((v >> (8 * i)) & 0xff));
  };
  auto u16 = [&](guint16 v) {
    d.push_back(char(v & 0xff));
    d.push_back(char(v >> 8));
  };
  d += "RIFF";
  u32(36 + n * 2);
  d += "WAVEfmt ";
  u32(16);
  u16(1);
  u16(1);
  u32(rate);
  u32(rate * 2);
  u16(2);
  u16(16);
  d += "data";
  u32(n * 2);
  for (guint32 i = 0; i < n; ++i)
    u16(guint16(gint16(amplitude * 32767 * std::sin(2 * M_PI * 220.0 * i / rate))));
  write_file(path, d);
}

static inline std::string temp_dir(void) {
  gchar* dir = g_dir_make_tmp("chatterboxtts-test-XXXXXX", NULL);
  fail_unless(dir != NULL);
  std::string s = dir;
  g_free(dir);
  return s;
}

/* ---------------------------------------------------------------------------------------------
 * Teardown: after NULL no thread of the element may remain, and the last unref returns
 */

/* How long a teardown may take before we call it hung. Not a performance bound: a working
 * teardown takes milliseconds; a broken one never returns. */
static const gint64 kHangSeconds = 10;

struct BoundedTeardown {
  GstHarness* h;
  GMutex lock;
  GCond cond;
  bool returned = false;
  bool disposed = false;
};

static inline void note_disposed(gpointer data, GObject*) {
  static_cast<BoundedTeardown*>(data)->disposed = true;
}

static inline gpointer run_teardown(gpointer data) {
  BoundedTeardown* t = static_cast<BoundedTeardown*>(data);
  gst_element_set_state(t->h->element, GST_STATE_NULL);
  /* Messages on the bus hold references to the element: drop them. */
  gst_bus_set_flushing(bus, TRUE);
  gst_harness_teardown(t->h); /* drops the last reference: dispose and finalize */
  g_mutex_lock(&t->lock);
  t->returned = true;
  g_cond_signal(&t->cond);
  g_mutex_unlock(&t->lock);
  return NULL;
}

/* Sets the harness's element to NULL and releases it in another thread, and fails (instead of
 * hanging the test) when that does not return within kHangSeconds. */
static inline void teardown_bounded(GstHarness* h) {
  /* Leaked on a hang: the stuck thread still uses it. */
  BoundedTeardown* t = new BoundedTeardown();
  t->h = h;
  g_mutex_init(&t->lock);
  g_cond_init(&t->cond);
  g_object_weak_ref(G_OBJECT(h->element), note_disposed, t);
  GThread* thread = g_thread_new("teardown", run_teardown, t);
  gint64 deadline = g_get_monotonic_time() + kHangSeconds * G_TIME_SPAN_SECOND;
  g_mutex_lock(&t->lock);
  while (!t->returned)
    if (!g_cond_wait_until(&t->cond, &t->lock, deadline)) break;
  bool returned = t->returned;
  g_mutex_unlock(&t->lock);
  fail_unless(returned, "setting NULL and releasing the element hung");
  g_thread_join(thread);
  fail_unless(t->disposed, "the element was not released");
  g_mutex_clear(&t->lock);
  g_cond_clear(&t->cond);
  delete t;
}

/* The source pad has no task left, and the one it had has stopped (its thread has left the
 * task function for good). */
static inline void check_no_task(GstElement* e, GstTask* old_task) {
  GstPad* src = gst_element_get_static_pad(e, "src");
  GST_OBJECT_LOCK(src);
  GstTask* task = GST_PAD_TASK(src);
  int state = task ? (int)gst_task_get_state(task) : -1;
  GST_OBJECT_UNLOCK(src);
  fail_unless(task == NULL, "the source pad still has a task (state %d) after NULL", state);
  fail_unless_equals_int(gst_pad_get_task_state(src), GST_TASK_STOPPED);
  if (old_task) fail_unless_equals_int(gst_task_get_state(old_task), GST_TASK_STOPPED);
  gst_object_unref(src);
}

/* The source pad's task, with a reference (NULL when there is none). */
static inline GstTask* src_task(GstElement* e) {
  GstPad* src = gst_element_get_static_pad(e, "src");
  GST_OBJECT_LOCK(src);
  GstTask* task = GST_PAD_TASK(src) ? GST_TASK(gst_object_ref(GST_PAD_TASK(src))) : NULL;
  GST_OBJECT_UNLOCK(src);
  gst_object_unref(src);
  return task;
}
