// librosa.resample(y, orig_sr, target_sr) with its default res_type "soxr_hq": libsoxr at
// quality SOXR_HQ driven the way python-soxr's resample() drives it (split-channel float32 I/O,
// input fed in chunks, then flushed), output fixed to ceil(S * target / orig) samples as
// librosa's fix_length does. This is the resampler of librosa.load(sr=...) and of the 24 -> 16 kHz
// step of Turbo's prepare_conditionals; the English path uses resample() (resample.h).
#pragma once

#include <ATen/Tensor.h>

namespace chatterbox {

// wav [S] float (any device) -> [ceil(S * new_sr / orig_sr)] float32 on the same device. Returns
// `wav` itself when the rates are equal. Throws Error(kInvalidInput) for non-positive rates and
// Error(kInternal) if libsoxr fails.
at::Tensor resample_soxr_hq(const at::Tensor& wav, int64_t orig_sr, int64_t new_sr);

}  // namespace chatterbox
