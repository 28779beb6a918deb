// Voice reference decoding for chatterboxtts (see chatterboxvoicefile.h).
#include "chatterboxvoicefile.h"

#include <gst/app/gstappsink.h>
#include <gst/audio/audio.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>

namespace chatterbox {

namespace {

bool ends_with(const std::string& s, const char* suffix) {
  size_t n = std::strlen(suffix);
  return s.size() >= n && g_ascii_strcasecmp(s.c_str() + s.size() - n, suffix) == 0;
}

// State shared with decodebin's pad-added / no-more-pads callbacks (streaming threads).
struct DecodeContext {
  GstElement* convert = nullptr;
  std::atomic<bool> linked{false};
  std::atomic<bool> no_more_pads{false};
};

void on_pad_added(GstElement*, GstPad* pad, gpointer user_data) {
  auto* ctx = static_cast<DecodeContext*>(user_data);
  GstCaps* caps = gst_pad_get_current_caps(pad);
  if (!caps) caps = gst_pad_query_caps(pad, nullptr);
  bool audio = false;
  if (caps && gst_caps_get_size(caps) > 0)
    audio = g_str_has_prefix(gst_structure_get_name(gst_caps_get_structure(caps, 0)), "audio/");
  if (caps) gst_caps_unref(caps);
  if (!audio || ctx->linked) return;  // other streams (video, a second audio track) stay unlinked
  GstPad* sink = gst_element_get_static_pad(ctx->convert, "sink");
  if (gst_pad_link(pad, sink) == GST_PAD_LINK_OK) ctx->linked = true;
  gst_object_unref(sink);
}

void on_no_more_pads(GstElement*, gpointer user_data) {
  static_cast<DecodeContext*>(user_data)->no_more_pads = true;
}

// Owns the private pipeline; setting it to NULL joins its threads before the context dies.
struct PipelineGuard {
  GstElement* pipeline = nullptr;
  ~PipelineGuard() {
    if (pipeline) {
      gst_element_set_state(pipeline, GST_STATE_NULL);
      gst_object_unref(pipeline);
    }
  }
};

GstElement* make(const char* factory, const std::string& path) {
  GstElement* e = gst_element_factory_make(factory, nullptr);
  if (!e)
    throw VoiceFileError(VoiceFileError::Reason::kMissingPlugin,
                         "cannot decode voice file '" + path + "': GStreamer element '" + factory +
                             "' is not installed");
  return e;
}

}  // namespace

bool is_conditioning_file(const std::string& path) {
  return ends_with(path, ".pt") || ends_with(path, ".safetensors");
}

std::vector<float> decode_voice_file(const std::string& path, const VoiceDecodeOptions& options) {
  using Reason = VoiceFileError::Reason;
  if (!g_file_test(path.c_str(), G_FILE_TEST_EXISTS))
    throw VoiceFileError(Reason::kNotFound, "voice file '" + path + "' does not exist");
  if (g_file_test(path.c_str(), G_FILE_TEST_IS_DIR))
    throw VoiceFileError(Reason::kNotAudio, "voice file '" + path + "' is a directory");

  DecodeContext ctx;
  PipelineGuard guard;
  guard.pipeline = gst_pipeline_new("chatterbox-voice-decoder");
  GstElement* src = make("filesrc", path);
  // Add each element as soon as it exists so the guard frees it if a later one is missing.
  gst_bin_add(GST_BIN(guard.pipeline), src);
  GstElement* decode = make("decodebin", path);
  gst_bin_add(GST_BIN(guard.pipeline), decode);
  ctx.convert = make("audioconvert", path);
  gst_bin_add(GST_BIN(guard.pipeline), ctx.convert);
  GstElement* resample = make("audioresample", path);
  gst_bin_add(GST_BIN(guard.pipeline), resample);
  GstElement* sink = make("appsink", path);
  gst_bin_add(GST_BIN(guard.pipeline), sink);

  g_object_set(src, "location", path.c_str(), nullptr);
  GstCaps* caps = gst_caps_new_simple("audio/x-raw", "format", G_TYPE_STRING, "F32LE", "layout",
                                      G_TYPE_STRING, "interleaved", "channels", G_TYPE_INT, 1,
                                      "rate", G_TYPE_INT, options.sample_rate, nullptr);
  g_object_set(sink, "caps", caps, "sync", FALSE, nullptr);
  gst_caps_unref(caps);
  if (!gst_element_link(src, decode) ||
      !gst_element_link_many(ctx.convert, resample, sink, nullptr))
    throw VoiceFileError(Reason::kMissingPlugin,
                         "cannot build the decoder for voice file '" + path + "'");
  g_signal_connect(decode, "pad-added", G_CALLBACK(on_pad_added), &ctx);
  g_signal_connect(decode, "no-more-pads", G_CALLBACK(on_no_more_pads), &ctx);

  GstBus* bus = gst_element_get_bus(guard.pipeline);
  struct BusGuard {
    GstBus* bus;
    ~BusGuard() { gst_object_unref(bus); }
  } bus_guard{bus};

  std::vector<float> samples;
  const size_t max_samples = size_t(options.max_seconds * options.sample_rate);
  gint64 deadline = g_get_monotonic_time() + gint64(options.timeout / GST_USECOND);

  if (gst_element_set_state(guard.pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    // The bus normally says why (for example a permission problem on the file).
    GstMessage* msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
    std::string why = "could not start decoding";
    Reason reason = Reason::kUnreadable;
    if (msg) {
      GError* err = nullptr;
      gst_message_parse_error(msg, &err, nullptr);
      why = err->message;
      g_error_free(err);
      gst_message_unref(msg);
    }
    throw VoiceFileError(reason, "cannot read voice file '" + path + "': " + why);
  }

  while (true) {
    GstSample* sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 20 * GST_MSECOND);
    if (sample) {
      GstBuffer* buf = gst_sample_get_buffer(sample);
      GstMapInfo map;
      if (buf && gst_buffer_map(buf, &map, GST_MAP_READ)) {
        const float* f = reinterpret_cast<const float*>(map.data);
        samples.insert(samples.end(), f, f + map.size / sizeof(float));
        gst_buffer_unmap(buf, &map);
      }
      gst_sample_unref(sample);
      if (samples.size() >= max_samples) {
        samples.resize(max_samples);
        break;  // enough: the model only looks at the first seconds
      }
      continue;
    }
    if (gst_app_sink_is_eos(GST_APP_SINK(sink))) break;
    while (GstMessage* msg =
               gst_bus_pop_filtered(bus, GstMessageType(GST_MESSAGE_ERROR | GST_MESSAGE_EOS))) {
      if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS) {
        gst_message_unref(msg);
        continue;  // the appsink reports EOS itself once drained
      }
      GError* err = nullptr;
      gst_message_parse_error(msg, &err, nullptr);
      Reason reason = Reason::kNotAudio;
      if (err->domain == GST_RESOURCE_ERROR)
        reason = Reason::kUnreadable;
      else if (err->domain == GST_CORE_ERROR && err->code == GST_CORE_ERROR_MISSING_PLUGIN)
        reason = Reason::kMissingPlugin;
      std::string why = err->message;
      g_error_free(err);
      gst_message_unref(msg);
      throw VoiceFileError(reason,
                           "voice file '" + path + "' is not audio GStreamer can decode: " + why);
    }
    if (ctx.no_more_pads && !ctx.linked)
      throw VoiceFileError(Reason::kNotAudio, "voice file '" + path + "' contains no audio stream");
    if (g_get_monotonic_time() > deadline)
      throw VoiceFileError(Reason::kTimeout, "decoding voice file '" + path + "' timed out");
  }

  const double seconds = double(samples.size()) / options.sample_rate;
  if (seconds < options.min_seconds) {
    char buf[160];
    g_snprintf(buf, sizeof buf, "%.2f s long; at least %.1f s of speech is needed", seconds,
               options.min_seconds);
    throw VoiceFileError(Reason::kTooShort, "voice file '" + path + "' is too short: " + buf);
  }
  float peak = 0.0f;
  for (float v : samples) peak = std::max(peak, std::fabs(v));
  if (!(peak >= options.silence_peak))  // also catches NaN
    throw VoiceFileError(Reason::kSilent, "voice file '" + path + "' is silent");
  return samples;
}

}  // namespace chatterbox
