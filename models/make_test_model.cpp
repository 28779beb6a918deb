// chatterbox-make-test-model --variant english|turbo|nano|multilingual --size tiny|full --seed N
// --out DIR Writes a complete random-weight model directory (see test_model.h and
// models/README.md).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include "common/error.h"
#include "test_model.h"

namespace {

int usage() {
  std::fprintf(
      stderr,
      "usage: chatterbox-make-test-model [--variant english|turbo|nano|multilingual] [--size "
      "tiny|full]\n"
      "                                  [--seed N]\n"
      "                                  --out DIR\n"
      "  Writes a model directory with random weights:\n"
      "    english  t3_cfg/s3gen/ve .safetensors, tokenizer.json, conds.pt\n"
      "    turbo    t3_turbo_v1/s3gen_meanflow/ve .safetensors, conds.pt, GPT-2 tokenizer files\n"
      "             (vocab.json, merges.txt, added_tokens.json, special_tokens_map.json,\n"
      "             tokenizer_config.json)\n"
      "    nano     as turbo with t3_nano_v1.safetensors (GPT-2-small T3)\n"
      "    multilingual  t3_mtl23ls_v2/s3gen/ve .safetensors, "
      "grapheme_mtl_merged_expanded_v1.json\n"
      "             (a tiny tokenizer of that kind), Cangjie5_TC.json (17 glyphs), conds.pt\n"
      "  plus, for tiny, a .json of hyper-parameters beside each weight file.\n"
      "  Default: --variant english --size tiny --seed 1.\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using chatterbox::ModelVariant;
  using chatterbox::testmodel::Size;
  ModelVariant variant = ModelVariant::kEnglish;
  Size size = Size::kTiny;
  uint64_t seed = 1;
  std::string out;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") return usage(), 0;
    if (i + 1 >= argc) return usage();
    const std::string v = argv[++i];
    if (a == "--variant" &&
        (v == "english" || v == "turbo" || v == "nano" || v == "multilingual")) {
      variant = v == "english" ? ModelVariant::kEnglish
                : v == "turbo" ? ModelVariant::kTurbo
                : v == "nano"  ? ModelVariant::kNano
                               : ModelVariant::kMultilingual;
    } else if (a == "--size" && (v == "tiny" || v == "full")) {
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
    chatterbox::testmodel::write_test_model(out, size, seed, variant);
  } catch (const chatterbox::Error& e) {
    std::fprintf(stderr, "chatterbox-make-test-model: %s error: %s\n",
                 chatterbox::error_kind_name(e.kind()), e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "chatterbox-make-test-model: %s\n", e.what());
    return 1;
  }
  return 0;
}
