/* GstCheck tests of the chatterboxtts element on a deterministic fake synthesizer (no model).
 * The element is registered statically from the gst/ static library; the fake is injected with
 * gst_chatterbox_tts_set_synthesizer_factory() (private header gstchatterboxttsengine.h). See
 * fake_synthesizer.h for what it produces:
 * one 40 ms token (960 samples at 24 kHz) per character, 440 Hz sine at amplitude 0.5. */
#include <algorithm>

#include "chatterboxtext.h"
#include "element_check.h"
#include "gstchatterboxenums.h"

/* ---------------------------------------------------------------------------------------------
 * Helpers (the others are in element_check.h)
 */

/* A harness around a fresh element with live upstream (`upstream` min latency), the latency
 * property at `latency_ms` (0: its default). */
static GstHarness* make_live_harness(guint latency_ms, GstClockTime upstream = 0) {
  GstElement* e = make_tts();
  if (latency_ms) g_object_set(e, "latency", latency_ms, NULL);
  GstHarness* h = make_harness(e);
  gst_harness_set_live(h, TRUE);
  gst_harness_set_upstream_latency(h, upstream);
  return h;
}

/* Invariant of a gapless stream (audioresample's fail_unless_perfect_stream): each buffer
 * starts where the previous ended, in time and in offsets, and its duration matches its size;
 * only the first buffer is DISCONT. */
static void check_perfect_stream(const std::vector<GstBuffer*>& bufs, int rate, int bpf) {
  fail_if(bufs.empty());
  for (size_t i = 0; i < bufs.size(); ++i) {
    GstBuffer* b = bufs[i];
    guint64 frames = gst_buffer_get_size(b) / bpf;
    fail_unless(GST_BUFFER_PTS_IS_VALID(b));
    fail_unless(GST_BUFFER_DURATION_IS_VALID(b));
    fail_unless_equals_uint64(GST_BUFFER_OFFSET_END(b) - GST_BUFFER_OFFSET(b), frames);
    /* Durations are differences of scaled sample counts: within one ns of frames/rate. */
    GstClockTime expect = gst_util_uint64_scale_int(frames, GST_SECOND, rate);
    fail_unless(GST_BUFFER_DURATION(b) + 1 >= expect && GST_BUFFER_DURATION(b) <= expect + 1,
                "buffer %zu duration %" G_GUINT64_FORMAT " for %" G_GUINT64_FORMAT " frames", i,
                GST_BUFFER_DURATION(b), frames);
    fail_unless_equals_int(GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_DISCONT), i == 0);
    if (i > 0) {
      GstBuffer* p = bufs[i - 1];
      fail_unless_equals_uint64(GST_BUFFER_PTS(b), GST_BUFFER_PTS(p) + GST_BUFFER_DURATION(p));
      fail_unless_equals_uint64(GST_BUFFER_OFFSET(b), GST_BUFFER_OFFSET_END(p));
    }
  }
}

/* The audio as floats, whatever the output format. */
static std::vector<float> samples_of(const std::vector<GstBuffer*>& bufs,
                                     const GstAudioInfo& info) {
  std::vector<float> out;
  for (GstBuffer* b : bufs) {
    GstMapInfo map;
    fail_unless(gst_buffer_map(b, &map, GST_MAP_READ));
    size_t n = map.size / GST_AUDIO_INFO_BPF(&info);
    for (size_t i = 0; i < n; ++i) {
      if (GST_AUDIO_INFO_FORMAT(&info) == GST_AUDIO_FORMAT_F32LE)
        out.push_back(reinterpret_cast<const float*>(map.data)[i]);
      else
        out.push_back(reinterpret_cast<const gint16*>(map.data)[i] / 32768.0f);
    }
    gst_buffer_unmap(b, &map);
  }
  return out;
}

/* Every message on the bus so far, in order (the filtered pops of element_check.h discard what
 * they skip). */
static std::vector<GstMessage*> take_bus_messages(void) {
  std::vector<GstMessage*> out;
  while (GstMessage* msg = gst_bus_pop(bus)) out.push_back(msg);
  return out;
}

static void unref_messages(std::vector<GstMessage*>& msgs) {
  for (GstMessage* m : msgs) gst_message_unref(m);
  msgs.clear();
}

static std::vector<GstMessage*> messages_of_type(const std::vector<GstMessage*>& msgs,
                                                 GstMessageType type) {
  std::vector<GstMessage*> out;
  for (GstMessage* m : msgs)
    if (GST_MESSAGE_TYPE(m) == type) out.push_back(m);
  return out;
}

/* The chatterboxtts/synthesized-audio structures among `msgs` (owned by the messages). */
static std::vector<const GstStructure*> stats_in(const std::vector<GstMessage*>& msgs) {
  std::vector<const GstStructure*> out;
  for (GstMessage* m : messages_of_type(msgs, GST_MESSAGE_ELEMENT)) {
    const GstStructure* s = gst_message_get_structure(m);
    if (gst_structure_has_name(s, "chatterboxtts/synthesized-audio")) out.push_back(s);
  }
  return out;
}

/* Whether a warning of `domain`/`code` is among `msgs`. */
static int count_warnings(const std::vector<GstMessage*>& msgs, GQuark domain, gint code) {
  int n = 0;
  for (GstMessage* m : messages_of_type(msgs, GST_MESSAGE_WARNING)) {
    GError* err = NULL;
    gst_message_parse_warning(m, &err, NULL);
    if (err->domain == domain && err->code == code) n++;
    g_error_free(err);
  }
  return n;
}

/* Simulated compute time on the harness's test clock: the fake synthesizer advances it by
 * `first` before an utterance's first chunk and by `per_token` per token of every chunk. */
static void simulate_compute(GstHarness* h, GstClockTime first, GstClockTime per_token) {
  GstTestClock* clock = gst_harness_get_testclock(h);
  FakeSynthesizer::set_chunk_hook([clock, first, per_token](int tokens, bool is_first) {
    gst_test_clock_advance_time(clock, (is_first ? first : 0) + tokens * per_token);
  });
  gst_object_unref(clock); /* the harness keeps it alive until teardown */
}

/* For each buffer leaving the element: its PTS and the clock time when it left. Read after EOS
 * was pulled (the harness's queue orders the task's writes before that). */
struct PushLog {
  GstClock* clock;
  std::vector<std::pair<GstClockTime, GstClockTime>> pts_and_time;
};

static GstPadProbeReturn log_push(GstPad*, GstPadProbeInfo* info, gpointer data) {
  auto* log = static_cast<PushLog*>(data);
  log->pts_and_time.emplace_back(GST_BUFFER_PTS(GST_PAD_PROBE_INFO_BUFFER(info)),
                                 gst_clock_get_time(log->clock));
  return GST_PAD_PROBE_OK;
}

static void log_pushes(GstHarness* h, PushLog* log) {
  log->clock = GST_CLOCK(gst_harness_get_testclock(h));
  gst_object_unref(log->clock); /* the harness keeps it alive until teardown */
  GstPad* src = gst_element_get_static_pad(h->element, "src");
  gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_BUFFER, log_push, log, NULL);
  gst_object_unref(src);
}

/* ---------------------------------------------------------------------------------------------
 * Registration and properties
 */

GST_START_TEST(test_registration) {
  GstElementFactory* f = gst_element_factory_find("chatterboxtts");
  fail_unless(f != NULL);
  fail_unless_equals_string(gst_element_factory_get_metadata(f, GST_ELEMENT_METADATA_KLASS),
                            "Converter/Text/Audio");
  fail_unless_equals_int(gst_plugin_feature_get_rank(GST_PLUGIN_FEATURE(f)), GST_RANK_NONE);
  fail_unless_equals_int(gst_element_factory_get_num_pad_templates(f), 2);
  for (const GList* l = gst_element_factory_get_static_pad_templates(f); l; l = l->next) {
    GstStaticPadTemplate* t = (GstStaticPadTemplate*)l->data;
    GstCaps* caps = gst_static_caps_get(&t->static_caps);
    if (t->direction == GST_PAD_SINK) {
      GstCaps* markup = gst_caps_from_string("text/x-raw,format=pango-markup");
      fail_unless(gst_caps_can_intersect(caps, markup));
      gst_caps_unref(markup);
    } else {
      GstCaps* s16 = gst_caps_from_string(
          "audio/x-raw,format=S16LE,rate=8000,channels=1,"
          "layout=interleaved");
      fail_unless(gst_caps_can_intersect(caps, s16));
      gst_caps_unref(s16);
    }
    gst_caps_unref(caps);
  }
  gst_object_unref(f);
}
GST_END_TEST;

/* Every property of a fresh element has its documented default, and the defaults of the
 * generation parameters are the original API's (chatterbox::SynthesisParams). */
GST_START_TEST(test_property_defaults) {
  GstElement* e = make_tts();
  guint n;
  GParamSpec** specs = g_object_class_list_properties(G_OBJECT_GET_CLASS(e), &n);
  for (guint i = 0; i < n; ++i) {
    GParamSpec* p = specs[i];
    if (p->owner_type != GST_TYPE_CHATTERBOX_TTS) continue;
    fail_unless(p->flags & G_PARAM_READABLE);
    GValue v = G_VALUE_INIT;
    g_value_init(&v, p->value_type);
    g_object_get_property(G_OBJECT(e), p->name, &v);
    fail_unless(g_param_values_cmp(p, &v, g_param_spec_get_default_value(p)) == 0,
                "property %s is not at its default", p->name);
    g_value_unset(&v);
    /* Model-shaping properties apply in READY, everything else while playing; model-variant
     * is read-only. */
    if (!strcmp(p->name, "model-variant")) {
      fail_unless(!(p->flags & G_PARAM_WRITABLE));
      continue;
    }
    bool ready_only = !strcmp(p->name, "model-path") || !strcmp(p->name, "device") ||
                      !strcmp(p->name, "text") || !strcmp(p->name, "t3-precision");
    fail_unless_equals_int(!!(p->flags & GST_PARAM_MUTABLE_READY), ready_only);
    fail_unless_equals_int(!!(p->flags & GST_PARAM_MUTABLE_PLAYING), !ready_only);
  }
  g_free(specs);

  chatterbox::SynthesisParams d;
  auto dbl = [&](const char* name) {
    gdouble v;
    g_object_get(e, name, &v, NULL);
    return v;
  };
  auto uns = [&](const char* name) {
    guint v;
    g_object_get(e, name, &v, NULL);
    return (int)v;
  };
  fail_unless(std::fabs(dbl("exaggeration") - d.exaggeration) < 1e-6);
  fail_unless(std::fabs(dbl("cfg-weight") - d.cfg_weight) < 1e-6);
  fail_unless(std::fabs(dbl("temperature") - d.temperature) < 1e-6);
  fail_unless(std::fabs(dbl("top-p") - d.top_p) < 1e-6);
  fail_unless(std::fabs(dbl("min-p") - d.min_p) < 1e-6);
  fail_unless(std::fabs(dbl("repetition-penalty") - d.repetition_penalty) < 1e-6);
  fail_unless_equals_int(uns("max-tokens"), d.max_tokens);
  fail_unless_equals_int(uns("cfm-steps"), d.cfm_steps);
  fail_unless_equals_int(uns("first-chunk-size"), d.first_chunk_tokens);
  fail_unless_equals_int(uns("chunk-size"), d.chunk_tokens);
  fail_unless_equals_int(uns("max-chunk-size"), d.max_chunk_tokens);
  fail_unless_equals_int(uns("overlap"), d.overlap_tokens);
  fail_unless_equals_int(uns("queue-depth"), d.queue_depth);
  fail_unless_equals_int(uns("n-threads"), d.threads);
  gint64 seed;
  g_object_get(e, "seed", &seed, NULL);
  fail_unless_equals_int64(seed, d.seed);
  gint stitch, overflow;
  g_object_get(e, "stitch-mode", &stitch, "overflow", &overflow, NULL);
  fail_unless_equals_int(stitch, GST_CHATTERBOX_TTS_STITCH_CONTEXT);
  fail_unless(d.stitch_mode == chatterbox::StitchMode::kContext);
  fail_unless_equals_int(overflow, GST_CHATTERBOX_TTS_OVERFLOW_SHIFT);
  gst_object_unref(e);
}
GST_END_TEST;

