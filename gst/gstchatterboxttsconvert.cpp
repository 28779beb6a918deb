/* gst-chatterbox: Chatterbox text-to-speech for GStreamer.
 * SPDX-License-Identifier: MIT
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <algorithm>

#include "common/error.h"
#include "engine.h"
#include "gstchatterboxttsconvert.h"

namespace chatterbox {

bool OutputConverter::configure(const GstAudioInfo& out) {
  clear();
  gst_audio_info_set_format(&in_info_, GST_AUDIO_FORMAT_F32LE, kSampleRate, 1, nullptr);
  out_info_ = out;
  GstStructure* config =
      gst_structure_new("GstAudioConverterConfig", GST_AUDIO_CONVERTER_OPT_DITHER_METHOD,
                        GST_TYPE_AUDIO_DITHER_METHOD, GST_AUDIO_DITHER_NONE,
                        GST_AUDIO_CONVERTER_OPT_NOISE_SHAPING_METHOD,
                        GST_TYPE_AUDIO_NOISE_SHAPING_METHOD, GST_AUDIO_NOISE_SHAPING_NONE, NULL);
  /* Several channels: the mono speech copied into each at full level (the default mix would
   * spread it by position, or refuse unpositioned channels). */
  const int channels = GST_AUDIO_INFO_CHANNELS(&out_info_);
  if (channels > 1) {
    GValue matrix = G_VALUE_INIT;
    g_value_init(&matrix, GST_TYPE_ARRAY);
    for (int c = 0; c < channels; ++c) {
      GValue row = G_VALUE_INIT, gain = G_VALUE_INIT;
      g_value_init(&row, GST_TYPE_ARRAY);
      g_value_init(&gain, G_TYPE_FLOAT);
      g_value_set_float(&gain, 1.0f);
      gst_value_array_append_and_take_value(&row, &gain);
      gst_value_array_append_and_take_value(&matrix, &row);
    }
    gst_structure_take_value(config, GST_AUDIO_CONVERTER_OPT_MIX_MATRIX, &matrix);
  }
  /* No dither: the same seed must give byte-identical S16 output. */
  converter_ =
      gst_audio_converter_new(GST_AUDIO_CONVERTER_FLAG_NONE, &in_info_, &out_info_, config);
  if (!converter_) return false;
  passthrough_ = gst_audio_converter_is_passthrough(converter_);
  return true;
}

void OutputConverter::clear() {
  if (converter_) gst_audio_converter_free(converter_);
  converter_ = nullptr;
  in_total_ = out_total_ = 0;
}

GstClockTime OutputConverter::latency() const {
  if (!converter_ || passthrough_) return 0;
  return gst_util_uint64_scale_int_ceil(gst_audio_converter_get_max_latency(converter_), GST_SECOND,
                                        kSampleRate);
}

void OutputConverter::process(const float* in, size_t frames, std::vector<guint8>& out) {
  in_total_ += frames;
  if (passthrough_) {
    const guint8* b = reinterpret_cast<const guint8*>(in);
    out.insert(out.end(), b, b + frames * sizeof(float));
    out_total_ += frames;
    return;
  }
  run(in, frames, out);
}

void OutputConverter::drain(std::vector<guint8>& out) {
  if (!passthrough_ && converter_) {
    guint64 expected = gst_util_uint64_scale_int_round(in_total_, rate(), kSampleRate);
    size_t block = gst_audio_converter_get_max_latency(converter_) + 64;
    std::vector<float> zeros(block, 0.0f);
    /* Each round yields about block * ratio frames; the bound only guards a broken converter. */
    for (int round = 0; out_total_ < expected && round < 64; ++round)
      run(zeros.data(), zeros.size(), out);
    if (out_total_ > expected) {
      guint64 extra = std::min<guint64>(out_total_ - expected, out.size() / bpf());
      out.resize(out.size() - extra * bpf());
    }
    gst_audio_converter_reset(converter_);
  }
  in_total_ = out_total_ = 0;
}

void OutputConverter::reset() {
  if (converter_) gst_audio_converter_reset(converter_);
  in_total_ = out_total_ = 0;
}

void OutputConverter::run(const float* in, size_t frames, std::vector<guint8>& out) {
  gsize out_frames = gst_audio_converter_get_out_frames(converter_, frames);
  size_t offset = out.size();
  out.resize(offset + out_frames * bpf());
  gpointer in_planes[1] = {const_cast<float*>(in)};
  gpointer out_planes[1] = {out.data() + offset};
  if (!gst_audio_converter_samples(converter_, GST_AUDIO_CONVERTER_FLAG_NONE, in_planes, frames,
                                   out_planes, out_frames)) {
    out.resize(offset);
    throw Error(ErrorKind::kInternal, "audio conversion failed");
  }
  out_total_ += out_frames;
}

}  // namespace chatterbox
