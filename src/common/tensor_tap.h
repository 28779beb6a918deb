// TensorTap: the one way the engine exposes intermediates (to the parity tools), after
// llama.cpp's eval callback. A component that can report takes `const TensorTap& tap = {}` and
// calls tap(name, index, value) for each intermediate; an empty tap costs one test per call site
// (names are built only after `if (tap)`).
//
// Names are the oracle fixtures' keys where one exists (e.g. "encoder_out", "cfm.mu"), so a
// check compares what it recorded under a name with the fixture tensor of the same name. The
// index is the layer or step where there are several (-1 otherwise); a fixture's per-step keys
// "cfm.step{k}.x_in" are reported as "cfm.step.x_in" with index k. The value may be a buffer the
// caller keeps updating: a tap that keeps it must copy it.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>

namespace chatterbox {

using TensorTap =
    std::function<void(const std::string& name, int64_t index, const at::Tensor& value)>;

}  // namespace chatterbox