/* Set then get returns the value set, for every property (every value of enums), which
 * catches getters wired to the wrong field. */
GST_START_TEST(test_property_round_trip) {
  GstElement* e = make_tts();
  guint n;
  GParamSpec** specs = g_object_class_list_properties(G_OBJECT_GET_CLASS(e), &n);
  for (guint i = 0; i < n; ++i) {
    GParamSpec* p = specs[i];
    if (p->owner_type != GST_TYPE_CHATTERBOX_TTS) continue;
    if (!(p->flags & G_PARAM_WRITABLE)) continue; /* model-variant: read-only */
    std::vector<GValue> values;
    GValue v = G_VALUE_INIT;
    g_value_init(&v, p->value_type);
    if (G_IS_PARAM_SPEC_ENUM(p)) {
      GEnumClass* ec = G_ENUM_CLASS(g_type_class_ref(p->value_type));
      for (guint k = 0; k < ec->n_values; ++k) {
        g_value_set_enum(&v, ec->values[k].value);
        values.push_back(v);
        GValue c = G_VALUE_INIT;
        g_value_init(&c, p->value_type);
        g_value_copy(&v, &c);
        values.back() = c;
      }
      g_type_class_unref(ec);
    } else {
      if (G_IS_PARAM_SPEC_DOUBLE(p)) {
        GParamSpecDouble* d = G_PARAM_SPEC_DOUBLE(p);
        g_value_set_double(&v, d->minimum + (d->maximum - d->minimum) * 0.37);
      } else if (G_IS_PARAM_SPEC_UINT(p)) {
        GParamSpecUInt* u = G_PARAM_SPEC_UINT(p);
        g_value_set_uint(&v, u->default_value < u->maximum ? u->default_value + 1 : u->minimum);
      } else if (G_IS_PARAM_SPEC_INT64(p)) {
        g_value_set_int64(&v, 1234567);
      } else if (G_IS_PARAM_SPEC_BOOLEAN(p)) {
        g_value_set_boolean(&v, !G_PARAM_SPEC_BOOLEAN(p)->default_value);
      } else if (G_IS_PARAM_SPEC_STRING(p)) {
        g_value_set_string(&v, !strcmp(p->name, "device") ? "cuda:1" : "/some/value");
      } else {
        fail("untested property type for %s", p->name);
      }
      values.push_back(v);
      v = G_VALUE_INIT;
    }
    for (GValue& want : values) {
      g_object_set_property(G_OBJECT(e), p->name, &want);
      GValue got = G_VALUE_INIT;
      g_value_init(&got, p->value_type);
      g_object_get_property(G_OBJECT(e), p->name, &got);
      fail_unless(g_param_values_cmp(p, &want, &got) == 0, "round trip of %s failed", p->name);
      g_value_unset(&got);
      g_value_unset(&want);
    }
    if (G_IS_VALUE(&v)) g_value_unset(&v);
  }
  g_free(specs);
  gst_object_unref(e);
}
GST_END_TEST;

/* ---------------------------------------------------------------------------------------------
 * Caps and timestamps
 */

/* Every output rate and format: the right amount of audio, converted (not just relabelled):
 * the 440 Hz tone keeps its frequency and level. */
GST_START_TEST(test_caps_negotiation) {
  const int rates[] = {8000, 16000, 24000, 44100, 48000};
  const char* formats[] = {"F32LE", "S16LE"};
  const std::string text = "Hello world.";
  const guint64 in_frames = FakeSynthesizer::tokens_for(text) * 960;
  for (const char* format : formats) {
    for (int rate : rates) {
      gchar* caps = g_strdup_printf(
          "audio/x-raw,format=%s,rate=%d,channels=1,"
          "layout=interleaved",
          format, rate);
      GstHarness* h = make_harness(make_tts(), caps);
      push_text(h, text);
      push_eos(h);
      std::vector<GstBuffer*> bufs = pull_until_eos(h);
      GstAudioInfo info = output_info(h);
      fail_unless_equals_int(GST_AUDIO_INFO_RATE(&info), rate);
      fail_unless_equals_string(GST_AUDIO_INFO_NAME(&info), format);
      fail_unless_equals_int(GST_AUDIO_INFO_CHANNELS(&info), 1);
      check_perfect_stream(bufs, rate, GST_AUDIO_INFO_BPF(&info));
      fail_unless_equals_uint64(total_frames(bufs, GST_AUDIO_INFO_BPF(&info)),
                                gst_util_uint64_scale_int_round(in_frames, rate, 24000));
      std::vector<float> s = samples_of(bufs, info);
      int crossings = 0;
      float peak = 0;
      for (size_t i = 1; i < s.size(); ++i) {
        crossings += (s[i - 1] < 0) != (s[i] < 0);
        peak = std::max(peak, std::fabs(s[i]));
      }
      double seconds = double(s.size()) / rate;
      fail_unless(std::fabs(crossings - 2 * 440 * seconds) < 6, "%s %d: %d crossings", format, rate,
                  crossings);
      fail_unless(peak > 0.45f && peak < 0.55f, "%s %d: peak %f", format, rate, peak);
      unref_all(bufs);
      gst_harness_teardown(h);
      g_free(caps);
    }
  }
}
GST_END_TEST;

/* Downstream asking for several channels gets them, the mono speech copied unchanged into each:
 * 2 channels as front left/right, 10 (more than positions exist for) unpositioned. */
GST_START_TEST(test_multichannel_output) {
  struct Case {
    int channels;
    guint64 mask;
  };
  for (Case c : {Case{2, 0x3}, Case{10, 0}}) {
    gchar* caps = g_strdup_printf(
        "audio/x-raw,format=F32LE,rate=24000,channels=%d,layout=interleaved", c.channels);
    GstHarness* h = make_harness(make_tts(), caps);
    g_free(caps);
    push_text(h, "Hi.");
    push_eos(h);
    std::vector<GstBuffer*> bufs = pull_until_eos(h);
    GstAudioInfo info = output_info(h);
    fail_unless_equals_int(GST_AUDIO_INFO_CHANNELS(&info), c.channels);
    fail_unless_equals_int(GST_AUDIO_INFO_IS_UNPOSITIONED(&info), c.mask == 0);
    if (c.mask != 0) {
      guint64 mask = 0;
      fail_unless(gst_audio_channel_positions_to_mask(info.position, c.channels, FALSE, &mask));
      fail_unless_equals_uint64(mask, c.mask);
    }
    fail_unless_equals_uint64(total_frames(bufs, GST_AUDIO_INFO_BPF(&info)), 3 * 960);
    check_perfect_stream(bufs, 24000, GST_AUDIO_INFO_BPF(&info));
    /* Interleaved: frame i holds the fake's sample i in every channel. */
    std::vector<float> s;
    for (GstBuffer* b : bufs) {
      GstMapInfo map;
      fail_unless(gst_buffer_map(b, &map, GST_MAP_READ));
      const float* f = reinterpret_cast<const float*>(map.data);
      s.insert(s.end(), f, f + map.size / sizeof(float));
      gst_buffer_unmap(b, &map);
    }
    for (size_t i = 0; i < s.size(); ++i) {
      const size_t frame = i / c.channels;
      const float expected = FakeSynthesizer::kAmplitude *
                             std::sin(2.0 * M_PI * FakeSynthesizer::kFrequency * frame / 24000);
      fail_unless(std::fabs(s[i] - expected) < 1e-6f, "channel %zu frame %zu: %f, not %f",
                  i % c.channels, frame, s[i], expected);
    }
    unref_all(bufs);
    gst_harness_teardown(h);
  }
}
GST_END_TEST;

/* Untimed text: utterances back to back from the segment start, with contiguous timestamps
 * and offsets across chunks and utterances, DISCONT only at the start. */
