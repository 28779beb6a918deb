// Taking named weights out of a safetensors file into model structs, with one report of
// everything that is wrong.
//
// Model blocks are plain structs of at::Tensor (whisper.cpp style): each block has a
// `load(WeightReader&)` that takes its tensors by their checkpoint names, relative to the
// reader's prefix. A missing or mis-shaped tensor does not throw at once: it is recorded, a
// zero tensor of the expected shape stands in, and `finish()` throws a single Error listing
// every problem (file, full tensor name, expected and actual shape).
#pragma once

#include <ATen/Tensor.h>
#include <c10/core/TensorOptions.h>

#include <memory>
#include <string>
#include <vector>

#include "io/safetensors.h"

namespace chatterbox {

class WeightReader {
 public:
  // `options` sets the working dtype and device of floating-point weights; integer tensors
  // keep their dtype.
  WeightReader(std::shared_ptr<const SafetensorsFile> file, c10::TensorOptions options);

  // A reader for `prefix` + names (e.g. scoped("tfmr.layers.3.")). Shares the problem list.
  WeightReader scoped(const std::string& prefix) const;
  const std::string& prefix() const { return prefix_; }
  const c10::TensorOptions& options() const { return options_; }

  bool has(const std::string& name) const;

  // The tensor `name`, checked against `shape` (-1 = any size in that dim; empty = any shape).
  at::Tensor take(const std::string& name, const std::vector<int64_t>& shape);
  // Optional tensor: undefined if absent (shape still checked if present).
  at::Tensor take_optional(const std::string& name, const std::vector<int64_t>& shape);
  // A conv/linear weight that may be weight-normalised: `name` + ".weight", or the pair
  // `name` + ".parametrizations.weight.original0/1" (g, v) folded to g * v / ||v|| (norm over
  // all dims but 0). `shape` is the shape of the effective weight.
  at::Tensor take_weight(const std::string& name, const std::vector<int64_t>& shape);

  // Throws Error(kModelFile) listing every missing or mis-shaped tensor seen so far.
  void finish() const;
  std::vector<std::string> problems() const;

 private:
  struct Shared;
  WeightReader(std::shared_ptr<Shared> shared, std::string prefix);
  at::Tensor convert(const at::Tensor& t) const;
  bool check_shape(const std::string& full_name, const at::Tensor& t,
                   const std::vector<int64_t>& shape);

  std::shared_ptr<Shared> shared_;
  std::string prefix_;
  c10::TensorOptions options_;
};

std::string shape_string(const std::vector<int64_t>& shape);

}  // namespace chatterbox
