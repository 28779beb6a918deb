// FLOP counts of S3Gen's parts, for the GEMM floors of the benchmarks (one counter per part,
// shared by every bench case).
#pragma once

#include <cstdint>

#include "s3gen/s3gen_config.h"

namespace bench {

// FLOPs (multiply-add = 2) of one flow call on `tokens` tokens (prompt + generated): the encoder,
// and one CFM step (CFG batch of 2; mean-flow batch 1). Matrix products and convolutions only.
struct FlowFlops {
  double encoder = 0;
  double cfm_step = 0;
};
FlowFlops flow_flops(const chatterbox::FlowConfig& c, int64_t tokens);

// Conv/linear FLOPs of one HiFT call on `frames` mel frames (elementwise work not counted).
double hift_flops(const chatterbox::HiftConfig& c, int64_t frames);

}  // namespace bench
