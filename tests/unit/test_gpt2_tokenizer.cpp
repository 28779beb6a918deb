// Turbo text front end: the GPT-2 byte-level BPE tokenizer against ids and decodes from the real
// HF `tokenizers` library (data/gpt2_tokenizer_golden.json, made by gen_gpt2_tokenizer_golden.py
// from data/turbo_tokenizer/, a copy of the Turbo oracle's tiny tokenizer directory), the reader's
// errors, truncation, and Turbo's punc_norm quirks.
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>

#include "text/gpt2_tokenizer.h"
#include "text/punc_norm.h"
#include "unit_util.h"

using chatterbox::ErrorKind;
using chatterbox::Gpt2Tokenizer;
using chatterbox::Gpt2TokenizerFiles;
using unit::expect_error;

namespace {

const std::string kTokenizerDir = std::string(UNIT_DATA_DIR) + "/turbo_tokenizer";

const Gpt2Tokenizer& turbo_tokenizer() {
  static const Gpt2Tokenizer tok = Gpt2Tokenizer::from_directory(kTokenizerDir);
  return tok;
}

Gpt2TokenizerFiles turbo_files() {
  Gpt2TokenizerFiles f;
  f.vocab_json = unit::read_bytes(kTokenizerDir + "/vocab.json");
  f.merges_txt = unit::read_bytes(kTokenizerDir + "/merges.txt");
  f.added_tokens_json = unit::read_bytes(kTokenizerDir + "/added_tokens.json");
  f.special_tokens_map_json = unit::read_bytes(kTokenizerDir + "/special_tokens_map.json");
  f.tokenizer_config_json = unit::read_bytes(kTokenizerDir + "/tokenizer_config.json");
  return f;
}

const nlohmann::json& golden() {
  static const nlohmann::json j = nlohmann::json::parse(
      unit::read_bytes(std::string(UNIT_DATA_DIR) + "/gpt2_tokenizer_golden.json"));
  return j;
}

}  // namespace

TEST(Gpt2Tokenizer, DirectoryFields) {
  const auto& tok = turbo_tokenizer();
  EXPECT_EQ(tok.vocab_size(), 1009);  // 999 BPE ids + <|endoftext|> + 9 tags
  EXPECT_EQ(tok.eos_id(), 999);
  EXPECT_EQ(tok.model_max_length(), 1024);
  EXPECT_EQ(tok.token(999), "<|endoftext|>");
  EXPECT_EQ(tok.token(1000), "[clear throat]");
  EXPECT_EQ(tok.token(1009), "");
  EXPECT_EQ(tok.encode("[clear throat]"), std::vector<int64_t>{1000});
  EXPECT_EQ(tok.encode("<|endoftext|>"), std::vector<int64_t>{999});
}

