// chatterbox-make-test-model --size tiny|full --seed N --out DIR
// Writes a complete random-weight model directory (see test_model.h and models/README.md).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include "common/error.h"
#include "test_model.h"

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: chatterbox-make-test-model [--size tiny|full] [--seed N] --out DIR\n"
               "  Writes t3_cfg/s3gen/ve .safetensors, tokenizer.json, conds.pt (and, for tiny,\n"
               "  t3_cfg.json/s3gen.json/ve.json) with random weights. Default: --size tiny --seed 1.\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using chatterbox::testmodel::Size;
  Size size = Size::kTiny;
  uint64_t seed = 1;
  std::string out;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") return usage(), 0;
    if (i + 1 >= argc) return usage();
    const std::string v = argv[++i];
    if (a == "--size" && (v == "tiny" || v == "full")) {
      size = v == "tiny" ? Size::kTiny : Size::kFull;
    } else if (a == "--seed") {
      char* end = nullptr;
      seed = std::strtoull(v.c_str(), &end, 10);
      if (v.empty() || *end) return usage();
    } else if (a == "--out") {
      out = v;
    } else {
      return usage();
    }
  }
  if (out.empty()) return usage();
  try {
    chatterbox::testmodel::write_test_model(out, size, seed);
  } catch (const chatterbox::Error& e) {
    std::fprintf(stderr, "chatterbox-make-test-model: %s error: %s\n", chatterbox::error_kind_name(e.kind()), e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "chatterbox-make-test-model: %s\n", e.what());
    return 1;
  }
  return 0;
}
