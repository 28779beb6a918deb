// One utterance through the two-stage pipeline:
//
//   T3 thread:    prefill, then one speech token per step ---tokens--->  (bounded by queue_depth
//   chunks) next() caller: as soon as the ChunkPlanner says a chunk is decodable, flow + HiFT on
//   it,
//                  stitched by the ChunkDecoder, returned as audio.
//
// Lock order: the utterance's mutex only; it is never held across model work, so cancel() from
// any thread takes effect between two T3 steps and between two flow steps.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "engine.h"
#include "model.h"

namespace chatterbox {

// How SynthesisParams::threads is split between the stages that run side by side: S3Gen, on
// the path to the next audio, gets the larger half. 0 (libtorch's default) stays 0 for both.
struct StageThreads {
  int t3 = 0;
  int s3gen = 0;
};
StageThreads stage_threads(int total);

// text_tokens: the T3 text sequence of one utterance (already normalised and tokenised).
std::unique_ptr<Utterance> start_streaming_utterance(std::shared_ptr<const LoadedModel> model,
                                                     std::vector<int64_t> text_tokens,
                                                     const SynthesisParams& params);

}  // namespace chatterbox
