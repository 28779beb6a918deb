/* gst-chatterbox: Chatterbox text-to-speech for GStreamer.
 * SPDX-License-Identifier: MIT
 */

/* Output conversion of the chatterboxtts element: the engine's 24 kHz F32 mono into the
 * negotiated format, rate and channel count (the mono copied into every channel). */
#pragma once

#include <gst/audio/audio.h>

#include <cstddef>
#include <vector>

namespace chatterbox {

/* Converts the engine's 24 kHz F32 mono into the negotiated format with a GstAudioConverter,
 * and makes each utterance produce exactly round(samples * out_rate / 24000) samples: the
 * resampler's tail is drained with zeros at the end of the utterance. Used by the source pad
 * task only. */
class OutputConverter {
 public:
  OutputConverter() = default;
  OutputConverter(const OutputConverter&) = delete;
  OutputConverter& operator=(const OutputConverter&) = delete;
  ~OutputConverter() { clear(); }

  /* Sets up conversion to `out`; false when GStreamer has no converter for it. */
  bool configure(const GstAudioInfo& out);
  /* Frees the converter (back to unconfigured). */
  void clear();

  int rate() const { return GST_AUDIO_INFO_RATE(&out_info_); }
  int bpf() const { return GST_AUDIO_INFO_BPF(&out_info_); }

  /* Frames the converter holds back, as time (for the latency query). */
  GstClockTime latency() const;

  /* [S] 24 kHz floats in, bytes of the output format appended to `out`. Throws
   * chatterbox::Error when the conversion fails. */
  void process(const float* in, size_t frames, std::vector<guint8>& out);

  /* Ends the utterance: emits the resampler's remaining output, exactly up to the expected
   * length, and resets the converter for the next utterance. */
  void drain(std::vector<guint8>& out);

  /* Drops any state of an unfinished utterance (flush, clip). */
  void reset();

 private:
  void run(const float* in, size_t frames, std::vector<guint8>& out);

  GstAudioInfo in_info_{};
  GstAudioInfo out_info_{};
  GstAudioConverter* converter_ = nullptr;
  bool passthrough_ = false;
  guint64 in_total_ = 0;  /* 24 kHz frames fed in this utterance */
  guint64 out_total_ = 0; /* output frames produced in this utterance */
};

}  // namespace chatterbox
