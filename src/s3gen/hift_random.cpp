// Reproducible draws for the HiFT source module; see hift_random.h.
#include "s3gen/hift_random.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <string>

#include "common/error.h"

namespace chatterbox {

namespace {

// splitmix64 finaliser: decorrelates the per-block seeds of neighbouring blocks and seeds.
uint64_t mix(uint64_t seed, uint64_t stream) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (stream + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Stream ids: blocks use their index (>= 0); the phases use a value no block index reaches.
constexpr uint64_t kPhaseStream = ~uint64_t{0} - 1;

}  // namespace

HiftRandom::HiftRandom(uint64_t seed) : injected_(false), seed_(seed) {}

HiftRandom HiftRandom::injected(at::Tensor phase_uniform, at::Tensor noise_randn) {
  if (phase_uniform.dim() != 3 || phase_uniform.size(0) != 1 || phase_uniform.size(2) != 1 ||
      noise_randn.dim() != 3 || noise_randn.size(0) != 1 ||
      noise_randn.size(1) != phase_uniform.size(1)) {
    throw Error(ErrorKind::kInvalidInput,
                "HiftRandom::injected: expected phases [1, H, 1] and noise [1, H, S]");
  }
  HiftRandom r;
  r.injected_ = true;
  r.phase_uniform_ = phase_uniform.to(at::kFloat);
  r.noise_randn_ = noise_randn.to(at::kFloat);
  return r;
}

at::Tensor HiftRandom::phases(int64_t harmonics, c10::TensorOptions options) const {
  const auto out_options = options.dtype(at::kFloat);
  if (injected_) {
    if (phase_uniform_.size(1) != harmonics) {
      throw Error(ErrorKind::kInvalidInput,
                  "HiftRandom: injected phases have " + std::to_string(phase_uniform_.size(1)) +
                      " harmonics, the model has " + std::to_string(harmonics));
    }
    return phase_uniform_.to(out_options);
  }
  // torch.distributions.Uniform(-pi, pi).sample() = low + rand * (high - low)
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(mix(seed_, kPhaseStream));
  at::Tensor u = at::rand({1, harmonics, 1}, gen, at::TensorOptions().dtype(at::kFloat));
  return (u * (2.0 * M_PI) - M_PI).to(out_options);
}

at::Tensor HiftRandom::block(int64_t index, int64_t harmonics) const {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(mix(seed_, uint64_t(index)));
  return at::randn({harmonics, kBlockSamples}, gen, at::TensorOptions().dtype(at::kFloat));
}

at::Tensor HiftRandom::noise(int64_t start, int64_t length, int64_t harmonics,
                             c10::TensorOptions options) const {
  const auto out_options = options.dtype(at::kFloat);
  if (start < 0 || length < 0) {
    throw Error(ErrorKind::kInvalidInput, "HiftRandom::noise: negative range");
  }
  if (injected_) {
    if (noise_randn_.size(1) != harmonics || start + length > noise_randn_.size(2)) {
      throw Error(ErrorKind::kInvalidInput,
                  "HiftRandom: injected noise [1, " + std::to_string(noise_randn_.size(1)) + ", " +
                      std::to_string(noise_randn_.size(2)) + "] does not cover samples [" +
                      std::to_string(start) + ", " + std::to_string(start + length) + ") of " +
                      std::to_string(harmonics) + " harmonics");
    }
    return noise_randn_.narrow(2, start, length).to(out_options);
  }
  if (length == 0) return at::empty({1, harmonics, 0}, out_options);
  const int64_t first = start / kBlockSamples;
  const int64_t last = (start + length - 1) / kBlockSamples;
  std::vector<at::Tensor> blocks;
  for (int64_t b = first; b <= last; ++b) blocks.push_back(block(b, harmonics));
  at::Tensor all = blocks.size() == 1 ? blocks[0] : at::cat(blocks, 1);  // [H, n * kBlockSamples]
  return all.narrow(1, start - first * kBlockSamples, length).unsqueeze(0).to(out_options);
}

}  // namespace chatterbox
