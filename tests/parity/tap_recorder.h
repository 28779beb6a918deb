// Records what a TensorTap reports (common/tensor_tap.h): the values the parity checks compare
// with the fixtures' intermediates, by tap name and index (layer or step; -1 for none).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/tensor_tap.h"

namespace parity {

struct TapRecorder {
  std::map<std::string, std::map<int64_t, at::Tensor>> values;  // name -> index -> CPU copy

  chatterbox::TensorTap tap() {
    return [this](const std::string& name, int64_t index, const at::Tensor& t) {
      values[name][index] = t.detach().to(at::kCPU).clone();
    };
  }
  // Every index of `name`, in index order, stacked on a new first dimension.
  at::Tensor stacked(const std::string& name) const {
    std::vector<at::Tensor> parts;
    for (const auto& [i, t] : values.at(name)) parts.push_back(t);
    return at::stack(parts, 0);
  }
};

}  // namespace parity
