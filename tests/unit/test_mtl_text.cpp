// Multilingual text front end beyond the oracle's mtl_text.json: Python lower-casing and NFKD
// against Python itself (data/mtl_unicode_golden.json), language codes and their errors, invalid
// UTF-8, empty text, the Cangjie table rules and file errors, the Korean and Japanese steps.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "text/japanese.h"
#include "text/mtl_tokenizer.h"
#include "text/punc_norm.h"
#include "text/unicode.h"
#include "unit_util.h"

using chatterbox::ErrorKind;
using chatterbox::MtlTokenizer;
using unit::expect_error;

namespace {

const std::string kTokenizerPath = std::string(ORACLE_MTL_DIR) + "/fixtures/mtl_tokenizer.json";
const std::string kCangjiePath =
    std::string(ORACLE_MTL_DIR) + "/fixtures/mtl_cangjie_synthetic.json";

const MtlTokenizer& tokenizer() {
  static const MtlTokenizer tok = MtlTokenizer::from_files(kTokenizerPath, kCangjiePath);
  return tok;
}

MtlTokenizer with_table(const std::string& cangjie_json) {
  return MtlTokenizer::from_json_text(unit::read_bytes(kTokenizerPath), cangjie_json, "test");
}

}  // namespace

TEST(MtlUnicode, LowerAndNfkdMatchPython) {
  const auto golden = nlohmann::json::parse(
      unit::read_bytes(std::string(UNIT_DATA_DIR) + "/mtl_unicode_golden.json"));
  ASSERT_GT(golden["cases"].size(), 400u);
  for (const auto& c : golden["cases"]) {
    const auto text = chatterbox::decode_utf8(c[0].get<std::string>());
    const auto lower = chatterbox::python_lower(text);
    EXPECT_EQ(chatterbox::encode_utf8(lower), c[1].get<std::string>()) << "lower of " << c[0];
    EXPECT_EQ(chatterbox::encode_utf8(chatterbox::nfkd(lower)), c[2].get<std::string>())
        << "NFKD of " << c[1];
    EXPECT_EQ(MtlTokenizer::after_lower_nfkd(c[0].get<std::string>()), c[2].get<std::string>());
  }
}

TEST(MtlLanguages, TableAndCodes) {
  const auto& langs = chatterbox::multilingual_languages();
  ASSERT_EQ(langs.size(), 23u);
  std::set<std::string> codes;
  for (const auto& l : langs) {
    codes.insert(l.code);
    EXPECT_TRUE(chatterbox::is_multilingual_language(l.code));
    EXPECT_NE(std::string(l.preprocessing_status), "");
  }
  EXPECT_EQ(codes.size(), 23u);
  EXPECT_TRUE(chatterbox::is_multilingual_language("FR"));
  EXPECT_TRUE(chatterbox::is_multilingual_language("Zh"));
  EXPECT_TRUE(chatterbox::is_multilingual_language("\xe2\x84\xaao"));  // KELVIN SIGN lowers to "k"
  EXPECT_EQ(chatterbox::multilingual_language_code("\xe2\x84\xaao"), "ko");
  for (const std::string bad : {"", "xx", "eng", "en-US", "e", " en", "\xff"})
    EXPECT_FALSE(chatterbox::is_multilingual_language(bad)) << bad;
  EXPECT_EQ(chatterbox::multilingual_language_code(""), "");
}

TEST(MtlTokenizer, UnsupportedLanguageListsTheSupportedOnes) {
  for (const std::string bad : {"xx", "en-US", "jp", "\xff"}) {
    expect_error([&] { tokenizer().encode("Hello.", bad); }, ErrorKind::kInvalidInput,
                 {"unsupported language", "ar, da, de, el, en,", ", zh"});
    expect_error([&] { tokenizer().after_language_step("hello.", bad); }, ErrorKind::kInvalidInput,
                 {"unsupported language"});
  }
  expect_error([&] { tokenizer().encode("Hello.", "xx"); }, ErrorKind::kInvalidInput, {"'xx'"});
}

TEST(MtlTokenizer, CaseOfTheCodeDoesNotMatter) {
  EXPECT_EQ(tokenizer().encode("Bonjour.", "FR"), tokenizer().encode("Bonjour.", "fr"));
  EXPECT_EQ(MtlTokenizer::tokenizer_input("a b", "EN"), "[en]a[SPACE]b");
  EXPECT_EQ(MtlTokenizer::tokenizer_input("a b", ""), "a[SPACE]b");
}

TEST(MtlTokenizer, InvalidUtf8IsAnError) {
  for (const std::string& bad : {std::string("\xff"), std::string("a\xc3"),
                                 std::string("\xed\xa0\x80"), std::string("ok\x80")}) {
    expect_error([&] { chatterbox::punc_norm_multilingual(bad); }, ErrorKind::kInvalidInput,
                 {"UTF-8"});
    expect_error([&] { MtlTokenizer::after_lower_nfkd(bad); }, ErrorKind::kInvalidInput, {"UTF-8"});
    for (const char* lang : {"", "en", "zh", "ja", "ko"})
      expect_error([&] { tokenizer().encode(bad, lang); }, ErrorKind::kInvalidInput, {"UTF-8"});
  }
}

TEST(MtlTokenizer, EmptyText) {
  EXPECT_EQ(chatterbox::punc_norm_multilingual(""), "You need to add some text for me to talk.");
  EXPECT_TRUE(tokenizer().encode("", "").empty());
  for (const auto& l : chatterbox::multilingual_languages()) {
    const auto ids = tokenizer().encode("", l.code);
    ASSERT_EQ(ids.size(), 1u) << l.code;  // only the language token
    EXPECT_EQ(tokenizer().decode(ids), "[" + std::string(l.code) + "]");
  }
  const auto t3 = tokenizer().encode_for_t3("", "");
  EXPECT_EQ(t3, (std::vector<int64_t>{tokenizer().start_id(), tokenizer().stop_id()}));
}

