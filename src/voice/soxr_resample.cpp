#include "voice/soxr_resample.h"

#include <ATen/ATen.h>
#include <soxr.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"

namespace chatterbox {

at::Tensor resample_soxr_hq(const at::Tensor& wav, int64_t orig_sr, int64_t new_sr) {
  if (orig_sr <= 0 || new_sr <= 0)
    throw Error(ErrorKind::kInvalidInput, "resample: sample rates must be positive (got " +
                                              std::to_string(orig_sr) + " -> " +
                                              std::to_string(new_sr) + ")");
  if (orig_sr == new_sr) return wav;
  at::Tensor x = wav.reshape({-1}).to(at::kCPU, at::kFloat).contiguous();
  const double in_rate = static_cast<double>(orig_sr), out_rate = static_cast<double>(new_sr);
  const size_t ilen = static_cast<size_t>(x.numel());

  soxr_error_t err = nullptr;
  const soxr_io_spec_t io_spec = soxr_io_spec(SOXR_FLOAT32_S, SOXR_FLOAT32_S);
  const soxr_quality_spec_t quality_spec = soxr_quality_spec(SOXR_HQ, 0);
  std::unique_ptr<soxr, void (*)(soxr_t)> resampler(
      soxr_create(in_rate, out_rate, 1, &err, &io_spec, &quality_spec, nullptr), soxr_delete);
  if (err || !resampler)
    throw Error(ErrorKind::kInternal,
                std::string("libsoxr: ") + (err ? err : "soxr_create failed"));

  // python-soxr: output room ilen * out / in + 1, input fed in chunks of 1.5 s of output, then
  // flushed with no input.
  const size_t olen = static_cast<size_t>(static_cast<double>(ilen) * out_rate / in_rate + 1);
  const size_t chunk = static_cast<size_t>(std::max(1000.0, 48000.0 * in_rate / out_rate));
  std::vector<float> y(olen, 0.0f);
  const float* in = x.data_ptr<float>();
  size_t out_pos = 0, done = 0;
  for (size_t i = 0; i < ilen && !err; i += chunk) {
    const float* in_ptr = in + i;
    float* out_ptr = y.data() + out_pos;
    err = soxr_process(resampler.get(), &in_ptr, std::min(chunk, ilen - i), nullptr, &out_ptr,
                       olen - out_pos, &done);
    out_pos += done;
  }
  if (!err) {
    float* out_ptr = y.data() + out_pos;
    err = soxr_process(resampler.get(), nullptr, 0, nullptr, &out_ptr, olen - out_pos, &done);
    out_pos += done;
  }
  if (err) throw Error(ErrorKind::kInternal, std::string("libsoxr: ") + err);

  // librosa fix_length: zero-pad or cut to ceil(S * target / orig).
  const int64_t target =
      static_cast<int64_t>(std::ceil(static_cast<double>(ilen) * (out_rate / in_rate)));
  y.resize(static_cast<size_t>(target), 0.0f);
  return at::from_blob(y.data(), {target}, at::kFloat).clone().to(wav.device());
}

}  // namespace chatterbox
