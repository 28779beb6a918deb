// The offline S3Gen decode the parity checks compare (S3Token2Wav.inference: flow with finalize ->
// HiFT -> trim/fade), run through the element's own decoder (ChunkDecoder::decode_offline) with
// the reference's recorded draws injected.
#pragma once

#include <ATen/ATen.h>

#include <vector>

#include "s3gen/s3gen.h"
#include "stream/chunk_decoder.h"

namespace parity {

// tokens [1, T] int64 -> wav [1, 960 T]; cfm_steps <= 0: the model's default. tap: see
// ChunkDecoder::decode_offline.
inline at::Tensor decode_offline(const chatterbox::S3GenModel& model,
                                 const chatterbox::VoiceConditioning& voice,
                                 const at::Tensor& tokens, chatterbox::FlowNoise noise,
                                 chatterbox::HiftRandom random,
                                 const chatterbox::TensorTap& tap = {}, int cfm_steps = 0) {
  at::Tensor flat = tokens.reshape({-1}).to(at::kLong).contiguous();
  const std::vector<int64_t> ids(flat.data_ptr<int64_t>(), flat.data_ptr<int64_t>() + flat.numel());
  chatterbox::ChunkDecoder decoder(model.flow(), model.hift(), voice, chatterbox::ChunkSchedule(),
                                   cfm_steps, std::move(noise), std::move(random));
  return at::tensor(decoder.decode_offline(ids, tap)).unsqueeze(0);
}

}  // namespace parity
