// Fuzz target: the conds.pt reader (a torch.save zip holding a pickle, or a legacy pickle).
// Input = a whole file, written to a temporary file and loaded. The only acceptable failure is
// chatterbox::Error (the reader turns libtorch's exceptions into one naming the file); a
// loaded result must have the schema's shapes.
#include <ATen/ATen.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "common/error.h"
#include "io/conds.h"

namespace {

std::string temp_path() {
  static const std::string path = "/tmp/chatterbox-fuzz-conds-" + std::to_string(getpid()) + ".pt";
  return path;
}

}  // namespace

// The tiny model's conds.pt (both formats' seeds come from the committed corpus too).
std::vector<std::string> fuzz_seeds() {
  std::ifstream in(std::string(TINY_MODEL_DIR) + "/conds.pt", std::ios::binary);
  return {std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>())};
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  {
    std::ofstream out(temp_path(), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    chatterbox::VoiceConditioning c =
        chatterbox::load_conds(temp_path(), at::TensorOptions(at::kFloat));
    if (c.speaker_emb.dim() != 2 || c.cond_prompt_speech_tokens.dim() != 2 ||
        c.prompt_token.dim() != 2 || c.prompt_feat.dim() != 3 || c.embedding.dim() != 2)
      std::abort();
  } catch (const chatterbox::Error&) {
  }
  std::remove(temp_path().c_str());
  return 0;
}
