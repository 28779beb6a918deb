// y = x W^T for the T3 hot loop, where x has only a few rows (decode: 1 row, or 2 under CFG).
//
// Why this exists: through torch/OpenBLAS a [2, K] x [K, N] product streams the weight at only
// 13-15 GB/s on the target CPUs, against ~57 GB/s for a matrix-vector product (see
// performance-anchors.md), and per-row at::mv reads every weight twice. Decode is bound by
// reading the 2 GB of weights once per token, so small_linear reads each weight row once and
// multiplies it with all x rows at the same time (AVX-512, or AVX2 + FMA, on the intra-op threads).
// Weights may be stored as bfloat16 (half the bytes) or as int8 with one fp32 scale per output row
// (a quarter); they are widened to fp32 in registers and the arithmetic stays fp32. Anything else
// (many rows, other devices, a CPU without AVX2) goes to at::linear (int8: on the dequantised
// matrix, except for few rows, where a portable scalar loop reads the int8 weights directly).
#pragma once

#include <ATen/ATen.h>

namespace chatterbox {

// How few-row products with a matrix are computed. kKernel (default) falls back to kBlas where
// the kernel does not apply. The others exist so the benchmark can measure the alternatives and
// the tests can reach the portable scalar loop (the int8 fallback on CPUs without AVX2): a load
// option of the T3 models (LinearLoadOptions), kept by each matrix, never process-wide.
enum class SmallLinearPath { kKernel, kBlas, kRowGemv, kScalar };

// x [..., K] float32; w [N, K] contiguous float32 or bfloat16 (the checkpoint's Linear layout,
// no bias) -> [..., N] float32.
at::Tensor small_linear(const at::Tensor& x, const at::Tensor& w,
                        SmallLinearPath path = SmallLinearPath::kKernel);

// Rows of x up to which the dedicated kernel is used (more rows: BLAS GEMM is efficient).
constexpr int64_t kSmallLinearMaxRows = 4;

// True when this CPU can run the dedicated kernel (AVX-512F/BW/VL, or AVX2 + FMA).
bool small_linear_kernel_available();
// The instruction set the kernel uses here: "avx512", "avx2" or "none".
const char* small_linear_kernel_isa();

// How a model stores and multiplies its decode matrices (a load option of both T3 models).
struct LinearLoadOptions {
  // Storage type of the backbone and speech-head matrices. kBFloat16 halves the bytes a decode
  // step streams, kChar (int8 weight-only, one fp32 scale per output row) quarters them
  // (arithmetic stays fp32; weights are rounded once at load). Parity needs kFloat.
  at::ScalarType matmul_dtype = at::kFloat;
  SmallLinearPath small_linear_path = SmallLinearPath::kKernel;
};

// A decode matrix in its storage form. at::kChar as a storage dtype means int8 weight-only
// quantisation: symmetric, one fp32 scale per output row (scale = max|w_row| / 127, q =
// round(w / scale)), so row n of the matrix is weight[n] * scale[n].
struct LinearWeight {
  at::Tensor weight;  // [N, K] contiguous float32, bfloat16 or int8
  at::Tensor scale;   // [N] float32 for int8 weights; undefined otherwise
  SmallLinearPath path = SmallLinearPath::kKernel;

  // Bytes a product streams: weights plus scales.
  int64_t bytes() const;
  // The matrix the kernel multiplies with, [N, K] float32.
  at::Tensor dequantized() const;
};

// w [N, K] (any float dtype) -> a private contiguous copy stored as `dtype`: at::kFloat,
// at::kBFloat16 (round to nearest even) or at::kChar (per-row int8, see LinearWeight). Throws
// Error(kInvalidInput) for any other dtype.
LinearWeight make_linear_weight(const at::Tensor& w, at::ScalarType dtype,
                                SmallLinearPath path = SmallLinearPath::kKernel);
// The same with a model's load options.
inline LinearWeight make_linear_weight(const at::Tensor& w, const LinearLoadOptions& options) {
  return make_linear_weight(w, options.matmul_dtype, options.small_linear_path);
}

// x [..., K] float32 times w (any storage) -> [..., N] float32, plus bias [N] if defined
// (y = x (weight * scale)^T + bias, accumulated in fp32).
at::Tensor small_linear(const at::Tensor& x, const LinearWeight& w, const at::Tensor& bias = {});

}  // namespace chatterbox
