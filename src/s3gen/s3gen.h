// S3Gen: speech tokens -> 24 kHz waveform. Ports S3Token2Wav (chatterbox/models/s3gen/s3gen.py):
// flow (CausalMaskedDiffWithXvec, src/s3gen/flow.h) -> HiFT vocoder (src/s3gen/hift.h) ->
// start-of-utterance trim/fade.
//
//   tokens [1, T] --flow(finalize)--> mel [1, 80, 2T] --HiFT--> wav [1, 960 T] --trim_fade--> wav
//
// S3GenModel is immutable after load and shared (shared_ptr<const S3GenModel>) by every
// utterance and thread; the randomness of an utterance (CFM start noise, sine-source draws)
// lives in a FlowNoise and a HiftRandom owned by the caller.
#pragma once

#include <ATen/Tensor.h>
#include <c10/core/TensorOptions.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "io/safetensors.h"
#include "s3gen/flow.h"
#include "s3gen/hift.h"
#include "s3gen/s3gen_config.h"
#include "voice/conditioning.h"

namespace chatterbox {

// Chatterbox-Turbo's generate() appends kTurboSilenceTokens x S3GEN_SIL (the codec token of
// silence) to T3's speech tokens, after dropping the special ids (>= 6561), before S3Gen; the
// English model does not. S3GenModel does not do it either: the caller (the Turbo pipeline)
// appends them, once per utterance, at its end (streaming: to the tokens of the last chunk).
inline constexpr int64_t kS3GenSilenceToken = 4299;
inline constexpr int kTurboSilenceTokens = 3;

// tokens + kTurboSilenceTokens x kS3GenSilenceToken.
std::vector<int64_t> append_turbo_silence(std::vector<int64_t> tokens);
// The same on a [1, T] int64 tensor -> [1, T + 3].
at::Tensor append_turbo_silence(const at::Tensor& tokens);

// S3Token2Wav.trim_fade: n_trim = sr / 50 zeros, then n_trim samples of a raised cosine rising
// from 0 to 1: (cos(linspace(pi, 0, n_trim)) + 1) / 2.  [2 n_trim] = [960] at 24 kHz.
at::Tensor make_trim_fade(int64_t sampling_rate, c10::TensorOptions options = {});
// Multiplies the samples of `wav` [B, S] whose ABSOLUTE position (start_sample + index) falls in
// the trim/fade window, in place. Offline: start_sample 0; streaming: the chunk's first sample.
void apply_trim_fade(at::Tensor& wav, const at::Tensor& trim_fade, int64_t start_sample = 0);

class S3GenModel {
 public:
  // Reads `flow.*` and `mel2wav.*` of s3gen.safetensors (the speaker encoder and tokenizer
  // tensors are not used here). `s3gen_json` is the oracle's s3gen.json format (null: the
  // official full-size model). Throws Error(kModelFile) listing every missing/mis-shaped tensor.
  static std::shared_ptr<const S3GenModel> load(std::shared_ptr<const SafetensorsFile> file,
                                                const nlohmann::json& s3gen_json,
                                                c10::TensorOptions options = {});

  // Decoding (offline S3Token2Wav.inference and streaming) is ChunkDecoder's
  // (src/stream/chunk_decoder.h): one path for the element and the parity checks.

  const FlowModel& flow() const { return flow_; }
  bool meanflow() const { return flow_.meanflow(); }
  const HiftModel& hift() const { return hift_; }
  const at::Tensor& trim_fade() const { return trim_fade_; }  // [960]
  const c10::TensorOptions& options() const { return options_; }
  int64_t sampling_rate() const { return hift_.config().sampling_rate; }

 private:
  S3GenModel() = default;
  c10::TensorOptions options_;
  FlowModel flow_;
  HiftModel hift_;
  at::Tensor trim_fade_;
};

}  // namespace chatterbox
