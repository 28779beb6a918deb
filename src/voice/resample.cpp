#include "voice/resample.h"

#include <ATen/ATen.h>

#include <cmath>
#include <numeric>
#include <string>

#include "common/error.h"

namespace chatterbox {

// torchaudio/functional/functional.py: _get_sinc_resample_kernel. The kernel is built in float64
// and then rounded to float32 (what torchaudio does when no dtype is given, as in
// transforms.Resample); each phase j holds the filter taps for output sample j of every group.
at::Tensor sinc_resample_kernel(int64_t orig, int64_t new_rate, const ResamplerParams& params,
                                int64_t* width_out) {
  const double lpw = params.lowpass_filter_width;
  const double base = static_cast<double>(std::min(orig, new_rate)) * params.rolloff;
  const int64_t width = static_cast<int64_t>(std::ceil(lpw * static_cast<double>(orig) / base));
  const auto f64 = at::TensorOptions().dtype(at::kDouble);
  // idx [1, 1, 2W + orig] in input samples / orig; t [new, 1, 2W + orig]
  at::Tensor idx =
      at::arange(-width, width + orig, f64).div(static_cast<double>(orig)).view({1, 1, -1});
  // torchaudio divides the integer phase index in the default dtype (float32), then promotes.
  at::Tensor phase = at::arange(0, -new_rate, -1, at::TensorOptions().dtype(at::kFloat))
                         .div(static_cast<double>(new_rate))
                         .to(at::kDouble);
  at::Tensor t = phase.view({-1, 1, 1}) + idx;
  t = t.mul(base).clamp(-lpw, lpw);
  at::Tensor window;
  if (params.window == ResampleWindow::kHann) {
    window = at::cos(t * M_PI / lpw / 2.0).pow(2);
  } else {
    at::Tensor beta = at::scalar_tensor(params.beta, f64);
    window = at::i0(beta * at::sqrt(1.0 - (t / lpw).pow(2))) / at::i0(beta);
  }
  t = t * M_PI;
  const double scale = base / static_cast<double>(orig);
  at::Tensor kernels = at::where(t == 0, at::ones({}, f64), at::sin(t) / t);
  kernels = kernels * (window * scale);
  if (width_out) *width_out = width;
  return kernels.to(at::kFloat);
}

at::Tensor resample(const at::Tensor& wav, int64_t orig_sr, int64_t new_sr,
                    const ResamplerParams& params) {
  if (orig_sr <= 0 || new_sr <= 0)
    throw Error(ErrorKind::kInvalidInput, "resample: sample rates must be positive (got " +
                                              std::to_string(orig_sr) + " -> " +
                                              std::to_string(new_sr) + ")");
  if (orig_sr == new_sr) return wav;
  const int64_t g = std::gcd(orig_sr, new_sr);
  const int64_t orig = orig_sr / g, new_rate = new_sr / g;
  int64_t width = 0;
  at::Tensor kernel =
      sinc_resample_kernel(orig, new_rate, params, &width).to(wav.device(), wav.scalar_type());

  // torchaudio: _apply_sinc_resample_kernel
  const auto shape = wav.sizes().vec();
  const int64_t length = shape.back();
  at::Tensor x = wav.reshape({-1, length});                       // [N, S]
  x = at::constant_pad_nd(x, {width, width + orig}, 0.0);         // [N, S + 2W + orig]
  at::Tensor y = at::conv1d(x.unsqueeze(1), kernel, {}, {orig});  // [N, new, S / orig + 1]
  y = y.transpose(1, 2).reshape({x.size(0), -1});                 // [N, new * frames]
  const int64_t target = (new_rate * length + orig - 1) / orig;   // ceil(new * S / orig)
  y = y.narrow(1, 0, std::min<int64_t>(target, y.size(1)));
  auto out_shape = shape;
  out_shape.back() = y.size(1);
  return y.reshape(out_shape);
}

}  // namespace chatterbox
