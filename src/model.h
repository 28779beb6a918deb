// The loaded model: everything read from one model directory for one device. Internal to the
// engine (it includes torch headers); the engine, the tools and the benchmarks share it.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/TensorOptions.h>

#include <memory>
#include <string>

#include "engine.h"
#include "io/model_dir.h"
#include "s3gen/s3gen.h"
#include "t3/t3.h"
#include "text/tokenizer.h"
#include "voice/conditioning.h"

namespace chatterbox {

// Immutable after load_model() and shared by every utterance and every element using the same
// directory and device.
struct LoadedModel {
  ModelFiles files;
  c10::Device device = c10::Device(c10::kCPU);
  c10::TensorOptions options;
  TextTokenizer tokenizer;
  std::shared_ptr<const T3Model> t3;
  std::shared_ptr<const S3GenModel> s3gen;  // flow + HiFT
  VoiceConditioning builtin_voice;  // conds.pt
};

// auto | cpu | cuda | cuda:N -> a usable device. Throws Error(kDevice) or Error(kInvalidInput).
c10::Device parse_device(const std::string& name);

// Loads every part of the model in config.model_dir (or the search path) onto config.device.
// Throws Error naming the file and what is wrong.
std::shared_ptr<const LoadedModel> load_model(const EngineConfig& config);

// Rethrows the exception being handled as a chatterbox::Error (libtorch's c10::Error and other
// std::exceptions become kInternal with `context`). Call only inside a catch block.
[[noreturn]] void rethrow_as_engine_error(const std::string& context);

}  // namespace chatterbox