TEST(Gpt2Tokenizer, MatchesHuggingFaceTokenizers) {
  const auto& cases = golden()["encode"];
  ASSERT_GT(cases.size(), 400u);
  int mismatches = 0;
  for (const auto& c : cases) {
    const auto text = c["text"].get<std::string>();
    const auto expect = c["ids"].get<std::vector<int64_t>>();
    const auto got = turbo_tokenizer().encode_untruncated(text);
    EXPECT_EQ(got, expect) << "text: " << c["text"];
    mismatches += got != expect;
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(Gpt2Tokenizer, DecodeMatchesHuggingFaceTokenizers) {
  const auto& cases = golden()["decode"];
  ASSERT_GT(cases.size(), 100u);
  for (const auto& c : cases) {
    const auto ids = c["ids"].get<std::vector<int64_t>>();
    EXPECT_EQ(turbo_tokenizer().decode(ids), c["text"].get<std::string>()) << "ids: " << c["ids"];
    EXPECT_EQ(turbo_tokenizer().decode(ids, true), c["text_skip_special"].get<std::string>())
        << "ids: " << c["ids"];
  }
  // Ids outside the vocabulary are skipped, as HF does.
  EXPECT_EQ(turbo_tokenizer().decode({-1, 5000, 999}), "<|endoftext|>");
}

TEST(Gpt2Tokenizer, TruncatesAtModelMaxLength) {
  const auto& tok = turbo_tokenizer();
  bool saw_long = false;
  for (const auto& c : golden()["encode"]) {
    auto expect = c["ids"].get<std::vector<int64_t>>();
    if (expect.size() <= 1024) continue;
    saw_long = true;
    expect.resize(1024);
    EXPECT_EQ(tok.encode(c["text"].get<std::string>()), expect);
  }
  EXPECT_TRUE(saw_long);

  // truncation_side "left" keeps the end; no model_max_length means no limit.
  auto files = turbo_files();
  auto config = nlohmann::json::parse(files.tokenizer_config_json);
  config["model_max_length"] = 3;
  config["truncation_side"] = "left";
  files.tokenizer_config_json = config.dump();
  const auto left = Gpt2Tokenizer::from_texts(files, "left");
  const auto full = tok.encode("[sigh] one two three four");
  ASSERT_GT(full.size(), 3u);
  EXPECT_EQ(left.encode("[sigh] one two three four"),
            std::vector<int64_t>(full.end() - 3, full.end()));
  config.erase("model_max_length");
  config.erase("truncation_side");
  files.tokenizer_config_json = config.dump();
  EXPECT_EQ(Gpt2Tokenizer::from_texts(files, "nolimit").model_max_length(),
            Gpt2Tokenizer::kNoLimit);
  config["model_max_length"] = 1e30;  // transformers' "no limit"
  files.tokenizer_config_json = config.dump();
  EXPECT_EQ(Gpt2Tokenizer::from_texts(files, "huge").model_max_length(), Gpt2Tokenizer::kNoLimit);
}

TEST(Gpt2Tokenizer, InvalidUtf8IsAnError) {
  for (const std::string& bad :
       {std::string("\xff"), std::string("a\xc3"), std::string("\xed\xa0\x80")})
    expect_error([&] { turbo_tokenizer().encode(bad); }, ErrorKind::kInvalidInput, {"UTF-8"});
}

TEST(Gpt2Tokenizer, FileErrors) {
  unit::TempDir dir;
  expect_error([&] { Gpt2Tokenizer::from_directory(dir.path()); }, ErrorKind::kModelFile,
               {"vocab.json"});
  unit::write_bytes(dir.file("vocab.json"), turbo_files().vocab_json);
  expect_error([&] { Gpt2Tokenizer::from_directory(dir.path()); }, ErrorKind::kModelFile,
               {"merges.txt"});
  unit::write_bytes(dir.file("merges.txt"), turbo_files().merges_txt);
  // The optional files may be absent: the tags are then plain text and there is no eos.
  const auto bare = Gpt2Tokenizer::from_directory(dir.path());
  EXPECT_EQ(bare.vocab_size(), 1000);
  EXPECT_EQ(bare.eos_id(), -1);
  EXPECT_GT(bare.encode("[sigh]").size(), 1u);

  auto expect_bad = [&](const Gpt2TokenizerFiles& f, const std::string& file,
                        const std::string& needle) {
    expect_error([&] { Gpt2Tokenizer::from_texts(f, "tokdir"); }, ErrorKind::kModelFile,
                 {"tokdir/" + file, needle});
  };
  {
    auto f = turbo_files();
    f.vocab_json = "{not json";
    expect_bad(f, "vocab.json", "not valid JSON");
  }
  {
    auto f = turbo_files();
    auto v = nlohmann::json::parse(f.vocab_json);
    v.erase("\xc4\xa0");  // "Ġ", the space byte
    f.vocab_json = v.dump();
    expect_bad(f, "vocab.json", "byte 32");
  }
  {
    auto f = turbo_files();
    f.merges_txt += "zz qq\n";
    expect_bad(f, "merges.txt", "not in vocab.json");
  }
  {
    auto f = turbo_files();
    f.merges_txt += "abc\n";
    expect_bad(f, "merges.txt", "line 745");
  }
  {
    auto f = turbo_files();
    f.added_tokens_json = R"({"[sigh]": 1234})";
    expect_bad(f, "added_tokens.json", "[sigh]");
  }
  {
    auto f = turbo_files();
    f.added_tokens_json = R"({"[new]": 5})";
    expect_bad(f, "added_tokens.json", "already belongs");
  }
  auto with_config = [&](const std::function<void(nlohmann::json&)>& edit) {
    auto f = turbo_files();
    auto c = nlohmann::json::parse(f.tokenizer_config_json);
    edit(c);
    f.tokenizer_config_json = c.dump();
    return f;
  };
  expect_bad(with_config([](auto& c) { c["add_prefix_space"] = true; }), "tokenizer_config.json",
             "add_prefix_space");
  expect_bad(with_config([](auto& c) { c["add_bos_token"] = true; }), "tokenizer_config.json",
             "add_bos_token");
  expect_bad(with_config([](auto& c) { c["tokenizer_class"] = "LlamaTokenizer"; }),
             "tokenizer_config.json", "LlamaTokenizer");
  expect_bad(with_config([](auto& c) { c["added_tokens_decoder"]["1001"]["single_word"] = true; }),
             "tokenizer_config.json", "single_word");
  expect_bad(with_config([](auto& c) { c["truncation_side"] = "middle"; }), "tokenizer_config.json",
             "middle");
}

TEST(Gpt2Tokenizer, AddedTokenOptions) {
  // lstrip/rstrip swallow the whitespace beside the tag; a special token in special_tokens_map.json
  // that no other file lists is appended after the last id.
  auto files = turbo_files();
  auto config = nlohmann::json::parse(files.tokenizer_config_json);
  config["added_tokens_decoder"]["1001"]["lstrip"] = true;
  config["added_tokens_decoder"]["1001"]["rstrip"] = true;
  files.tokenizer_config_json = config.dump();
  auto map = nlohmann::json::parse(files.special_tokens_map_json);
  map["pad_token"] = "<pad>";
  files.special_tokens_map_json = map.dump();
  const auto tok = Gpt2Tokenizer::from_texts(files, "opts");
  EXPECT_EQ(tok.encode("a  [sigh]  b"), tok.encode("a[sigh]b"));
  EXPECT_EQ(tok.vocab_size(), 1010);
  EXPECT_EQ(tok.encode("x<pad>"), (std::vector<int64_t>{turbo_tokenizer().encode("x")[0], 1009}));
  EXPECT_EQ(tok.decode({1009, 1001}, true), "[sigh]");
}

TEST(Gpt2Tokenizer, LongWord) {
  // A 200k-byte "word" is one pre-tokenizer piece; the heap-based merge loop handles it in well
  // under a second (a quadratic one would hit the test timeout).
  std::string word;
  for (int i = 0; i < 100000; ++i) word += "th";
  const auto ids = turbo_tokenizer().encode_untruncated(word);
  EXPECT_LE(ids.size(), word.size() / 2);  // at least "t" + "h" merged
  EXPECT_EQ(turbo_tokenizer().decode(ids), word);
}

TEST(PuncNormTurbo, ReferenceQuirks) {
  using chatterbox::punc_norm_turbo;
  EXPECT_EQ(punc_norm_turbo(""), "You need to add some text for me to talk.");
  EXPECT_EQ(punc_norm_turbo("wait... what"), "Wait... what.");  // "..." kept
  EXPECT_EQ(punc_norm_turbo("Well\xe2\x80\xa6 ok"),
            "Well,  ok.");  // collapse runs before "…" -> ", "
  EXPECT_EQ(punc_norm_turbo("at 9:30"), "At 9,30.");
  EXPECT_EQ(punc_norm_turbo("a - b; c"), "A - b; c.");
  EXPECT_EQ(punc_norm_turbo("x , y"), "X, y.");
  EXPECT_EQ(punc_norm_turbo("  leading"), "leading.");  // a leading space prevents capitalisation
  EXPECT_EQ(punc_norm_turbo("   "), ".");
  EXPECT_EQ(punc_norm_turbo("\xc3\x9ftra\xc3\x9f"
                            "e"),
            "SStra\xc3\x9f"
            "e.");
  EXPECT_EQ(punc_norm_turbo("dash\xe2\x80\x93"
                            "dash\xe2\x80\x94"),
            "Dash-dash-");
  EXPECT_EQ(punc_norm_turbo("\xe2\x80\x9chi\xe2\x80\x9d \xe2\x80\x98yo\xe2\x80\x99"),
            "\"hi\" 'yo'.");
  EXPECT_EQ(punc_norm_turbo("[laugh]"), "[laugh].");
  expect_error([] { punc_norm_turbo("\xff"); }, ErrorKind::kInvalidInput, {"UTF-8"});
}
