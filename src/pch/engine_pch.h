// (included with -include by meson; no include guard needed)
// Precompiled header for the engine: ATen (the tensor ops) is the one heavy include that
// almost every engine file needs. Never include <torch/torch.h> in the engine; pure GStreamer files
// do not use this.
#include <ATen/ATen.h>
