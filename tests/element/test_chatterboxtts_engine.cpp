/* GstCheck tests of chatterboxtts with the REAL engine (chatterbox::Engine::load): model
 * loading errors, and a short utterance on the tiny random-weight model generated at build
 * time (CHATTERBOX_TINY_MODEL_DIR). No fake synthesizer here. */
/* C++ and project headers before gstcheck.h (its `fail` macro breaks later standard headers). */
#include <glib/gstdio.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>

#include <cstring>
#include <string>
#include <vector>

#include "gstchatterboxtts.h"

static const char* const kModelFiles[] = {
    "t3_cfg.safetensors", "s3gen.safetensors", "ve.safetensors", "tokenizer.json",
    "conds.pt",           "t3_cfg.json",       "s3gen.json",     "ve.json"};

static std::string temp_dir(void) {
  gchar* dir = g_dir_make_tmp("chatterboxtts-engine-XXXXXX", NULL);
  fail_unless(dir != NULL);
  std::string s = dir;
  g_free(dir);
  return s;
}

static void remove_dir(const std::string& dir) {
  for (const char* f : kModelFiles) g_unlink((dir + "/" + f).c_str());
  g_rmdir(dir.c_str());
}

/* Sets model-path and expects NULL->READY to fail with an error mentioning `says`. */
static void expect_load_failure(const std::string& model_dir, const char* says) {
  GstBus* bus = gst_bus_new();
  GstElement* e = gst_element_factory_make("chatterboxtts", NULL);
  gst_element_set_bus(e, bus);
  g_object_set(e, "model-path", model_dir.c_str(), "device", "cpu", NULL);
  fail_unless_equals_int(gst_element_set_state(e, GST_STATE_READY), GST_STATE_CHANGE_FAILURE);
  GstMessage* msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  fail_unless(msg != NULL);
  GError* err = NULL;
  gchar* debug = NULL;
  gst_message_parse_error(msg, &err, &debug);
  std::string all = std::string(err->message) + " " + (debug ? debug : "");
  GST_INFO("load error: %s", all.c_str());
  fail_unless(all.find(says) != std::string::npos, "'%s' not in '%s'", says, all.c_str());
  fail_unless(err->domain == GST_LIBRARY_ERROR || err->domain == GST_RESOURCE_ERROR);
  g_error_free(err);
  g_free(debug);
  gst_message_unref(msg);
  gst_element_set_state(e, GST_STATE_NULL);
  gst_object_unref(e);
  gst_bus_set_flushing(bus, TRUE);
  gst_object_unref(bus);
}

GST_START_TEST(test_missing_model_files) {
  std::string dir = temp_dir();
  expect_load_failure(dir, "t3_cfg.safetensors");
  remove_dir(dir);
}
GST_END_TEST;

/* A copy of the tiny model whose t3_cfg.safetensors is cut in half. */
GST_START_TEST(test_truncated_model_file) {
  std::string dir = temp_dir();
  for (const char* f : kModelFiles) {
    gchar* data = NULL;
    gsize size = 0;
    std::string src = std::string(CHATTERBOX_TINY_MODEL_DIR) + "/" + f;
    if (!g_file_get_contents(src.c_str(), &data, &size, NULL)) continue; /* optional files */
    if (std::string(f) == "t3_cfg.safetensors") size /= 2;
    fail_unless(g_file_set_contents((dir + "/" + f).c_str(), data, size, NULL));
    g_free(data);
  }
  expect_load_failure(dir, "t3_cfg.safetensors");
  remove_dir(dir);
}
GST_END_TEST;