TEST(MtlTokenizer, CjkEndersKeepTheSentenceOpen) {
  using chatterbox::punc_norm_multilingual;
  for (const std::string ender :
       {"\xe3\x80\x81", "\xef\xbc\x8c", "\xe3\x80\x82", "\xef\xbc\x9f", "\xef\xbc\x81"})
    EXPECT_EQ(punc_norm_multilingual("x" + ender), "X" + ender);
  EXPECT_EQ(punc_norm_multilingual("x\xef\xbc\x9a"),
            "X\xef\xbc\x9a.");  // full-width colon is not one
  EXPECT_EQ(chatterbox::punc_norm("x\xe3\x80\x82"), "X\xe3\x80\x82.");  // the English one adds "."
}

TEST(MtlTokenizer, CangjieIndexSuffixAndLookupRules) {
  // 11 glyphs share code "a": the 11th gets index 10 -> two digit tokens. "X" is in the table
  // but is not of category Lo, so it stays. A later entry for a glyph replaces its code, and the
  // index comes from the glyph's first position under that code.
  std::string table = "[";
  const char* glyphs[] = {"日", "曰", "月", "明", "林", "人", "大", "的", "中", "文", "天"};
  for (const char* g : glyphs) table += std::string("\"") + g + "\\ta\",";
  table += "\"X\\tb\", \"今\\tzz\", \"今\\tq\\textra\", \"气\\tq\"]";
  const MtlTokenizer tok = with_table(table);
  EXPECT_EQ(tok.cangjie_size(), 14u);
  EXPECT_EQ(tok.after_language_step("日曰天", "zh"),
            "[cj_a][cj_.][cj_a][cj_1][cj_.][cj_a][cj_1][cj_0][cj_.]");
  EXPECT_EQ(tok.after_language_step("x今气", "zh"), "x[cj_q][cj_.][cj_q][cj_1][cj_.]");
  // Other languages never use the table.
  EXPECT_EQ(tok.after_language_step("日", "ja").find("[cj_"), std::string::npos);
  EXPECT_EQ(tok.after_language_step("日", ""), "日");
}

TEST(MtlTokenizer, FileErrorsNameTheFile) {
  unit::TempDir dir;
  expect_error([&] { MtlTokenizer::from_files(dir.file("missing.json"), ""); },
               ErrorKind::kModelFile, {"missing.json", "tokenizer"});
  expect_error([&] { MtlTokenizer::from_files(kTokenizerPath, dir.file("Cangjie5_TC.json")); },
               ErrorKind::kModelFile, {"Cangjie5_TC.json", "Cangjie"});
  unit::write_bytes(dir.file("bad_tok.json"), "{\"model\": 3");
  expect_error([&] { MtlTokenizer::from_files(dir.file("bad_tok.json"), kCangjiePath); },
               ErrorKind::kModelFile, {"bad_tok.json", "JSON"});
  const std::pair<std::string, std::string> bad_tables[] = {
      {"[\"日\\ta\"", "not valid JSON"},
      {"{\"日\": \"a\"}", "list"},
      {"[\"日\\ta\", 3]", "not a string"},
      {"[\"日a\"]", "no tab"},
  };
  for (const auto& [text, needle] : bad_tables) {
    unit::write_bytes(dir.file("cj.json"), text);
    expect_error([&] { MtlTokenizer::from_files(kTokenizerPath, dir.file("cj.json")); },
                 ErrorKind::kModelFile, {"cj.json", needle});
  }
}

TEST(MtlTokenizer, KoreanStepStripsAndDecomposes) {
  // NFKD already yields conjoining jamo; the step strips Python whitespace (also created by NFKD
  // from compatibility spaces) and maps the 12 code points after the last syllable arithmetically.
  EXPECT_EQ(tokenizer().after_language_step(" \xe1\x84\x92\xe1\x85\xa1 ", "ko"),
            "\xe1\x84\x92\xe1\x85\xa1");
  EXPECT_EQ(tokenizer().after_language_step(" a b ", "en"), " a b ");
  EXPECT_EQ(tokenizer().after_language_step("\xed\x9e\xa4", "ko"),  // U+D7A4
            chatterbox::encode_utf8(std::u32string{0x1113, 0x1161}));
  EXPECT_EQ(tokenizer().encode("  한국어  ", "ko"), tokenizer().encode("한국어", "ko"));
}

TEST(MtlTokenizer, JapaneseReadings) {
  if (!chatterbox::japanese_reading_available())
    GTEST_SKIP() << "built without KAKASI or no dictionary";
  const auto step = [](const std::string& s) {
    return tokenizer().after_language_step(MtlTokenizer::after_lower_nfkd(s), "ja");
  };
  // Kanji chunks become hiragana (NFKD: the voiced mark is U+3099); katakana and ASCII stay.
  EXPECT_EQ(step("元気"), MtlTokenizer::after_lower_nfkd("げんき"));
  EXPECT_EQ(step("カタカナとABC"), MtlTokenizer::after_lower_nfkd("カタカナとabc"));
  // A kanji chunk whose reading starts with は or へ gets a space in front.
  EXPECT_EQ(step("箸を"), " はしを");
  EXPECT_EQ(step("私は"), "わたしは");
  // Text without kanji is untouched.
  EXPECT_EQ(step("ひらがな、カタカナ。"), MtlTokenizer::after_lower_nfkd("ひらがな、カタカナ。"));
}
