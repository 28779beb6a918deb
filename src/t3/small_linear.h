// y = x W^T for the T3 hot loop, where x has only a few rows (decode: 1 row, or 2 under CFG).
//
// Why this exists: through torch/OpenBLAS a [2, K] x [K, N] product streams the weight at only
// 13-15 GB/s on the target CPUs, against ~57 GB/s for a matrix-vector product (see
// performance-anchors.md), and per-row at::mv reads every weight twice. Decode is bound by
// reading the 2 GB of weights once per token, so small_linear reads each weight row once and
// multiplies it with all x rows at the same time (AVX-512, both intra-op threads). Weights may
// be stored as bfloat16 to halve the bytes; they are widened to fp32 in registers and the
// arithmetic stays fp32. Anything else (many rows, other devices, no AVX-512) goes to at::linear.
#pragma once

#include <ATen/ATen.h>

namespace chatterbox {

// x [..., K] float32; w [N, K] contiguous float32 or bfloat16 (the checkpoint's Linear layout,
// no bias) -> [..., N] float32.
at::Tensor small_linear(const at::Tensor& x, const at::Tensor& w);

// Rows of x up to which the dedicated kernel is used (more rows: BLAS GEMM is efficient).
constexpr int64_t kSmallLinearMaxRows = 4;

// True when this CPU can run the dedicated kernel (AVX-512F/BW/VL).
bool small_linear_kernel_available();

// How few-row products are computed, process-wide. kKernel (default) falls back to kBlas where the
// kernel does not apply. The other two exist so the benchmark can measure the alternatives.
enum class SmallLinearPath { kKernel, kBlas, kRowGemv };
void set_small_linear_path(SmallLinearPath path);
SmallLinearPath small_linear_path();

}  // namespace chatterbox
