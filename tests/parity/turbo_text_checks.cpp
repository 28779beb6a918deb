// Parity checks for the Turbo text front end on the Turbo oracle's fixtures/turbo_text.json: for
// every case Turbo's punc_norm (tts_turbo.py), the ids of the raw and of the normalised text from
// the GPT-2 tokenizer read from fixtures/turbo_tokenizer/ (AutoTokenizer with truncation=True),
// the tokens of the normalised ids and their decode. One line per field with the number of cases
// that do not match exactly, and one failing line per mismatching case.
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "parity.h"
#include "text/gpt2_tokenizer.h"
#include "text/punc_norm.h"

PARITY_CHECK(turbo_text, "fixtures/turbo_text.json") {
  const std::string path = ctx.dir() + "/fixtures/turbo_text.json";
  std::ifstream in(path);
  if (!in) {
    ctx.fail_check("turbo_text", path + ": cannot open");
    return;
  }
  nlohmann::json fixture;
  try {
    fixture = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    ctx.fail_check("turbo_text", path + ": " + e.what());
    return;
  }
  std::unique_ptr<chatterbox::Gpt2Tokenizer> tok;
  try {
    tok = std::make_unique<chatterbox::Gpt2Tokenizer>(
        chatterbox::Gpt2Tokenizer::from_directory(ctx.dir() + "/fixtures/turbo_tokenizer"));
  } catch (const chatterbox::Error& e) {
    ctx.fail_check("turbo_text", e.what());
    return;
  }
  const bool header_ok = tok->vocab_size() == fixture.value("len_tokenizer", -1) &&
                         tok->model_max_length() == fixture.value("model_max_length", -1);
  ctx.report("turbo_text:len_tokenizer+model_max_length", header_ok ? 0.0 : 1.0, 0.0, header_ok);

  const auto& cases = fixture["cases"];
  const char* const kFields[] = {"punc_norm", "ids_of_input", "ids_of_punc_norm",
                                 "tokens_of_punc_norm", "decode_of_punc_norm_ids"};
  int mismatches[5] = {0, 0, 0, 0, 0};
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    const std::string input = c.value("input", "");
    bool field_ok[5] = {false, false, false, false, false};
    try {
      field_ok[0] = chatterbox::punc_norm_turbo(input) == c.at("punc_norm").get<std::string>();
      field_ok[1] = tok->encode(input) == c.at("ids_of_input").get<std::vector<int64_t>>();
      const auto expect_ids = c.at("ids_of_punc_norm").get<std::vector<int64_t>>();
      field_ok[2] = tok->encode(c.at("punc_norm").get<std::string>()) == expect_ids;
      std::vector<std::string> tokens;
      for (int64_t id : expect_ids) tokens.push_back(tok->token(id));
      field_ok[3] = tokens == c.at("tokens_of_punc_norm").get<std::vector<std::string>>();
      field_ok[4] = tok->decode(expect_ids) == c.at("decode_of_punc_norm_ids").get<std::string>();
    } catch (const std::exception& e) {
      ctx.fail_check("turbo_text:" + std::to_string(i), e.what());
    }
    for (int f = 0; f < 5; ++f) {
      if (field_ok[f]) continue;
      ++mismatches[f];
      ctx.report(
          "turbo_text:" + std::to_string(i) + ":" + kFields[f] + " " + nlohmann::json(input).dump(),
          1.0, 0.0, false);
    }
  }
  // error = number of cases whose field does not match exactly.
  for (int f = 0; f < 5; ++f)
    ctx.report(std::string("turbo_text:") + kFields[f] + " " + std::to_string(mismatches[f]) + "/" +
                   std::to_string(cases.size()) + " cases differ",
               mismatches[f], 0.0, mismatches[f] == 0 && !cases.empty());
}
