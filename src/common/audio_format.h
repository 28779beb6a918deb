// Rates and sizes every stage agrees on, and the stitching modes of streamed audio. No torch, no
// GStreamer: the model code, the stream code and the public engine API all include this.
#pragma once

namespace chatterbox {

constexpr int kSampleRate = 24000;        // S3Gen output rate
constexpr int kTokensPerSecond = 25;      // speech tokens
constexpr int kMelFramesPerToken = 2;     // flow output frames per token (50 Hz)
constexpr int kSamplesPerMelFrame = 480;  // HiFT hop
constexpr int kSamplesPerToken = kMelFramesPerToken * kSamplesPerMelFrame;  // 960 = 40 ms

// How streamed chunks are joined (src/stream/chunk_decoder.h explains each).
enum class StitchMode { kNone, kOverlapAdd, kContext };

}  // namespace chatterbox
