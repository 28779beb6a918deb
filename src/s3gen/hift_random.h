// The random draws of the HiFT source module (SineGen in chatterbox/models/s3gen/hifigan.py):
// one initial phase per harmonic ([1, H, 1], U(-pi, pi)) and one N(0, 1) value per harmonic and
// output sample ([1, H, S]), where H = nb_harmonics + 1 = 9.
//
// The reference draws both from torch's global generator on every call. Here they come from a
// HiftRandom owned by the utterance, in one of two modes:
//  * injected: the exact tensors the reference drew (parity tests feed the fixtures' sinegen.*);
//    the noise covers absolute samples [0, S) and asking beyond that throws;
//  * seeded: a function of (seed, absolute output sample) only. The noise is cut into blocks of
//    kBlockSamples, block b drawn from its own generator seeded by mix(seed, b), so any region
//    can be regenerated identically by a later call (streaming re-vocodes overlapping regions),
//    whatever the call boundaries are. The phases are drawn once per utterance from
//    mix(seed, phase stream).
// Not thread-safe: one utterance, one thread.
#pragma once

#include <ATen/Tensor.h>
#include <c10/core/TensorOptions.h>

#include <cstdint>

namespace chatterbox {

class HiftRandom {
 public:
  static constexpr int64_t kBlockSamples = 4800;  // 0.2 s at 24 kHz

  // Seeded mode.
  explicit HiftRandom(uint64_t seed);
  // Injected mode: phase_uniform [1, H, 1] as drawn (harmonic 0 is zeroed by the source module,
  // not here), noise_randn [1, H, S] raw N(0, 1) before scaling.
  static HiftRandom injected(at::Tensor phase_uniform, at::Tensor noise_randn);

  uint64_t seed() const { return seed_; }

  // [1, H, 1] initial phases in (-pi, pi), float32 on `options`' device.
  at::Tensor phases(int64_t harmonics, c10::TensorOptions options) const;
  // [1, H, length] N(0, 1) noise for absolute output samples [start, start + length).
  at::Tensor noise(int64_t start, int64_t length, int64_t harmonics,
                   c10::TensorOptions options) const;

 private:
  HiftRandom() = default;
  at::Tensor block(int64_t index, int64_t harmonics) const;  // [H, kBlockSamples], CPU float

  bool injected_ = false;
  uint64_t seed_ = 0;
  at::Tensor phase_uniform_;  // injected: [1, H, 1]
  at::Tensor noise_randn_;    // injected: [1, H, S]
};

}  // namespace chatterbox