GST_START_TEST(test_untimed_contiguous) {
  GstElement* e = make_tts();
  g_object_set(e, "first-chunk-size", 3, "chunk-size", 5, NULL);
  GstHarness* h = make_harness(e);
  /* Two sentences, the second cut mid-word across buffers. */
  push_text(h, "Hello there. How a");
  push_text(h, "re you?");
  push_eos(h);
  std::vector<GstBuffer*> bufs = pull_until_eos(h);
  check_perfect_stream(bufs, 24000, 4);
  fail_unless_equals_uint64(GST_BUFFER_PTS(bufs[0]), 0);
  fail_unless_equals_uint64(GST_BUFFER_OFFSET(bufs[0]), 0);
  /* "Hello there." = 12 tokens in chunks 3+5+4, "How are you?" = 12 tokens, 3+5+4. */
  fail_unless_equals_int(bufs.size(), 6);
  fail_unless_equals_uint64(GST_BUFFER_DURATION(bufs[0]), 3 * kToken);
  fail_unless_equals_uint64(total_frames(bufs, 4), 24 * 960);
  std::vector<chatterbox::testing::FakeCall> calls = FakeSynthesizer::calls();
  fail_unless_equals_int(calls.size(), 2);
  fail_unless_equals_string(calls[0].text.c_str(), "Hello there.");
  fail_unless_equals_string(calls[1].text.c_str(), "How are you?");
  fail_unless_equals_int(calls[0].params.first_chunk_tokens, 3);
  fail_unless_equals_int(calls[0].params.chunk_tokens, 5);
  unref_all(bufs);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* Timed text: audio starts at the text PTS, a GAP covers the silence before it, and untagged
 * metas of the text buffer are copied onto the audio. */
GST_START_TEST(test_timed_input) {
  GstHarness* h = make_harness(make_tts());
  GstBuffer* text = text_buffer("Hello.", GST_SECOND, 5 * GST_SECOND);
  GstCaps* ref = gst_caps_new_empty_simple("timestamp/x-test");
  gst_buffer_add_reference_timestamp_meta(text, ref, 42 * GST_SECOND, GST_CLOCK_TIME_NONE);
  gst_caps_unref(ref);
  fail_unless_equals_int(gst_harness_push(h, text), GST_FLOW_OK);
  push_eos(h);
  std::vector<GstBuffer*> bufs = pull_until_eos(h);
  fail_unless_equals_uint64(GST_BUFFER_PTS(bufs[0]), GST_SECOND);
  for (GstBuffer* b : bufs) {
    GstReferenceTimestampMeta* m = gst_buffer_get_reference_timestamp_meta(b, NULL);
    fail_unless(m != NULL);
    fail_unless_equals_uint64(m->timestamp, 42 * GST_SECOND);
  }
  check_perfect_stream(bufs, 24000, 4);
  fail_unless_equals_uint64(total_frames(bufs, 4), 6 * 960);
  bool saw_gap = false;
  while (GstEvent* ev = gst_harness_try_pull_event(h)) {
    if (GST_EVENT_TYPE(ev) == GST_EVENT_GAP) {
      GstClockTime ts, dur;
      gst_event_parse_gap(ev, &ts, &dur);
      fail_unless_equals_uint64(ts, 0);
      fail_unless_equals_uint64(dur, GST_SECOND);
      saw_gap = true;
    }
    gst_event_unref(ev);
  }
  fail_unless(saw_gap);
  unref_all(bufs);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* A BYTES segment (filesrc) gives a TIME segment starting at 0 and untimed output. */
GST_START_TEST(test_bytes_segment) {
  GstHarness* h = make_harness(make_tts());
  GstSegment seg;
  gst_segment_init(&seg, GST_FORMAT_BYTES);
  fail_unless(gst_harness_push_event(h, gst_event_new_segment(&seg)));
  /* filesrc buffers carry offsets but no timestamps. */
  push_text(h, "From a file.\n");
  push_eos(h);
  std::vector<GstBuffer*> bufs = pull_until_eos(h);
  fail_unless_equals_uint64(GST_BUFFER_PTS(bufs[0]), 0);
  const GstSegment* last = NULL;
  GstEvent* seg_ev = NULL;
  while (GstEvent* ev = gst_harness_try_pull_event(h)) {
    if (GST_EVENT_TYPE(ev) == GST_EVENT_SEGMENT) {
      if (seg_ev) gst_event_unref(seg_ev);
      seg_ev = ev;
    } else {
      gst_event_unref(ev);
    }
  }
  fail_unless(seg_ev != NULL);
  gst_event_parse_segment(seg_ev, &last);
  fail_unless_equals_int(last->format, GST_FORMAT_TIME);
  fail_unless_equals_uint64(last->start, 0);
  gst_event_unref(seg_ev);
  unref_all(bufs);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* The three overflow modes, as awspolly: two timed texts whose audio (480 ms and 280 ms) is
 * longer than their 100 ms cues at 0 and 200 ms. */
GST_START_TEST(test_overflow_modes) {
  struct Case {
    GstChatterboxTtsOverflow mode;
    GstClockTime second_pts;     /* first PTS of the second utterance */
    GstClockTime first_duration; /* audio of the first utterance */
    GstClockTime second_duration;
    bool second_discont;
  };
  const Case cases[] = {
      {GST_CHATTERBOX_TTS_OVERFLOW_SHIFT, 480 * GST_MSECOND, 480 * GST_MSECOND, 280 * GST_MSECOND,
       false},
      {GST_CHATTERBOX_TTS_OVERFLOW_OVERLAP, 200 * GST_MSECOND, 480 * GST_MSECOND, 280 * GST_MSECOND,
       true},
      {GST_CHATTERBOX_TTS_OVERFLOW_CLIP, 200 * GST_MSECOND, 100 * GST_MSECOND, 100 * GST_MSECOND,
       false},
  };
  for (const Case& c : cases) {
    GstElement* e = make_tts();
    g_object_set(e, "overflow", c.mode, NULL);
    GstHarness* h = make_harness(e);
    push_text(h, "Hello world.", 0, 100 * GST_MSECOND);
    push_text(h, "Second.", 200 * GST_MSECOND, 100 * GST_MSECOND);
    push_eos(h);
    std::vector<GstBuffer*> bufs = pull_until_eos(h);
    std::vector<GstStructure*> msgs = stats_messages();
    fail_unless_equals_int(msgs.size(), 2);
    fail_unless_equals_uint64(get_u64(msgs[0], "pts"), 0);
    fail_unless_equals_uint64(get_u64(msgs[0], "actual-duration"), c.first_duration);
    fail_unless_equals_uint64(get_u64(msgs[1], "pts"), c.second_pts);
    fail_unless_equals_uint64(get_u64(msgs[1], "actual-duration"), c.second_duration);
    /* Find the second utterance's first buffer by its PTS. */
    GstClockTime end = 0;
    size_t first_of_second = 0;
    for (size_t i = 0; i < bufs.size(); ++i) {
      if (GST_BUFFER_PTS(bufs[i]) + GST_BUFFER_DURATION(bufs[i]) > end)
        end = GST_BUFFER_PTS(bufs[i]) + GST_BUFFER_DURATION(bufs[i]);
      if (GST_BUFFER_PTS(bufs[i]) == c.second_pts && first_of_second == 0) first_of_second = i;
    }
    fail_unless(first_of_second > 0);
    fail_unless_equals_int(GST_BUFFER_FLAG_IS_SET(bufs[first_of_second], GST_BUFFER_FLAG_DISCONT),
                           c.second_discont);
    fail_unless_equals_uint64(end, std::max(c.second_pts + c.second_duration, c.first_duration));
    free_structures(msgs);
    unref_all(bufs);
    gst_harness_teardown(h);
  }
}
GST_END_TEST;

/* Source mode: with the sink pad unlinked the text property is spoken, then EOS. */
GST_START_TEST(test_source_mode) {
  GstElement* e = make_tts();
  g_object_set(e, "text", "Hello source mode. Second sentence.", NULL);
  GstHarness* h = gst_harness_new_with_element(e, NULL, "src");
  gst_object_unref(e);
  gst_harness_set_sink_caps_str(h, kF32);
  gst_harness_play(h);
  std::vector<GstBuffer*> bufs = pull_until_eos(h);
  check_perfect_stream(bufs, 24000, 4);
  fail_unless_equals_uint64(total_frames(bufs, 4),
                            guint64(FakeSynthesizer::tokens_for("Hello source mode.") +
                                    FakeSynthesizer::tokens_for("Second sentence.")) *
                                960);
  fail_unless_equals_int(FakeSynthesizer::calls().size(), 2);
  unref_all(bufs);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* ---------------------------------------------------------------------------------------------
 * Text handling
 */

GST_START_TEST(test_utf8_split_across_buffers) {
  GstHarness* h = make_harness(make_tts());
  const std::string text = "h\xc3\xa9llo w\xc3\xb6rld. \xe6\x97\xa5\xe6\x9c\xac.";
  /* Cut inside é, inside ö and inside 日. */
  push_text(h, text.substr(0, 2));
  push_text(h, text.substr(2, 7));
  push_text(h, text.substr(9, 7));
  push_text(h, text.substr(16));
  push_eos(h);
  std::vector<GstBuffer*> bufs = pull_until_eos(h);
  std::vector<chatterbox::testing::FakeCall> calls = FakeSynthesizer::calls();
  fail_unless_equals_int(calls.size(), 2);
  fail_unless_equals_string(calls[0].text.c_str(), "h\xc3\xa9llo w\xc3\xb6rld.");
  fail_unless_equals_string(calls[1].text.c_str(), "\xe6\x97\xa5\xe6\x9c\xac.");
  fail_unless(pop_problem(GST_MESSAGE_WARNING) == NULL);
  unref_all(bufs);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* Where untimed text is complete enough to speak: the engine's sentence rules (docs/element.md
 * "Sentences"), with the end of the text so far counting as the end of the text. */
GST_START_TEST(test_sentence_boundaries) {
  struct Case {
    const char* text;
    size_t end;
  };
  const Case cases[] = {
      {"Hello.", 6},
      {"Hello. Wor", 6},
      {"no end yet", 0},
      {"Say \"hi.\" Then", 9},
      {"Pi is 3.14 and", 0},
      {"Really?! Yes", 8},
      {"line one\nline", 0},     /* a single newline inside the text joins wrapped lines */
      {"line one\n", 9},         /* ... but a line pushed alone is complete */
      {"para one\n\npara", 10},  /* a blank line ends a paragraph */
      {"Hello Dr. Sm", 0},       /* no sentence ends after an abbreviation when text follows */
      {"I saw the Dr.", 13},     /* ... at the end of the text so far it does */
      {"Plan B. Then", 0},       /* an initial */
      {"It was 3.50. Then", 12}, /* a number is no abbreviation */
      {"\xe6\x97\xa5\xe3\x80\x82\xe6\x9c\xac", 6}, /* 日。本: CJK stop needs no space */
      /* （好。）然: a CJK stop inside full-width brackets, U+FF09 closes */
      {"\xef\xbc\x88\xe5\xa5\xbd\xe3\x80\x82\xef\xbc\x89\xe7\x84\xb6", 12},
      {"Wait\xe2\x80\xa6", 7}, /* ellipsis */
  };
  for (const Case& c : cases)
    fail_unless_equals_int(chatterbox::complete_sentences_end(c.text, 2000), c.end);
  /* Bounded: a long run without a sentence end is cut at its last space. */
  std::string long_text(3000, 'a');
  long_text[1500] = ' ';
  fail_unless_equals_int(chatterbox::complete_sentences_end(long_text, 2000), 1501);
}
GST_END_TEST;

/* Invalid UTF-8: a warning, the bad bytes skipped, the rest (and later text) still spoken. */
GST_START_TEST(test_invalid_utf8) {
  GstHarness* h = make_harness(make_tts());
  push_text(h, "Bad \xff\xfe text.\n");
  push_text(h, "Later text.\n");
  push_eos(h);
  std::vector<GstBuffer*> bufs = pull_until_eos(h);
  expect_error(pop_problem(GST_MESSAGE_WARNING), GST_STREAM_ERROR, GST_STREAM_ERROR_DECODE,
               "UTF-8");
  fail_unless(pop_problem(GST_MESSAGE_ERROR) == NULL);
  std::vector<chatterbox::testing::FakeCall> calls = FakeSynthesizer::calls();
  fail_unless_equals_int(calls.size(), 2);
  fail_unless_equals_string(calls[0].text.c_str(), "Bad  text.");
  fail_unless_equals_string(calls[1].text.c_str(), "Later text.");
  fail_unless_equals_uint64(total_frames(bufs, 4), (10 + 11) * 960);
  unref_all(bufs);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* Empty or blank text: no audio, no error, and EOS still arrives. */
GST_START_TEST(test_empty_text) {
  GstHarness* h = make_harness(make_tts());
  push_text(h, "");
  push_text(h, "   ");
  push_text(h, "\n", GST_SECOND, GST_SECOND);
  push_eos(h);
  std::vector<GstBuffer*> bufs = pull_until_eos(h);
  fail_unless(bufs.empty());
  fail_unless(FakeSynthesizer::calls().empty());
  fail_unless(pop_problem((GstMessageType)(GST_MESSAGE_ERROR | GST_MESSAGE_WARNING)) == NULL);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* Pushes `buffers` as pango markup, then EOS: they must be spoken as one utterance, `expected`. */
static void expect_markup_spoken_as(std::initializer_list<const char*> buffers,
                                    const char* expected) {
  GstHarness* h = make_harness(make_tts(), kF32, "text/x-raw,format=pango-markup");
  for (const char* text : buffers) push_text(h, text);
  push_eos(h);
  std::vector<GstBuffer*> bufs = pull_until_eos(h);
  std::vector<chatterbox::testing::FakeCall> calls = FakeSynthesizer::calls();
  fail_unless_equals_int(calls.size(), 1);
  fail_unless_equals_string(calls[0].text.c_str(), expected);
  unref_all(bufs);
  gst_harness_teardown(h);
}

/* pango-markup input: tags removed and entities resolved, even when cut across buffers. */
GST_START_TEST(test_pango_markup) {
  expect_markup_spoken_as(
      {"<b>Hel", "lo</b> &am", "p; <span foreground=\"red\">world</span> &lt;3."},
      "Hello & world <3.");
}
GST_END_TEST;

/* A tag whose text holds '<' and '&', and an entity, each cut by a buffer boundary: the text is
 * the same as if the markup had come in one buffer (the earliest open '<' waits, not the last). */
GST_START_TEST(test_pango_markup_cut_inside_tag) {
  expect_markup_spoken_as({"<span title=\"a &b <c\" x", "='1'>Hi</span> x &#x4", "1; done."},
                          "Hi x A done.");
}
GST_END_TEST;

/* A buffer list is one utterance spanning the first PTS to the last end. */
GST_START_TEST(test_buffer_list) {
  GstHarness* h = make_harness(make_tts());
  GstBufferList* list = gst_buffer_list_new();
  const char* words[] = {"one", "two", "three"};
  for (int i = 0; i < 3; ++i)
    gst_buffer_list_add(list,
                        text_buffer(words[i], GST_SECOND + i * GST_SECOND / 2, GST_SECOND / 2));
  fail_unless_equals_int(gst_pad_push_list(h->srcpad, list), GST_FLOW_OK);
  push_eos(h);
  std::vector<GstBuffer*> bufs = pull_until_eos(h);
  std::vector<chatterbox::testing::FakeCall> calls = FakeSynthesizer::calls();
  fail_unless_equals_int(calls.size(), 1);
  fail_unless_equals_string(calls[0].text.c_str(), "one two three");
  fail_unless_equals_uint64(GST_BUFFER_PTS(bufs[0]), GST_SECOND);
  std::vector<GstStructure*> msgs = stats_messages();
  fail_unless_equals_int(msgs.size(), 1);
  fail_unless_equals_uint64(get_u64(msgs[0], "input-duration"), 3 * GST_SECOND / 2);
  free_structures(msgs);
  unref_all(bufs);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* EOS speaks an unfinished sentence before it is forwarded. */
GST_START_TEST(test_eos_drains) {
  GstHarness* h = make_harness(make_tts());
  push_text(h, "no sentence end here");
  /* Nothing yet: the sentence may continue. */
  g_usleep(100 * 1000);
  fail_unless(FakeSynthesizer::calls().empty());
  push_eos(h);
  std::vector<GstBuffer*> bufs = pull_until_eos(h);
  fail_unless_equals_uint64(total_frames(bufs, 4), 20 * 960);
  std::vector<chatterbox::testing::FakeCall> calls = FakeSynthesizer::calls();
  fail_unless_equals_int(calls.size(), 1);
  fail_unless_equals_string(calls[0].text.c_str(), "no sentence end here");
  unref_all(bufs);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* No CAPS event from upstream (fdsrc without capsfilter): text is assumed to be utf8. */
GST_START_TEST(test_no_input_caps) {
  GstHarness* h = make_harness(make_tts(), kF32, NULL);
  GstSegment seg;
  gst_segment_init(&seg, GST_FORMAT_TIME);
  fail_unless(gst_harness_push_event(h, gst_event_new_segment(&seg)));
  push_text(h, "No caps.");
  push_eos(h);
  std::vector<GstBuffer*> bufs = pull_until_eos(h);
  fail_unless_equals_uint64(total_frames(bufs, 4), 8 * 960);
  unref_all(bufs);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* ---------------------------------------------------------------------------------------------
 * Events, queries, messages
 */

/* Upstream GAPs come out clipped to the audio already pushed. */
GST_START_TEST(test_gap) {
  GstHarness* h = make_harness(make_tts());
  push_text(h, "Hi."); /* 3 tokens: 0..120 ms, spoken when the GAP drains it */
  fail_unless(gst_harness_push_event(h, gst_event_new_gap(0, 50 * GST_MSECOND)));
  fail_unless(gst_harness_push_event(h, gst_event_new_gap(100 * GST_MSECOND, 100 * GST_MSECOND)));
  fail_unless(gst_harness_push_event(h, gst_event_new_gap(500 * GST_MSECOND, 100 * GST_MSECOND)));
  push_eos(h);
  std::vector<GstBuffer*> bufs = pull_until_eos(h);
  fail_unless_equals_uint64(total_frames(bufs, 4), 3 * 960);
  std::vector<std::pair<GstClockTime, GstClockTime>> gaps;
  while (GstEvent* ev = gst_harness_try_pull_event(h)) {
    if (GST_EVENT_TYPE(ev) == GST_EVENT_GAP) {
      GstClockTime ts, dur;
      gst_event_parse_gap(ev, &ts, &dur);
      gaps.push_back({ts, dur});
    }
    gst_event_unref(ev);
  }
  fail_unless_equals_int(gaps.size(), 2);
  fail_unless_equals_uint64(gaps[0].first, 120 * GST_MSECOND);
  fail_unless_equals_uint64(gaps[0].second, 80 * GST_MSECOND);
  fail_unless_equals_uint64(gaps[1].first, 500 * GST_MSECOND);
  fail_unless_equals_uint64(gaps[1].second, 100 * GST_MSECOND);
  unref_all(bufs);
  gst_harness_teardown(h);
}
GST_END_TEST;

struct FlushPusher {
  GstHarness* h;
  std::vector<GstFlowReturn> results;
};

static gpointer push_blocking(gpointer data) {
  FlushPusher* p = static_cast<FlushPusher*>(data);
  for (const char* t : {"[slow] Queued one.", "[slow] Queued two.", "[slow] Queued three."})
    p->results.push_back(gst_harness_push(p->h, text_buffer(t)));
  return NULL;
}

static gpointer push_flush_start(gpointer data) {
  GstHarness* h = static_cast<GstHarness*>(data);
  gst_harness_push_event(h, gst_event_new_flush_start());
  return NULL;
}

/* Barge-in: a flush from another thread stops a slow utterance at once, unblocks a chain
 * function waiting on a full text queue, drops queued text, and the next text plays from the
 * new segment with DISCONT. */
GST_START_TEST(test_flush_mid_utterance) {
  GstElement* e = make_tts();
  g_object_set(e, "first-chunk-size", 1, "chunk-size", 1, "max-queued-text", 1, NULL);
  GstHarness* h = make_harness(e);
  push_text(h, "[slow] A long sentence that takes many seconds to say.");
  GstBuffer* first = gst_harness_pull(h);
  gst_buffer_unref(first);

  FlushPusher pusher{h, {}};
  GThread* push_thread = g_thread_new("pusher", push_blocking, &pusher);
  g_usleep(200 * 1000); /* let it fill the queue and block */

  gint64 t0 = g_get_monotonic_time();
  GThread* flush_thread = g_thread_new("flusher", push_flush_start, h);
  g_thread_join(flush_thread);
  gint64 flush_us = g_get_monotonic_time() - t0;
  g_thread_join(push_thread);
  gint64 unblock_us = g_get_monotonic_time() - t0;
  GST_INFO("flush-start took %" G_GINT64_FORMAT " us", flush_us);
  /* The slow fake takes 1 s per chunk; cancel() must cut that short (the bound leaves room
   * for a loaded machine). */
  fail_unless(flush_us < 500 * 1000, "flush took %" G_GINT64_FORMAT " us", flush_us);
  fail_unless(unblock_us < 600 * 1000);
  fail_unless(!pusher.results.empty());
  fail_unless_equals_int(pusher.results.back(), GST_FLOW_FLUSHING);

  fail_unless(gst_harness_push_event(h, gst_event_new_flush_stop(TRUE)));
  GstSegment seg;
  gst_segment_init(&seg, GST_FORMAT_TIME);
  fail_unless(gst_harness_push_event(h, gst_event_new_segment(&seg)));
  while (GstBuffer* old = gst_harness_try_pull(h)) gst_buffer_unref(old);

  push_text(h, "After flush.");
  push_eos(h);
  std::vector<GstBuffer*> bufs = pull_until_eos(h);
  fail_unless(GST_BUFFER_FLAG_IS_SET(bufs[0], GST_BUFFER_FLAG_DISCONT));
  fail_unless_equals_uint64(GST_BUFFER_PTS(bufs[0]), 0);
  fail_unless_equals_uint64(GST_BUFFER_OFFSET(bufs[0]), 0);
  fail_unless_equals_uint64(total_frames(bufs, 4), 12 * 960);
  std::vector<chatterbox::testing::FakeCall> calls = FakeSynthesizer::calls();
  fail_unless_equals_string(calls.back().text.c_str(), "After flush.");
  for (const auto& c : calls)
    fail_if(c.text.find("Queued") != std::string::npos, "queued text was not dropped");
  unref_all(bufs);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* LATENCY in PAUSED before any data: live upstream gets our latency added, non-live
 * upstream is passed through. */
GST_START_TEST(test_latency_query) {
  GstElement* e = make_tts();
  g_object_set(e, "latency", 500, NULL);
  GstHarness* h = gst_harness_new_with_element(e, "sink", "src");
  gst_object_unref(e);
  fail_unless_equals_int(gst_element_set_state(h->element, GST_STATE_PAUSED),
                         GST_STATE_CHANGE_SUCCESS);
  gst_harness_set_upstream_latency(h, 100 * GST_MSECOND);
  gst_harness_set_live(h, TRUE);
  GstQuery* q = gst_query_new_latency();
  fail_unless(gst_pad_peer_query(h->sinkpad, q));
  gboolean live;
  GstClockTime min, max;
  gst_query_parse_latency(q, &live, &min, &max);
  fail_unless(live);
  fail_unless_equals_uint64(min, 600 * GST_MSECOND);
  gst_query_unref(q);

  gst_harness_set_live(h, FALSE);
  q = gst_query_new_latency();
  fail_unless(gst_pad_peer_query(h->sinkpad, q));
  gst_query_parse_latency(q, &live, &min, &max);
  fail_if(live);
  fail_unless_equals_uint64(min, 100 * GST_MSECOND);
  gst_query_unref(q);

  /* Same answers in PLAYING. */
  fail_unless_equals_int(gst_element_set_state(h->element, GST_STATE_PLAYING),
                         GST_STATE_CHANGE_SUCCESS);
  gst_harness_set_live(h, TRUE);
  fail_unless_equals_uint64(gst_harness_query_latency(h), 600 * GST_MSECOND);

  /* Changing the latency tells the pipeline to recompute it. */
  g_object_set(h->element, "latency", 800, NULL);
  GstMessage* msg = gst_bus_pop_filtered(bus, GST_MESSAGE_LATENCY);
  fail_unless(msg != NULL);
  gst_message_unref(msg);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* Live upstream: audio already past its deadline (running time + upstream latency + our
 * latency) loses its late head, with DISCONT and a QoS message. */
GST_START_TEST(test_live_deadline) {
  GstHarness* h = make_live_harness(100);
  fail_unless(gst_harness_set_time(h, 2 * GST_SECOND));
  /* "Hello world." is 480 ms from 1.8 s; its deadline passed 100 ms ago. */
  push_text(h, "Hello world.", 1800 * GST_MSECOND, GST_SECOND);
  push_eos(h);
  std::vector<GstBuffer*> bufs = pull_until_eos(h);
  fail_unless_equals_uint64(GST_BUFFER_PTS(bufs[0]), 1900 * GST_MSECOND);
  fail_unless(GST_BUFFER_FLAG_IS_SET(bufs[0], GST_BUFFER_FLAG_DISCONT));
  fail_unless_equals_uint64(total_frames(bufs, 4), 12 * 960 - 2400);
  GstMessage* qos = gst_bus_pop_filtered(bus, GST_MESSAGE_QOS);
  fail_unless(qos != NULL);
  gboolean live;
  guint64 rt, st, ts, dur;
  gst_message_parse_qos(qos, &live, &rt, &st, &ts, &dur);
  fail_unless(live);
  fail_unless_equals_uint64(ts, 1800 * GST_MSECOND);
  fail_unless_equals_uint64(dur, 100 * GST_MSECOND);
  gst_message_unref(qos);
  unref_all(bufs);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* Untimed text from a live source (an app pushing sentences into a live appsrc) is spoken from
 * the running time it arrived at, not from position 0 long past: with the answered latency,
 * every buffer leaves before a synchronised sink needs it, while each chunk takes simulated
 * compute time (300 ms to the first audio, then half real time), and nothing is dropped. */
GST_START_TEST(test_untimed_live_text) {
  GstHarness* h = make_live_harness(0);
  fail_unless_equals_int(FakeSynthesizer::warm_ups(), 1); /* warmed up in READY->PAUSED */
  const GstClockTime latency = gst_harness_query_latency(h);
  fail_unless_equals_uint64(latency, GST_SECOND); /* the latency property's default */
  PushLog log;
  log_pushes(h, &log);
  simulate_compute(h, 300 * GST_MSECOND, kToken / 2);

  /* The pipeline has been running for 5 s when the text comes. */
  fail_unless(gst_harness_set_time(h, 5 * GST_SECOND));
  push_text(h, "Hello there. How are you?");
  std::vector<GstBuffer*> bufs;
  while (total_frames(bufs, 4) < 24 * 960) bufs.push_back(gst_harness_pull(h));
  fail_unless_equals_uint64(GST_BUFFER_PTS(bufs[0]), 5 * GST_SECOND);
  /* Later text, after the first has been spoken, starts at its own arrival. */
  fail_unless(gst_harness_set_time(h, 20 * GST_SECOND));
  push_text(h, "Again.");
  push_eos(h);
  std::vector<GstBuffer*> rest = pull_until_eos(h);
  bufs.insert(bufs.end(), rest.begin(), rest.end());

  fail_unless_equals_uint64(GST_BUFFER_PTS(bufs.back()) + GST_BUFFER_DURATION(bufs.back()),
                            20 * GST_SECOND + 6 * kToken);
  fail_unless_equals_int(log.pts_and_time.size(), bufs.size());
  for (const auto& [pts, now] : log.pts_and_time)
    fail_unless(now <= pts + latency, "buffer at %" GST_TIME_FORMAT " left at %" GST_TIME_FORMAT,
                GST_TIME_ARGS(pts), GST_TIME_ARGS(now));
  std::vector<GstMessage*> msgs = take_bus_messages();
  std::vector<const GstStructure*> stats = stats_in(msgs);
  fail_unless_equals_int(stats.size(), 3);
  /* The second sentence follows the first (its arrival is earlier than the first's end). */
  fail_unless_equals_uint64(get_u64(stats[1], "pts"), 5 * GST_SECOND + 12 * kToken);
  fail_unless_equals_uint64(get_u64(stats[2], "pts"), 20 * GST_SECOND);
  for (const GstStructure* st : stats) {
    fail_unless_equals_uint64(get_u64(st, "dropped-samples"), 0);
    fail_unless_equals_uint64(get_u64(st, "pushed-samples"), get_u64(st, "produced-samples"));
  }
  fail_unless(messages_of_type(msgs, GST_MESSAGE_QOS).empty());
  fail_unless(messages_of_type(msgs, GST_MESSAGE_WARNING).empty());
  fail_unless(messages_of_type(msgs, GST_MESSAGE_LATENCY).empty()); /* the latency held */
  unref_messages(msgs);
  unref_all(bufs);
  FakeSynthesizer::set_chunk_hook(nullptr);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* Non-live upstream: untimed text follows the previous audio from the segment start, whatever
 * the clock says, and no LATENCY message is ever posted (property change included). */
GST_START_TEST(test_untimed_non_live) {
  GstHarness* h = make_harness(make_tts());
  fail_unless(gst_harness_set_time(h, 5 * GST_SECOND));
  push_text(h, "Hello there.");
  g_object_set(h->element, "latency", 300, NULL);
  push_eos(h);
  std::vector<GstBuffer*> bufs = pull_until_eos(h);
  fail_unless_equals_uint64(GST_BUFFER_PTS(bufs[0]), 0);
  check_perfect_stream(bufs, 24000, 4);
  std::vector<GstMessage*> msgs = take_bus_messages();
  fail_unless(messages_of_type(msgs, GST_MESSAGE_LATENCY).empty());
  unref_messages(msgs);
  unref_all(bufs);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* The live deadline is the answered latency, to the sample: text whose audio is due exactly
 * now loses nothing; 40 ms earlier, it loses exactly its first 40 ms. */
GST_START_TEST(test_deadline_is_answered_latency) {
  GstHarness* h = make_live_harness(300, 100 * GST_MSECOND);
  g_object_set(h->element, "overflow", GST_CHATTERBOX_TTS_OVERFLOW_OVERLAP, NULL);
  const GstClockTime latency = gst_harness_query_latency(h);
  fail_unless_equals_uint64(latency, 400 * GST_MSECOND);
  const GstClockTime now = 10 * GST_SECOND;
  fail_unless(gst_harness_set_time(h, now));
  push_text(h, "Hi.", now - latency, GST_SECOND);
  push_text(h, "Yes.", now - latency - kToken, GST_SECOND);
  push_eos(h);
  std::vector<GstBuffer*> bufs = pull_until_eos(h);
  fail_unless_equals_uint64(GST_BUFFER_PTS(bufs[0]), now - latency);
  std::vector<GstMessage*> msgs = take_bus_messages();
  std::vector<const GstStructure*> stats = stats_in(msgs);
  fail_unless_equals_int(stats.size(), 2);
  fail_unless_equals_uint64(get_u64(stats[0], "dropped-samples"), 0);
  fail_unless_equals_uint64(get_u64(stats[0], "pushed-samples"), 3 * 960);
  fail_unless_equals_uint64(get_u64(stats[1], "dropped-samples"), 960);
  fail_unless_equals_uint64(get_u64(stats[1], "pushed-samples"), 3 * 960);
  fail_unless_equals_uint64(GST_BUFFER_PTS(bufs.back()), now - latency);
  unref_messages(msgs);
  unref_all(bufs);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* A latency the machine cannot meet (simulated 250 ms to the first audio against 100 ms) is
 * raised once, to the measured need plus a quarter rounded up to 100 ms, with a warning naming
 * that value and one LATENCY message; the query answers it and the deadline uses it, so nothing
 * is dropped. Setting the property again replaces it. */
GST_START_TEST(test_latency_raised_by_measurement) {
  GstHarness* h = make_live_harness(100);
  fail_unless_equals_uint64(gst_harness_query_latency(h), 100 * GST_MSECOND);
  simulate_compute(h, 250 * GST_MSECOND, 0);
  fail_unless(gst_harness_set_time(h, 5 * GST_SECOND));
  push_text(h, "Hello.");
  push_text(h, "World.");
  push_eos(h);
  std::vector<GstBuffer*> bufs = pull_until_eos(h);
  fail_unless_equals_uint64(total_frames(bufs, 4), 12 * 960);
  std::vector<GstMessage*> msgs = take_bus_messages();
  fail_unless_equals_int(count_warnings(msgs, GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS), 1);
  GError* err = NULL;
  gst_message_parse_warning(messages_of_type(msgs, GST_MESSAGE_WARNING)[0], &err, NULL);
  fail_unless(strstr(err->message, "at least 400 ms") != NULL, "%s", err->message);
  g_error_free(err);
  fail_unless_equals_int(messages_of_type(msgs, GST_MESSAGE_LATENCY).size(), 1);
  for (const GstStructure* st : stats_in(msgs))
    fail_unless_equals_uint64(get_u64(st, "dropped-samples"), 0);
  unref_messages(msgs);
  fail_unless_equals_uint64(gst_harness_query_latency(h), 400 * GST_MSECOND);

  g_object_set(h->element, "latency", 200, NULL);
  fail_unless_equals_uint64(gst_harness_query_latency(h), 200 * GST_MSECOND);
  msgs = take_bus_messages();
  fail_unless_equals_int(messages_of_type(msgs, GST_MESSAGE_LATENCY).size(), 1);
  unref_messages(msgs);
  unref_all(bufs);
  FakeSynthesizer::set_chunk_hook(nullptr);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* The per-utterance accounting: produced = pushed + dropped + clipped, also when overflow=clip
 * cuts the utterance short (which still gets a real-time factor). */
GST_START_TEST(test_accounting_clipped) {
  GstElement* e = make_tts();
  g_object_set(e, "overflow", GST_CHATTERBOX_TTS_OVERFLOW_CLIP, NULL);
  GstHarness* h = make_harness(e);
  push_text(h, "Hello world, long.", 0, 200 * GST_MSECOND);
  push_eos(h);
  std::vector<GstBuffer*> bufs = pull_until_eos(h);
  fail_unless_equals_uint64(total_frames(bufs, 4), 4800);
  std::vector<GstMessage*> msgs = take_bus_messages();
  std::vector<const GstStructure*> stats = stats_in(msgs);
  fail_unless_equals_int(stats.size(), 1);
  fail_unless_equals_uint64(get_u64(stats[0], "produced-samples"), 10 * 960); /* first chunk */
  fail_unless_equals_uint64(get_u64(stats[0], "pushed-samples"), 4800);
  fail_unless_equals_uint64(get_u64(stats[0], "samples"), 4800);
  fail_unless_equals_uint64(get_u64(stats[0], "dropped-samples"), 0);
  fail_unless_equals_uint64(get_u64(stats[0], "actual-duration"), 200 * GST_MSECOND);
  gdouble rtf = 0;
  fail_unless(gst_structure_get_double(stats[0], "rtf", &rtf));
  fail_unless(rtf > 0.0, "rtf %f", rtf);
  unref_messages(msgs);
  unref_all(bufs);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* Audio dropped as late is counted per utterance and reported with a CORE/CLOCK warning, at
 * most one per 10 s of running time however many utterances lose audio. */
GST_START_TEST(test_drop_warning_rate_limited) {
  GstHarness* h = make_live_harness(100);
  fail_unless(gst_harness_set_time(h, 2 * GST_SECOND));
  push_text(h, "Hi.", 1000 * GST_MSECOND, GST_SECOND); /* due by 1.1 s: all late */
  push_text(h, "Yo.", 1200 * GST_MSECOND, GST_SECOND);
  std::vector<GstMessage*> msgs;
  while (stats_in(msgs).size() < 2) {
    GstMessage* m = gst_bus_timed_pop(bus, 60 * GST_SECOND);
    fail_unless(m != NULL);
    msgs.push_back(m);
  }
  fail_unless(gst_harness_set_time(h, 12 * GST_SECOND));
  push_text(h, "No.", 11 * GST_SECOND, GST_SECOND);
  push_eos(h);
  std::vector<GstBuffer*> bufs = pull_until_eos(h);
  fail_unless(bufs.empty());
  std::vector<GstMessage*> more = take_bus_messages();
  msgs.insert(msgs.end(), more.begin(), more.end());
  std::vector<const GstStructure*> stats = stats_in(msgs);
  fail_unless_equals_int(stats.size(), 3);
  for (const GstStructure* st : stats) {
    fail_unless_equals_uint64(get_u64(st, "produced-samples"), 3 * 960);
    fail_unless_equals_uint64(get_u64(st, "dropped-samples"), 3 * 960);
    fail_unless_equals_uint64(get_u64(st, "pushed-samples"), 0);
  }
  fail_unless_equals_int(messages_of_type(msgs, GST_MESSAGE_QOS).size(), 3);
  fail_unless_equals_int(count_warnings(msgs, GST_CORE_ERROR, GST_CORE_ERROR_CLOCK), 2);
  unref_messages(msgs);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* Upstream tags that describe the text (its language, title, subtitle codec) stay off the audio
 * stream, others pass; the element's own stream tags name the model that speaks. A global tag
 * list left empty by the filter is not forwarded. */
GST_START_TEST(test_tag_filtering) {
  GstHarness* h = make_harness(make_tts());
  GstTagList* stream =
      gst_tag_list_new(GST_TAG_LANGUAGE_CODE, "fr", GST_TAG_TITLE, "Episode 1",
                       GST_TAG_SUBTITLE_CODEC, "SubRip", GST_TAG_ARTIST, "Narrator", NULL);
  gst_tag_list_set_scope(stream, GST_TAG_SCOPE_STREAM);
  fail_unless(gst_harness_push_event(h, gst_event_new_tag(stream)));
  GstTagList* global = gst_tag_list_new(GST_TAG_TITLE, "The film", NULL);
  gst_tag_list_set_scope(global, GST_TAG_SCOPE_GLOBAL);
  fail_unless(gst_harness_push_event(h, gst_event_new_tag(global)));
  push_text(h, "Hello.");
  push_eos(h);
  std::vector<GstBuffer*> bufs = pull_until_eos(h);
  fail_unless_equals_uint64(total_frames(bufs, 4), 6 * 960);

  GstTagList* last = NULL;
  while (GstEvent* ev = gst_harness_try_pull_event(h)) {
    if (GST_EVENT_TYPE(ev) == GST_EVENT_TAG) {
      GstTagList* tags;
      gst_event_parse_tag(ev, &tags);
      fail_unless_equals_int(gst_tag_list_get_scope(tags), GST_TAG_SCOPE_STREAM);
      for (const char* text_tag : {GST_TAG_LANGUAGE_CODE, GST_TAG_TITLE, GST_TAG_SUBTITLE_CODEC})
        fail_unless(gst_tag_list_get_tag_size(tags, text_tag) == 0, "%s reached the audio",
                    text_tag);
      if (last) gst_tag_list_unref(last);
      last = gst_tag_list_ref(tags);
    }
    gst_event_unref(ev);
  }
  fail_unless(last != NULL, "no stream tags");
  gchar* value = NULL;
  fail_unless(gst_tag_list_get_string(last, GST_TAG_ENCODER, &value));
  fail_unless_equals_string(value, "chatterboxtts (Chatterbox english)");
  g_free(value);
  fail_unless(gst_tag_list_get_string(last, GST_TAG_ARTIST, &value));
  fail_unless_equals_string(value, "Narrator");
  g_free(value);
  gst_tag_list_unref(last);
  unref_all(bufs);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* The per-utterance statistics message and its fields. */
GST_START_TEST(test_stats_message) {
  GstHarness* h = make_harness(make_tts());
  push_text(h, "Statistics please.", 2 * GST_SECOND, 3 * GST_SECOND);
  push_eos(h);
  std::vector<GstBuffer*> bufs = pull_until_eos(h);
  std::vector<GstStructure*> msgs = stats_messages();
  fail_unless_equals_int(msgs.size(), 1);
  const GstStructure* s = msgs[0];
  fail_unless_equals_string(gst_structure_get_string(s, "content"), "Statistics please.");
  fail_unless_equals_uint64(get_u64(s, "pts"), 2 * GST_SECOND);
  fail_unless_equals_uint64(get_u64(s, "input-duration"), 3 * GST_SECOND);
  fail_unless_equals_uint64(get_u64(s, "actual-duration"), 18 * kToken);
  fail_unless_equals_uint64(get_u64(s, "samples"), 18 * 960);
  gint tokens;
  fail_unless(gst_structure_get_int(s, "speech-tokens", &tokens));
  fail_unless_equals_int(tokens, 18);
  fail_unless(gst_structure_get_int(s, "text-tokens", &tokens));
  fail_unless_equals_int(tokens, 18);
  guint64 ttfa = get_u64(s, "first-chunk-latency");
  fail_unless(ttfa > 0 && ttfa < 5 * GST_SECOND);
  gdouble rtf;
  fail_unless(gst_structure_get_double(s, "rtf", &rtf));
  fail_unless(rtf >= 0.0);
  fail_unless_equals_string(gst_structure_get_string(s, "voice"), "");
  free_structures(msgs);
  unref_all(bufs);
  gst_harness_teardown(h);

  /* post-messages=false: silence on the bus. */
  GstElement* e = make_tts();
  g_object_set(e, "post-messages", FALSE, NULL);
  h = make_harness(e);
  push_text(h, "Quiet.");
  push_eos(h);
  bufs = pull_until_eos(h);
  msgs = stats_messages();
  fail_unless(msgs.empty());
  unref_all(bufs);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* A property change while playing applies from the next utterance. */
GST_START_TEST(test_params_change_while_playing) {
  GstHarness* h = make_harness(make_tts());
  push_text(h, "First one.");
  GstBuffer* b = gst_harness_pull(h); /* the first utterance has started */
  gst_buffer_unref(b);
  g_object_set(h->element, "exaggeration", 1.5, "seed", (gint64)7, "cfg-weight", 0.0, "stitch-mode",
               GST_CHATTERBOX_TTS_STITCH_OVERLAP_ADD, "n-threads", 2u, NULL);
  push_text(h, "Second one.");
  push_eos(h);
  std::vector<GstBuffer*> bufs = pull_until_eos(h);
  std::vector<chatterbox::testing::FakeCall> calls = FakeSynthesizer::calls();
  fail_unless_equals_int(calls.size(), 2);
  fail_unless(std::fabs(calls[0].params.exaggeration - 0.5f) < 1e-6);
  fail_unless_equals_int64(calls[0].params.seed, -1);
  fail_unless(std::fabs(calls[1].params.exaggeration - 1.5f) < 1e-6);
  fail_unless(std::fabs(calls[1].params.cfg_weight) < 1e-6);
  fail_unless_equals_int64(calls[1].params.seed, 7);
  fail_unless(calls[1].params.stitch_mode == chatterbox::StitchMode::kOverlapAdd);
  fail_unless_equals_int(calls[0].params.threads, 0);
  fail_unless_equals_int(calls[1].params.threads, 2);
  unref_all(bufs);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* The language property applies from the next utterance; a GST_TAG_LANGUAGE_CODE tag in the
 * text stream switches it from that point (ISO 639-2 codes become 639-1). */
GST_START_TEST(test_language_property_and_tag) {
  GstHarness* h = make_harness(make_tts());
  gchar* language = NULL;
  g_object_get(h->element, "language", &language, NULL);
  fail_unless_equals_string(language, "en");
  g_free(language);
  push_text(h, "First one.");
  GstBuffer* b = gst_harness_pull(h);
  gst_buffer_unref(b);
  g_object_set(h->element, "language", "fr", NULL);
  push_text(h, "Deuxième.");
  fail_unless(gst_harness_push_event(
      h, gst_event_new_tag(gst_tag_list_new(GST_TAG_LANGUAGE_CODE, "deu", NULL))));
  push_text(h, "Dritte.");
  fail_unless(gst_harness_push_event(
      h, gst_event_new_tag(gst_tag_list_new(GST_TAG_LANGUAGE_CODE, "zh", NULL))));
  push_text(h, "第四。");
  push_eos(h);
  std::vector<GstBuffer*> bufs = pull_until_eos(h);
  std::vector<chatterbox::testing::FakeCall> calls = FakeSynthesizer::calls();
  fail_unless_equals_int(calls.size(), 4);
  fail_unless_equals_string(calls[0].params.language.c_str(), "en");
  fail_unless_equals_string(calls[1].params.language.c_str(), "fr");
  fail_unless_equals_string(calls[2].params.language.c_str(), "de");
  fail_unless_equals_string(calls[3].params.language.c_str(), "zh");
  g_object_get(h->element, "language", &language, NULL);
  fail_unless_equals_string(language, "zh");
  g_free(language);
  unref_all(bufs);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* An engine failure mid-utterance: a STREAM error, and upstream sees the flow error. */
GST_START_TEST(test_synthesis_error) {
  GstHarness* h = make_harness(make_tts());
  push_text(h, "[fail] This one breaks halfway through.");
  expect_error(pop_problem(GST_MESSAGE_ERROR, 5 * GST_SECOND), GST_STREAM_ERROR,
               GST_STREAM_ERROR_FAILED, "fake synthesizer failure");
  GstFlowReturn ret = GST_FLOW_OK;
  for (int i = 0; i < 100 && ret == GST_FLOW_OK; ++i) {
    ret = gst_harness_push(h, text_buffer("More text."));
    g_usleep(10 * 1000);
  }
  fail_unless_equals_int(ret, GST_FLOW_ERROR);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* ---------------------------------------------------------------------------------------------
 * Lifecycle and voices
 */

GST_START_TEST(test_model_settings_errors) {
  GstElement* e = make_tts();
  g_object_set(e, "model-path", "/nonexistent/chatterbox-model", NULL);
  fail_unless_equals_int(gst_element_set_state(e, GST_STATE_READY), GST_STATE_CHANGE_FAILURE);
  expect_error(pop_problem(GST_MESSAGE_ERROR), GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND,
               "/nonexistent/chatterbox-model");
  gst_element_set_state(e, GST_STATE_NULL);

  g_object_set(e, "model-path", NULL, "device", "gpu0", NULL);
  fail_unless_equals_int(gst_element_set_state(e, GST_STATE_READY), GST_STATE_CHANGE_FAILURE);
  expect_error(pop_problem(GST_MESSAGE_ERROR), GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS,
               "gpu0");
  gst_element_set_state(e, GST_STATE_NULL);

  /* NULL <-> READY cycles load every time, with the configured model and device. */
  g_object_set(e, "device", "cuda:1", NULL);
  for (int i = 0; i < 5; ++i) {
    fail_unless_equals_int(gst_element_set_state(e, GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
    fail_unless_equals_int(gst_element_set_state(e, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  }
  std::vector<chatterbox::EngineConfig> loads = FakeSynthesizer::loads();
  fail_unless_equals_int(loads.size(), 5);
  fail_unless_equals_string(loads[0].device.c_str(), "cuda:1");
  fail_unless_equals_string(loads[0].model_dir.c_str(), "");
  gst_object_unref(e);
}
GST_END_TEST;

/* Voice files: decoded with GStreamer to 24 kHz mono for voice_from_audio, .pt files go to
 * voice_from_file, and every bad file fails READY with a clear error. */
GST_START_TEST(test_voice_files) {
  std::string dir = temp_dir();
  std::string good = dir + "/good.wav", silent = dir + "/silent.wav", shrt = dir + "/short.wav",
              text = dir + "/text.wav", pt = dir + "/voice.pt";
  write_wav(good, 16000, 2.0, 0.5);
  write_wav(silent, 16000, 2.0, 0.0);
  write_wav(shrt, 16000, 0.3, 0.5);
  write_file(text, "This is not audio at all, just some words in a file.\n");
  write_file(pt, "conditioning");

  struct Case {
    std::string path;
    GQuark domain;
    gint code;
    const char* says;
  };
  const Case bad[] = {
      {dir + "/missing.wav", GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND, "does not exist"},
      {text, GST_STREAM_ERROR, GST_STREAM_ERROR_WRONG_TYPE, "text.wav"},
      {silent, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS, "silent"},
      {shrt, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS, "too short"},
      {dir + "/missing.pt", GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND, "missing.pt"},
  };
  for (const Case& c : bad) {
    GstElement* e = make_tts();
    g_object_set(e, "voice", c.path.c_str(), NULL);
    fail_unless_equals_int(gst_element_set_state(e, GST_STATE_READY), GST_STATE_CHANGE_FAILURE);
    expect_error(pop_problem(GST_MESSAGE_ERROR), c.domain, c.code, c.says);
    gst_element_set_state(e, GST_STATE_NULL);
    gst_object_unref(e);
  }

  GstElement* e = make_tts();
  g_object_set(e, "voice", good.c_str(), NULL);
  fail_unless_equals_int(gst_element_set_state(e, GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
  g_object_set(e, "voice", pt.c_str(), NULL);
  gst_element_set_state(e, GST_STATE_NULL);
  fail_unless_equals_int(gst_element_set_state(e, GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
  gst_element_set_state(e, GST_STATE_NULL);
  gst_object_unref(e);
  std::vector<chatterbox::testing::FakeVoiceRequest> req = FakeSynthesizer::voice_requests();
  fail_unless_equals_int(req.size(), 2);
  fail_unless_equals_string(req[0].kind.c_str(), "audio");
  fail_unless_equals_int(req[0].sample_rate, 24000);
  fail_unless(req[0].samples > 47900 && req[0].samples < 48100, "%zu samples", req[0].samples);
  fail_unless_equals_string(req[1].kind.c_str(), "file");
  fail_unless_equals_string(req[1].path.c_str(), pt.c_str());

  for (const std::string& f : {good, silent, shrt, text, pt}) g_unlink(f.c_str());
  g_rmdir(dir.c_str());
}
GST_END_TEST;

/* Changing the voice while playing (property or chatterbox-voice event) applies from the next
 * utterance. */
GST_START_TEST(test_voice_change_while_playing) {
  std::string dir = temp_dir();
  std::string a = dir + "/a.wav", b = dir + "/b.pt";
  write_wav(a, 24000, 1.5, 0.3);
  write_file(b, "conditioning");

  GstHarness* h = make_harness(make_tts());
  push_text(h, "Built in voice.");
  GstBuffer* buf = gst_harness_pull(h);
  gst_buffer_unref(buf);
  g_object_set(h->element, "voice", a.c_str(), NULL);
  push_text(h, "Voice from a recording.");
  GstStructure* s = gst_structure_new("chatterbox-voice", "voice", G_TYPE_STRING, b.c_str(), NULL);
  fail_unless(gst_harness_push_event(h, gst_event_new_custom(GST_EVENT_CUSTOM_DOWNSTREAM, s)));
  push_text(h, "Voice from conditioning.");
  push_eos(h);
  std::vector<GstBuffer*> bufs = pull_until_eos(h);
  std::vector<chatterbox::testing::FakeCall> calls = FakeSynthesizer::calls();
  fail_unless_equals_int(calls.size(), 3);
  fail_unless_equals_string(calls[0].voice.c_str(), "");
  fail_unless_equals_string(calls[1].voice.c_str(), "audio:36000@24000");
  const std::string want = "file:" + b;
  fail_unless_equals_string(calls[2].voice.c_str(), want.c_str());
  gchar* voice;
  g_object_get(h->element, "voice", &voice, NULL);
  fail_unless_equals_string(voice, b.c_str());
  g_free(voice);
  unref_all(bufs);
  gst_harness_teardown(h);
  g_unlink(a.c_str());
  g_unlink(b.c_str());
  g_rmdir(dir.c_str());
}
GST_END_TEST;

/* A voice that cannot be loaded while playing: an error naming it, and the flow stops. */
GST_START_TEST(test_bad_voice_while_playing) {
  GstHarness* h = make_harness(make_tts());
  g_object_set(h->element, "voice", "/nonexistent/voice.wav", NULL);
  push_text(h, "This needs a voice.");
  expect_error(pop_problem(GST_MESSAGE_ERROR, 5 * GST_SECOND), GST_RESOURCE_ERROR,
               GST_RESOURCE_ERROR_NOT_FOUND, "/nonexistent/voice.wav");
  fail_unless(FakeSynthesizer::calls().empty());
  gst_harness_teardown(h);
}
GST_END_TEST;

/* The POSITION query follows the audio pushed. */
GST_START_TEST(test_position_query) {
  GstHarness* h = make_harness(make_tts());
  push_text(h, "Where am I?", 0, GST_SECOND);
  push_eos(h);
  std::vector<GstBuffer*> bufs = pull_until_eos(h);
  GstPad* src = gst_element_get_static_pad(h->element, "src");
  gint64 pos = -1;
  fail_unless(gst_pad_query_position(src, GST_FORMAT_TIME, &pos));
  fail_unless_equals_int64(pos, 11 * kToken);
  gst_object_unref(src);
  unref_all(bufs);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* ---------------------------------------------------------------------------------------------
 * Teardown (helpers in element_check.h)
 */

/* After set_state(NULL) returns, the source pad's task is stopped and gone. */
GST_START_TEST(test_no_task_after_null) {
  GstHarness* h = make_harness(make_tts());
  push_text(h, "Hello there.");
  push_eos(h);
  std::vector<GstBuffer*> bufs = pull_until_eos(h);
  GstTask* task = src_task(h->element);
  fail_unless(task != NULL);
  fail_unless_equals_int(gst_element_set_state(h->element, GST_STATE_NULL),
                         GST_STATE_CHANGE_SUCCESS);
  check_no_task(h->element, task);
  gst_object_unref(task);
  unref_all(bufs);
  teardown_bounded(h);
}
GST_END_TEST;

/* Holds a FLUSH_STOP on its way through the element until the element's pads are being
 * deactivated: the window in which a FLUSH_STOP used to restart the task on a dead pad. */
struct FlushStopGate {
  GstElement* element;
  GMutex lock;
  GCond cond;
  bool armed = false;
  bool entered = false;
};

static GstPadProbeReturn hold_flush_stop(GstPad*, GstPadProbeInfo* info, gpointer data) {
  FlushStopGate* g = static_cast<FlushStopGate*>(data);
  GstEvent* event = GST_PAD_PROBE_INFO_EVENT(info);
  if (GST_EVENT_TYPE(event) != GST_EVENT_FLUSH_STOP) return GST_PAD_PROBE_OK;
  g_mutex_lock(&g->lock);
  bool armed = g->armed;
  g->armed = false;
  g->entered = armed;
  g_cond_broadcast(&g->cond);
  g_mutex_unlock(&g->lock);
  if (!armed) return GST_PAD_PROBE_OK;
  /* The sink pad goes inactive only after the source pad is deactivated (task stopped). */
  GstPad* sink = gst_element_get_static_pad(g->element, "sink");
  gint64 deadline = g_get_monotonic_time() + kHangSeconds * G_TIME_SPAN_SECOND;
  while (gst_pad_is_active(sink) && g_get_monotonic_time() < deadline) g_usleep(1000);
  gst_object_unref(sink);
  return GST_PAD_PROBE_OK;
}

static gpointer push_flush_stop(gpointer data) {
  gst_harness_push_event(static_cast<GstHarness*>(data), gst_event_new_flush_stop(TRUE));
  return NULL;
}

static gpointer set_null(gpointer data) {
  gst_element_set_state(GST_ELEMENT(data), GST_STATE_NULL);
  return NULL;
}

/* A FLUSH_STOP handled while the element goes to NULL (the source pad already deactivated,
 * the sink pad not yet) must not start the task again: no task after NULL, and the element
 * can be released. */
GST_START_TEST(test_flush_stop_racing_deactivation) {
  GstHarness* h = make_harness(make_tts());
  push_text(h, "Before the flush.");
  GstBuffer* first = gst_harness_pull(h);
  gst_buffer_unref(first);
  fail_unless(gst_harness_push_event(h, gst_event_new_flush_start()));

  FlushStopGate gate;
  gate.element = h->element;
  g_mutex_init(&gate.lock);
  g_cond_init(&gate.cond);
  GstPad* src = gst_element_get_static_pad(h->element, "src");
  gulong probe =
      gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_EVENT_FLUSH, hold_flush_stop, &gate, NULL);
  g_mutex_lock(&gate.lock);
  gate.armed = true;
  g_mutex_unlock(&gate.lock);
  GThread* flusher = g_thread_new("flush-stop", push_flush_stop, h);
  g_mutex_lock(&gate.lock);
  while (!gate.entered) g_cond_wait(&gate.cond, &gate.lock);
  g_mutex_unlock(&gate.lock);

  /* NULL in another thread: it waits for the held FLUSH_STOP to finish. */
  GThread* stopper = g_thread_new("set-null", set_null, h->element);
  g_thread_join(flusher);
  g_thread_join(stopper);
  gst_pad_remove_probe(src, probe);
  gst_object_unref(src);
  fail_unless_equals_int(GST_STATE(h->element), GST_STATE_NULL);
  check_no_task(h->element, NULL);
  teardown_bounded(h);
  g_mutex_clear(&gate.lock);
  g_cond_clear(&gate.cond);
}
GST_END_TEST;

struct Storm {
  GstHarness* h;
  std::atomic<bool> stop{false};
  std::atomic<int> cycles{0};
};

static gpointer flush_storm(gpointer data) {
  Storm* s = static_cast<Storm*>(data);
  GstSegment seg;
  gst_segment_init(&seg, GST_FORMAT_TIME);
  while (!s->stop) {
    /* Results do not matter: once the sink pad is inactive the events are refused. */
    gst_harness_push_event(s->h, gst_event_new_flush_start());
    gst_harness_push_event(s->h, gst_event_new_flush_stop(TRUE));
    gst_harness_push_event(s->h, gst_event_new_segment(&seg));
    s->cycles++;
  }
  return NULL;
}

/* A flush storm (110 cycles of text, FLUSH_START/FLUSH_STOP and a new segment), a final
 * sentence spoken, then NULL while flushes keep coming from another thread: no task may be
 * left, and releasing the element must return. */
GST_START_TEST(test_flush_storm_teardown) {
  GstElement* e = make_tts();
  g_object_set(e, "first-chunk-size", 1, "chunk-size", 1, NULL);
  GstHarness* h = make_harness(e);
  GstSegment seg;
  gst_segment_init(&seg, GST_FORMAT_TIME);
  for (int i = 0; i < 110; ++i) {
    push_text(h, "Storm sentence number " + std::to_string(i) + ".");
    fail_unless(gst_harness_push_event(h, gst_event_new_flush_start()));
    fail_unless(gst_harness_push_event(h, gst_event_new_flush_stop(TRUE)));
    fail_unless(gst_harness_push_event(h, gst_event_new_segment(&seg)));
    while (GstBuffer* old = gst_harness_try_pull(h)) gst_buffer_unref(old);
  }
  push_text(h, "The final sentence.");
  /* All of its audio (no EOS: the element keeps running for the rounds below). */
  const guint64 expected = guint64(FakeSynthesizer::tokens_for("The final sentence.")) * 960;
  std::vector<GstBuffer*> bufs;
  while (total_frames(bufs, 4) < expected) {
    GstBuffer* buf = gst_harness_pull(h);
    fail_unless(buf != NULL, "timed out waiting for the final sentence");
    bufs.push_back(buf);
  }
  fail_unless_equals_uint64(total_frames(bufs, 4), expected);
  std::vector<chatterbox::testing::FakeCall> calls = FakeSynthesizer::calls();
  fail_unless_equals_string(calls.back().text.c_str(), "The final sentence.");
  unref_all(bufs);

  /* Several rounds of PLAYING -> NULL with flushes racing the state change. */
  for (int round = 0; round < 20; ++round) {
    fail_unless(gst_element_set_state(h->element, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
    /* Something to speak while the flushes come (accepted or not: the race is the point). */
    gst_harness_push(h, text_buffer("Round " + std::to_string(round) + "."));
    Storm storm;
    storm.h = h;
    GThread* stormer = g_thread_new("storm", flush_storm, &storm);
    while (storm.cycles < 5) g_usleep(100);
    GstTask* task = src_task(h->element);
    fail_unless_equals_int(gst_element_set_state(h->element, GST_STATE_NULL),
                           GST_STATE_CHANGE_SUCCESS);
    storm.stop = true;
    g_thread_join(stormer);
    check_no_task(h->element, task);
    if (task) gst_object_unref(task);
    while (GstBuffer* old = gst_harness_try_pull(h)) gst_buffer_unref(old);
  }
  teardown_bounded(h);
}
GST_END_TEST;

/* The loaded model's variant is a read-only property, and a setting the model does not use is
 * named in one warning (the fake stands for the English model, which has no top-k step). */
GST_START_TEST(test_model_variant_and_unused_settings) {
  GstElement* e = make_tts();
  gchar* variant = NULL;
  g_object_get(e, "model-variant", &variant, NULL);
  fail_unless(variant == NULL, "no variant before the model loads");
  GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(e), "model-variant");
  fail_unless(spec != NULL && !(spec->flags & G_PARAM_WRITABLE));

  g_object_set(e, "top-k", 50u, NULL);
  GstHarness* h = make_harness(e);
  g_object_get(e, "model-variant", &variant, NULL);
  fail_unless_equals_string(variant, "english");
  g_free(variant);
  push_text(h, "One.\n");
  push_text(h, "Two.\n");
  push_eos(h);
  std::vector<GstBuffer*> bufs = pull_until_eos(h);
  fail_unless_equals_int(FakeSynthesizer::calls().size(), 2);
  expect_error(pop_problem(GST_MESSAGE_WARNING), GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS,
               "top-k");
  fail_unless(pop_problem(GST_MESSAGE_WARNING) == NULL, "warned once, not per utterance");
  unref_all(bufs);
  gst_harness_teardown(h);
}
GST_END_TEST;

static Suite* chatterboxtts_suite(void) {
  /* The element comes from the gst/ static library, registered without the plugin file. */
  GST_ELEMENT_REGISTER(chatterboxtts, NULL);

  Suite* s = suite_create("chatterboxtts");
  TCase* tc = tcase_create("general");
  suite_add_tcase(s, tc);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_registration);
  tcase_add_test(tc, test_property_defaults);
  tcase_add_test(tc, test_property_round_trip);
  tcase_add_test(tc, test_caps_negotiation);
  tcase_add_test(tc, test_multichannel_output);
  tcase_add_test(tc, test_untimed_contiguous);
  tcase_add_test(tc, test_timed_input);
  tcase_add_test(tc, test_bytes_segment);
  tcase_add_test(tc, test_overflow_modes);
  tcase_add_test(tc, test_source_mode);
  tcase_add_test(tc, test_utf8_split_across_buffers);
  tcase_add_test(tc, test_sentence_boundaries);
  tcase_add_test(tc, test_invalid_utf8);
  tcase_add_test(tc, test_empty_text);
  tcase_add_test(tc, test_pango_markup);
  tcase_add_test(tc, test_pango_markup_cut_inside_tag);
  tcase_add_test(tc, test_buffer_list);
  tcase_add_test(tc, test_eos_drains);
  tcase_add_test(tc, test_no_input_caps);
  tcase_add_test(tc, test_gap);
  tcase_add_test(tc, test_flush_mid_utterance);
  tcase_add_test(tc, test_latency_query);
  tcase_add_test(tc, test_live_deadline);
  tcase_add_test(tc, test_untimed_live_text);
  tcase_add_test(tc, test_untimed_non_live);
  tcase_add_test(tc, test_deadline_is_answered_latency);
  tcase_add_test(tc, test_latency_raised_by_measurement);
  tcase_add_test(tc, test_accounting_clipped);
  tcase_add_test(tc, test_drop_warning_rate_limited);
  tcase_add_test(tc, test_tag_filtering);
  tcase_add_test(tc, test_stats_message);
  tcase_add_test(tc, test_params_change_while_playing);
  tcase_add_test(tc, test_synthesis_error);
  tcase_add_test(tc, test_model_settings_errors);
  tcase_add_test(tc, test_voice_files);
  tcase_add_test(tc, test_voice_change_while_playing);
  tcase_add_test(tc, test_bad_voice_while_playing);
  tcase_add_test(tc, test_position_query);
  tcase_add_test(tc, test_no_task_after_null);
  tcase_add_test(tc, test_flush_stop_racing_deactivation);
  tcase_add_test(tc, test_flush_storm_teardown);
  tcase_add_test(tc, test_model_variant_and_unused_settings);
  tcase_add_test(tc, test_language_property_and_tag);
  return s;
}

GST_CHECK_MAIN(chatterboxtts);
