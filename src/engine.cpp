// Engine: placeholder until the model parts land (this file is being written next).
#include "engine.h"

#include "common/error.h"

namespace chatterbox {

std::shared_ptr<Engine> Engine::load(const EngineConfig& config) {
  throw Error(ErrorKind::kInternal, "engine not assembled yet (model dir '" + config.model_dir + "')");
}

std::vector<std::string> Engine::model_search_path() { return {}; }

}  // namespace chatterbox
