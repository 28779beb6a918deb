#include "model.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "common/device_name.h"
#include "common/error.h"
#include "io/conds.h"
#include "io/safetensors.h"
#include "io/weights.h"

namespace chatterbox {

c10::Device parse_device(const std::string& name) {
  if (!name.empty() && !is_device_name(name))
    throw Error(ErrorKind::kInvalidInput, "unknown device '" + name + "' (expected auto, cpu, cuda or cuda:N)");
  if (name.empty() || name == "auto") return at::hasCUDA() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  if (name == "cpu") return c10::Device(c10::kCPU);
  // "cuda" or "cuda:N" (the grammar was checked above).
  {
    if (!at::hasCUDA())
      throw Error(ErrorKind::kDevice, "device '" + name + "' requested, but this libtorch has no CUDA support "
                                      "or no GPU is present (use device=cpu or auto)");
    try {
      c10::Device device(name);
      at::empty({1}, at::TensorOptions().device(device));  // fails for an index out of range
      return device;
    } catch (const c10::Error& e) {
      throw Error(ErrorKind::kDevice, "device '" + name + "' is not usable: " + e.what_without_backtrace());
    }
  }
}

// Rethrows libtorch errors (c10::Error, std::bad_alloc, ...) as typed engine errors.
void rethrow_as_engine_error(const std::string& context) {
  try {
    throw;
  } catch (const Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Error(ErrorKind::kInternal, context + ": " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Error(ErrorKind::kInternal, context + ": " + e.what());
  }
}

std::shared_ptr<const LoadedModel> load_model(const EngineConfig& config) {
  c10::InferenceMode inference_mode;
  auto model = std::make_shared<LoadedModel>();
  model->files = locate_model(config.model_dir);
  model->device = parse_device(config.device);
  model->options = at::TensorOptions().dtype(at::kFloat).device(model->device);
  try {
    model->tokenizer = TextTokenizer::from_file(model->files.tokenizer);
    model->t3 = T3Model::load(std::make_shared<const SafetensorsFile>(model->files.t3),
                              T3Config::from_json(model->files.t3_config), model->options);

    model->s3gen = S3GenModel::load(std::make_shared<const SafetensorsFile>(model->files.s3gen),
                                    model->files.s3gen_config, model->options);
    model->builtin_voice = load_conds(model->files.conds, model->options);
  } catch (...) {
    rethrow_as_engine_error("loading the model in " + model->files.dir);
  }
  if (model->tokenizer.vocab_size() > model->t3->config().text_tokens_dict_size)
    throw Error(ErrorKind::kModelFile, model->files.tokenizer + ": vocabulary of " +
                                           std::to_string(model->tokenizer.vocab_size()) +
                                           " ids does not fit T3's text embedding");
  return model;
}


}  // namespace chatterbox