/* The tiny model speaks: audio comes out, then EOS. */
GST_START_TEST(test_tiny_model_speaks) {
  GstElement* e = gst_element_factory_make("chatterboxtts", NULL);
  g_object_set(e, "model-path", CHATTERBOX_TINY_MODEL_DIR, "device", "cpu", "max-tokens", 20,
               "seed", (gint64)1, NULL);
  GstHarness* h = gst_harness_new_with_element(e, "sink", "src");
  gst_object_unref(e);
  gst_harness_set_live(h, FALSE);
  gst_harness_set_src_caps_str(h, "text/x-raw,format=utf8");
  GstBuffer* text = gst_buffer_new_memdup("Hello.", 6);
  fail_unless_equals_int(gst_harness_push(h, text), GST_FLOW_OK);
  fail_unless(gst_harness_push_event(h, gst_event_new_eos()));
  guint64 bytes = 0;
  GstBuffer* buf = NULL;
  while (gst_harness_pull_until_eos(h, &buf) && buf) {
    bytes += gst_buffer_get_size(buf);
    gst_buffer_unref(buf);
  }
  fail_unless(bytes > 0);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* The bytes of every buffer until EOS. */
static std::vector<guint8> pull_audio(GstHarness* h) {
  std::vector<guint8> audio;
  GstBuffer* buf = NULL;
  while (gst_harness_pull_until_eos(h, &buf) && buf) {
    GstMapInfo map;
    fail_unless(gst_buffer_map(buf, &map, GST_MAP_READ));
    audio.insert(audio.end(), map.data, map.data + map.size);
    gst_buffer_unmap(buf, &map);
    gst_buffer_unref(buf);
  }
  return audio;
}

/* Speaks `text` on the tiny model with `voice` ("" = built-in) and returns the audio bytes. */
static std::vector<guint8> speak_with_voice(const std::string& voice, const char* text) {
  GstElement* e = gst_element_factory_make("chatterboxtts", NULL);
  g_object_set(e, "model-path", CHATTERBOX_TINY_MODEL_DIR, "device", "cpu", "max-tokens", 20,
               "seed", (gint64)3, "voice", voice.c_str(), NULL);
  GstHarness* h = gst_harness_new_with_element(e, "sink", "src");
  gst_object_unref(e);
  gst_harness_set_live(h, FALSE);
  gst_harness_set_src_caps_str(h, "text/x-raw,format=utf8");
  fail_unless_equals_int(gst_harness_push(h, gst_buffer_new_memdup(text, strlen(text))),
                         GST_FLOW_OK);
  fail_unless(gst_harness_push_event(h, gst_event_new_eos()));
  std::vector<guint8> audio = pull_audio(h);
  gst_harness_teardown(h);
  return audio;
}

/* Writes 3 s of a harmonic tone encoded by `encoder` (a gst-launch fragment) to `path`. */
static void make_reference(const std::string& path, const char* encoder) {
  gchar* desc = g_strdup_printf(
      "audiotestsrc wave=saw freq=150 volume=0.3 num-buffers=30 samplesperbuffer=2400 "
      "! audio/x-raw,rate=24000,channels=1 ! audioconvert ! %s ! filesink location=%s",
      encoder, path.c_str());
  GError* err = NULL;
  GstElement* pipeline = gst_parse_launch(desc, &err);
  g_free(desc);
  fail_unless(pipeline != NULL && err == NULL, "%s", err ? err->message : "");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* msg = gst_bus_timed_pop_filtered(
      bus, 30 * GST_SECOND, (GstMessageType)(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  fail_unless(msg != NULL && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS);
  gst_message_unref(msg);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
}

/* Voice cloning end to end: a reference made by GStreamer (WAV, FLAC, Ogg Vorbis) is decoded
 * by the element and conditions the real engine; the audio differs from the built-in voice. */
GST_START_TEST(test_tiny_model_clones_voice_from_files) {
  std::string dir = temp_dir();
  g_setenv("CHATTERBOX_VOICE_CACHE", dir.c_str(), TRUE);
  const std::vector<guint8> builtin = speak_with_voice("", "Hello.");
  fail_unless(!builtin.empty());
  const char* encoders[][2] = {
      {"ref.wav", "wavenc"}, {"ref.flac", "flacenc"}, {"ref.ogg", "vorbisenc ! oggmux"}};
  for (const auto& enc : encoders) {
    const std::string path = dir + "/" + enc[0];
    make_reference(path, enc[1]);
    const std::vector<guint8> cloned = speak_with_voice(path, "Hello.");
    fail_unless(!cloned.empty(), "no audio with voice %s", enc[0]);
    fail_unless(cloned != builtin, "voice %s did not change the audio", enc[0]);
    g_unlink(path.c_str());
  }
  g_unsetenv("CHATTERBOX_VOICE_CACHE");
  GDir* d = g_dir_open(dir.c_str(), 0, NULL);
  const gchar* name;
  while (d && (name = g_dir_read_name(d))) g_unlink((dir + "/" + name).c_str());
  if (d) g_dir_close(d);
  g_rmdir(dir.c_str());
}
GST_END_TEST;

/* Speaks `text` in `language` with the model in `model_dir`; returns the audio bytes, or the
 * error message (in `error`) when the element posted one. */
static std::vector<guint8> speak_in(const char* model_dir, const char* language, const char* text,
                                    std::string* error) {
  GstElement* e = gst_element_factory_make("chatterboxtts", NULL);
  g_object_set(e, "model-path", model_dir, "device", "cpu", "max-tokens", 20, "seed", (gint64)1,
               "language", language, NULL);
  GstHarness* h = gst_harness_new_with_element(e, "sink", "src");
  gst_object_unref(e);
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(h->element, bus);
  gst_harness_set_live(h, FALSE);
  gst_harness_set_src_caps_str(h, "text/x-raw,format=utf8");
  std::vector<guint8> audio;
  if (gst_harness_push(h, gst_buffer_new_memdup(text, strlen(text))) == GST_FLOW_OK &&
      gst_harness_push_event(h, gst_event_new_eos()))
    audio = pull_audio(h);
  if (GstMessage* msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR)) {
    GError* err = NULL;
    gchar* debug = NULL;
    gst_message_parse_error(msg, &err, &debug);
    *error = std::string(err->message) + " " + (debug ? debug : "");
    g_error_free(err);
    g_free(debug);
    gst_message_unref(msg);
  }
  gst_harness_teardown(h);
  gst_bus_set_flushing(bus, TRUE);
  gst_object_unref(bus);
  return audio;
}

/* The multilingual model speaks French and Chinese through the language property; an
 * unsupported code is an element error listing the supported ones; the English model refuses
 * French rather than speaking it with the English tokenizer. */
GST_START_TEST(test_language_on_real_models) {
  std::string error;
  fail_unless(!speak_in(CHATTERBOX_TINY_MTL_MODEL_DIR, "fr", "Bonjour, ça va ?", &error).empty(),
              "%s", error.c_str());
  fail_unless(error.empty(), "%s", error.c_str());
  fail_unless(!speak_in(CHATTERBOX_TINY_MTL_MODEL_DIR, "zh", "你好，世界。", &error).empty(), "%s",
              error.c_str());
  speak_in(CHATTERBOX_TINY_MTL_MODEL_DIR, "xx", "Hello.", &error);
  for (const char* want : {"'xx'", "ar", "de", "fr", "ja", "zh"})
    fail_unless(error.find(want) != std::string::npos, "'%s' not in '%s'", want, error.c_str());
  error.clear();
  speak_in(CHATTERBOX_TINY_MODEL_DIR, "fr", "Bonjour.", &error);
  fail_unless(error.find("English only") != std::string::npos, "%s", error.c_str());
}
GST_END_TEST;

static Suite* chatterboxtts_engine_suite(void) {
  GST_ELEMENT_REGISTER(chatterboxtts, NULL);
  Suite* s = suite_create("chatterboxtts-engine");
  TCase* tc = tcase_create("general");
  tcase_set_timeout(tc, 300);
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_missing_model_files);
  tcase_add_test(tc, test_truncated_model_file);
  tcase_add_test(tc, test_tiny_model_speaks);
  tcase_add_test(tc, test_tiny_model_clones_voice_from_files);
  tcase_add_test(tc, test_language_on_real_models);
  return s;
}

GST_CHECK_MAIN(chatterboxtts_engine);
