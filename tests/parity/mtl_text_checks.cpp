// Parity checks for the multilingual text front end on the multilingual oracle's
// fixtures/mtl_text.json: the punc_norm pairs (mtl_tts.py punc_norm), the language table, and for
// every tokenizer case each recorded step of MTLTokenizer.encode, each fed with the fixture's
// previous step (language code, after_lower_nfkd, after_language_step, tokenizer_input), the ids
// of the whole chain from the recorded punc_norm, the tokens of the recorded ids and their
// decode. The tokenizer is fixtures/mtl_tokenizer.json with the synthetic Cangjie table
// (fixtures/mtl_cangjie_synthetic.json) or none, as each case records. One line per field with
// the number of cases that differ, and one failing line per differing case.
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "parity.h"
#include "text/mtl_tokenizer.h"
#include "text/punc_norm.h"

namespace {

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw chatterbox::Error(chatterbox::ErrorKind::kIo, path + ": cannot open");
  return nlohmann::json::parse(in);
}

}  // namespace

PARITY_CHECK(mtl_text, "fixtures/mtl_text.json") {
  nlohmann::json fixture;
  std::unique_ptr<chatterbox::MtlTokenizer> with_table, without_table;
  try {
    fixture = read_json(ctx.dir() + "/fixtures/mtl_text.json");
    const std::string tokenizer = ctx.dir() + "/fixtures/mtl_tokenizer.json";
    with_table = std::make_unique<chatterbox::MtlTokenizer>(chatterbox::MtlTokenizer::from_files(
        tokenizer, ctx.dir() + "/fixtures/mtl_cangjie_synthetic.json"));
    without_table = std::make_unique<chatterbox::MtlTokenizer>(
        chatterbox::MtlTokenizer::from_files(tokenizer, ""));
  } catch (const std::exception& e) {
    ctx.fail_check("mtl_text", e.what());
    return;
  }

  // The table the synthetic Cangjie file holds is also recorded inside mtl_text.json.
  const bool table_ok = fixture.value("cangjie_synthetic_table", nlohmann::json::array()).size() ==
                            with_table->cangjie_size() &&
                        with_table->cangjie_size() > 0;
  ctx.report("mtl_text:cangjie_synthetic_table size", table_ok ? 0.0 : 1.0, 0.0, table_ok);

  // supported_languages: the same codes and names in the same order.
  {
    const auto& expected = fixture.at("supported_languages");
    const auto& ours = chatterbox::multilingual_languages();
    bool ok = expected.size() == ours.size();
    size_t i = 0;
    for (auto it = expected.begin(); ok && it != expected.end(); ++it, ++i)
      ok = it.key() == ours[i].code && it.value() == ours[i].name &&
           chatterbox::is_multilingual_language(it.key());
    ctx.report("mtl_text:supported_languages " + std::to_string(ours.size()) + " languages",
               ok ? 0.0 : 1.0, 0.0, ok);
  }

  // punc_norm pairs.
  {
    const auto& pairs = fixture.at("punc_norm");
    int differ = 0;
    for (const auto& p : pairs) {
      const std::string input = p.at("input").get<std::string>();
      std::string got;
      try {
        got = chatterbox::punc_norm_multilingual(input);
      } catch (const std::exception& e) {
        got = std::string("error: ") + e.what();
      }
      if (got == p.at("output").get<std::string>()) continue;
      ++differ;
      ctx.report("mtl_text:punc_norm " + nlohmann::json(input).dump() + " -> " +
                     nlohmann::json(got).dump(),
                 1.0, 0.0, false);
    }
    ctx.report("mtl_text:punc_norm pairs " + std::to_string(differ) + "/" +
                   std::to_string(pairs.size()) + " differ",
               differ, 0.0, differ == 0 && !pairs.empty());
  }

  const auto& cases = fixture.at("cases");
  const char* const kFields[] = {
      "punc_norm",       "language_id", "after_lower_nfkd", "after_language_step",
      "tokenizer_input", "ids",         "tokens",           "decode"};
  constexpr int kNumFields = sizeof(kFields) / sizeof(kFields[0]);
  int mismatches[kNumFields] = {};
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    const std::string given =
        c.at("language_id_given").is_null() ? "" : c.at("language_id_given").get<std::string>();
    const std::string recorded_code =
        c.at("language_id").is_null() ? "" : c.at("language_id").get<std::string>();
    const std::string table = c.at("cangjie").get<std::string>();
    const auto& tok = table == "no_cangjie_table" ? *without_table : *with_table;
    const std::string input = c.at("input").get<std::string>();
    const std::string norm = c.at("punc_norm").get<std::string>();
    const auto expect_ids = c.at("ids").get<std::vector<int64_t>>();
    bool ok[kNumFields] = {};
    try {
      ok[0] = chatterbox::punc_norm_multilingual(input) == norm;
      ok[1] = chatterbox::multilingual_language_code(given) == recorded_code;
      ok[2] = chatterbox::MtlTokenizer::after_lower_nfkd(norm) ==
              c.at("after_lower_nfkd").get<std::string>();
      ok[3] = tok.after_language_step(c.at("after_lower_nfkd").get<std::string>(), given) ==
              c.at("after_language_step").get<std::string>();
      ok[4] = chatterbox::MtlTokenizer::tokenizer_input(
                  c.at("after_language_step").get<std::string>(), given) ==
              c.at("tokenizer_input").get<std::string>();
      ok[5] = tok.encode(norm, given) == expect_ids;
      std::vector<std::string> tokens;
      for (int64_t id : expect_ids) tokens.push_back(tok.text_tokenizer().token(id));
      ok[6] = tokens == c.at("tokens").get<std::vector<std::string>>();
      ok[7] = tok.decode(expect_ids) == c.at("decode").get<std::string>();
    } catch (const std::exception& e) {
      ctx.fail_check("mtl_text:" + std::to_string(i), e.what());
    }
    for (int f = 0; f < kNumFields; ++f) {
      if (ok[f]) continue;
      ++mismatches[f];
      ctx.report("mtl_text:" + std::to_string(i) + ":" + kFields[f] + " [" + given + "/" + table +
                     "] " + nlohmann::json(input).dump(),
                 1.0, 0.0, false);
    }
  }
  // error = number of cases whose field does not match exactly.
  for (int f = 0; f < kNumFields; ++f)
    ctx.report(std::string("mtl_text:") + kFields[f] + " " + std::to_string(mismatches[f]) + "/" +
                   std::to_string(cases.size()) + " cases differ",
               mismatches[f], 0.0, mismatches[f] == 0 && !cases.empty());
}
