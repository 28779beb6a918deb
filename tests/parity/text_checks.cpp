// Parity checks for the text front end: punc_norm (chatterbox/tts.py) on the oracle's
// fixtures/text_norm.json pairs. There is no tokenizer fixture (the real tokenizer.json is not
// available to the oracle); the tokenizer is checked against HF `tokenizers` in tests/unit.
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "parity.h"
#include "text/punc_norm.h"

PARITY_CHECK(text_norm, "fixtures/text_norm.json") {
  const std::string path = ctx.dir() + "/fixtures/text_norm.json";
  std::ifstream in(path);
  if (!in) {
    ctx.fail_check("text_norm", path + ": cannot open");
    return;
  }
  nlohmann::json cases;
  try {
    cases = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    ctx.fail_check("text_norm", path + ": " + e.what());
    return;
  }
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string input = cases[i].value("input", "");
    const std::string expect = cases[i].value("output", "");
    std::string got;
    try {
      got = chatterbox::punc_norm(input);
    } catch (const chatterbox::Error& e) {
      got = std::string("<error: ") + e.what() + ">";
    }
    const bool pass = got == expect;
    // error = 1 for a mismatch: text either matches exactly or not.
    ctx.report("text_norm:" + std::to_string(i) + " " + nlohmann::json(input).dump(),
               pass ? 0.0 : 1.0, 0.0, pass);
  }
}
