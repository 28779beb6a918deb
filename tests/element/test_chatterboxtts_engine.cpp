/* GstCheck tests of chatterboxtts with the REAL engine (chatterbox::Engine::load): model
 * loading errors, and a short utterance on the tiny random-weight model generated at build
 * time (CHATTERBOX_TINY_MODEL_DIR). No fake synthesizer here. */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <glib/gstdio.h>

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

static Suite* chatterboxtts_engine_suite(void) {
  GST_ELEMENT_REGISTER(chatterboxtts, NULL);
  Suite* s = suite_create("chatterboxtts-engine");
  TCase* tc = tcase_create("general");
  tcase_set_timeout(tc, 300);
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_missing_model_files);
  tcase_add_test(tc, test_truncated_model_file);
  tcase_add_test(tc, test_tiny_model_speaks);
  return s;
}

GST_CHECK_MAIN(chatterboxtts_engine);
