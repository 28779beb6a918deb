// Text front end: punc_norm against the oracle's text_norm.json, the BPE tokenizer against ids
// from the real HF `tokenizers` library (data/tokenizer_golden.json), UTF-8 handling, the
// tokenizer.json reader's errors and the sentence splitter.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <random>

#include "test_model.h"
#include "text/punc_norm.h"
#include "text/sentence_rules.h"
#include "text/splitter.h"
#include "text/tokenizer.h"
#include "text/unicode.h"
#include "unit_util.h"

using chatterbox::ErrorKind;
using chatterbox::TextTokenizer;
using unit::expect_error;

namespace {

const TextTokenizer& test_tokenizer() {
  static const TextTokenizer tok = TextTokenizer::from_json_text(
      chatterbox::testmodel::tokenizer_json(), "generated tokenizer.json");
  return tok;
}

nlohmann::json read_json(const std::string& path) {
  return nlohmann::json::parse(unit::read_bytes(path));
}

}  // namespace

TEST(PuncNorm, OracleFixture) {
  const auto cases = read_json(std::string(ORACLE_DIR) + "/fixtures/text_norm.json");
  ASSERT_GT(cases.size(), 10u);
  for (const auto& c : cases)
    EXPECT_EQ(chatterbox::punc_norm(c["input"].get<std::string>()), c["output"].get<std::string>())
        << "input: " << c["input"];
}

TEST(PuncNorm, PythonQuirks) {
  using chatterbox::punc_norm;
  EXPECT_EQ(punc_norm("ßtraße"), "SStraße.");  // full case mapping
  EXPECT_EQ(punc_norm("ǆemal"), "Ǆemal.");     // dz digraph: upper, not title case
  EXPECT_EQ(punc_norm("   "), ".");            // all whitespace
  EXPECT_EQ(punc_norm("a\x1c"
                      "b"),
            "A b.");  // Python splits on U+001C..U+001F
  EXPECT_EQ(punc_norm("a\xc2\xa0"
                      "b"),
            "A b.");  // NBSP is whitespace
  EXPECT_EQ(punc_norm("a\xe2\x80\x8b"
                      "b"),
            "A\xe2\x80\x8b"
            "b.");                            // ZWSP is not
  EXPECT_EQ(punc_norm("x ... y"), "X,  y.");  // "..." -> ", ", then " ," -> ","
  EXPECT_EQ(punc_norm("end -"), "End -");
  EXPECT_EQ(punc_norm("1.5"), "1.5.");
  EXPECT_EQ(punc_norm("\xc3\xa9t\xc3\xa9"), "\xc3\x89t\xc3\xa9.");
}

TEST(Utf8, InvalidInputIsAnError) {
  for (const std::string bad : {std::string("\xff"), std::string("a\xc3"), std::string("\xc0\xaf"),
                                std::string("\xed\xa0\x80"), std::string("\xf4\x90\x80\x80"),
                                std::string("\xe2\x82"), std::string("ok\x80")}) {
    expect_error([&] { chatterbox::punc_norm(bad); }, ErrorKind::kInvalidInput, {"UTF-8"});
    expect_error([&] { test_tokenizer().encode(bad); }, ErrorKind::kInvalidInput, {"UTF-8"});
    expect_error([&] { chatterbox::split_utterances(bad, test_tokenizer(), 100); },
                 ErrorKind::kInvalidInput, {"UTF-8"});
  }
  EXPECT_EQ(
      chatterbox::encode_utf8(chatterbox::decode_utf8("a\xc3\xa9\xe6\xbc\xa2\xf0\x9f\x98\x80")),
      "a\xc3\xa9\xe6\xbc\xa2\xf0\x9f\x98\x80");
}

TEST(Tokenizer, GeneratedFileIds) {
  const auto& tok = test_tokenizer();
  EXPECT_EQ(tok.vocab_size(), 704);
  EXPECT_EQ(tok.start_id(), 255);
  EXPECT_EQ(tok.stop_id(), 0);
  EXPECT_EQ(tok.unk_id(), 1);
  EXPECT_EQ(tok.space_id(), 2);
  auto wrapped = tok.wrap_for_t3(tok.encode("Hi there."));
  EXPECT_EQ(wrapped.front(), 255);
  EXPECT_EQ(wrapped.back(), 0);
  EXPECT_EQ(tok.decode(tok.encode("Hello world, again.")), "Hello world, again.");
}

TEST(Tokenizer, MatchesHuggingFaceTokenizers) {
  const auto cases = read_json(std::string(UNIT_DATA_DIR) + "/tokenizer_golden.json");
  ASSERT_GT(cases.size(), 100u);
  for (const auto& c : cases) {
    const auto text = c["text"].get<std::string>();
    EXPECT_EQ(test_tokenizer().encode(text), c["ids"].get<std::vector<int64_t>>())
        << "text: " << c["text"];
  }
}

TEST(Tokenizer, FileErrors) {
  unit::TempDir dir;
  expect_error([&] { TextTokenizer::from_file(dir.file("none.json")); }, ErrorKind::kModelFile,
               {"none.json"});
  auto j = nlohmann::json::parse(chatterbox::testmodel::tokenizer_json());
  auto expect_bad = [&](nlohmann::json broken, const std::string& needle) {
    expect_error([&] { TextTokenizer::from_json_text(broken.dump(), "tok.json"); },
                 ErrorKind::kModelFile, {"tok.json", needle});
  };
  expect_error([&] { TextTokenizer::from_json_text("{not json", "tok.json"); },
               ErrorKind::kModelFile, {"not valid JSON"});
  {
    auto b = j;
    b["model"]["type"] = "WordPiece";
    expect_bad(b, "only BPE");
  }
  {
    auto b = j;
    b["model"]["merges"].push_back("zz qq");
    expect_bad(b, "not in the vocab");
  }
  {
    auto b = j;
    b["model"]["merges"].push_back("abc");
    expect_bad(b, "two tokens");
  }
  {
    auto b = j;
    b["model"]["vocab"].erase("[START]");
    for (auto& a : b["added_tokens"])
      if (a["content"] == "[START]") a["content"] = "[BEGIN]";
    expect_bad(b, "[START]");
  }
  {
    auto b = j;
    b["normalizer"] = {{"type", "Lowercase"}};
    expect_bad(b, "normalizer");
  }
  {
    auto b = j;
    b["pre_tokenizer"] = {{"type", "ByteLevel"}};
    expect_bad(b, "pre_tokenizer");
  }
  {
    auto b = j;
    b["model"]["unk_token"] = "[NOPE]";
    expect_bad(b, "unk_token");
  }
  {
    auto b = j;
    b.erase("model");
    expect_bad(b, "model");
  }
  // Merges in the newer ["a", "b"] form are read too.
  auto pairs = j;
  nlohmann::json list = nlohmann::json::array();
  for (const auto& m : j["model"]["merges"]) {
    const std::string s = m.get<std::string>();
    list.push_back({s.substr(0, s.find(' ')), s.substr(s.find(' ') + 1)});
  }
  pairs["model"]["merges"] = list;
  auto tok2 = TextTokenizer::from_json_text(pairs.dump(), "pairs.json");
  EXPECT_EQ(tok2.encode("The station is there."), test_tokenizer().encode("The station is there."));
}

TEST(Tokenizer, LongWordIsFast) {
  // The merge loop is O(n log n): a 200k-character "word" must not take quadratic time.
  std::string word;
  for (int i = 0; i < 100000; ++i) word += "th";
  auto t0 = std::chrono::steady_clock::now();
  auto ids = test_tokenizer().encode(word);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0);
  EXPECT_EQ(test_tokenizer().decode(ids), word);
}

namespace {

// Checks the splitter's contract on `text`: every piece is non-empty, trimmed, a substring in
// order, under the cap; concatenating the pieces loses only whitespace.
void check_split(const std::string& text, const std::vector<std::string>& pieces, int cap) {
  const auto& tok = test_tokenizer();
  size_t pos = 0;
  std::string joined, stripped;
  for (const auto& p : pieces) {
    ASSERT_FALSE(p.empty());
    EXPECT_FALSE(chatterbox::is_python_space(static_cast<unsigned char>(p.front())));
    EXPECT_FALSE(chatterbox::is_python_space(static_cast<unsigned char>(p.back())));
    const size_t at = text.find(p, pos);
    ASSERT_NE(at, std::string::npos) << "piece not in order: " << p.substr(0, 80);
    pos = at + p.size();
    EXPECT_LE(tok.encode(chatterbox::punc_norm(p)).size(), static_cast<size_t>(cap))
        << p.substr(0, 80);
    for (char c : p)
      if (!std::isspace(static_cast<unsigned char>(c))) joined.push_back(c);
  }
  for (char c : text)
    if (!std::isspace(static_cast<unsigned char>(c))) stripped.push_back(c);
  EXPECT_EQ(joined, stripped);
}

}  // namespace

TEST(Splitter, Sentences) {
  const auto& tok = test_tokenizer();
  auto s = chatterbox::split_utterances(
      "Hello there. How are you?  I'm fine!\"Quoted.\" Dr. Smith met J. R. R. Tolkien at 3.15 p.m. "
      "today… "
      "Really?! Yes.\n\nNew paragraph without end\nsecond line",
      tok, 100);
  std::vector<std::string> expect = {"Hello there.",
                                     "How are you?",
                                     "I'm fine!\"Quoted.\"",
                                     "Dr. Smith met J. R. R. Tolkien at 3.15 p.m. today…",
                                     "Really?!",
                                     "Yes.",
                                     "New paragraph without end\nsecond line"};
  EXPECT_EQ(s, expect);
  EXPECT_TRUE(chatterbox::split_utterances("", tok, 100).empty());
  EXPECT_TRUE(chatterbox::split_utterances(" \n\t ", tok, 100).empty());
  expect_error([&] { chatterbox::split_utterances("x", tok, 3); }, ErrorKind::kInvalidInput,
               {"cap"});
}

// The decisions of docs/element.md "Sentences", shared by the splitter and the element.
TEST(SentenceRules, Decisions) {
  const auto& tok = test_tokenizer();
  auto split = [&](const std::string& text) {
    return chatterbox::split_utterances(text, tok, 100);
  };
  using V = std::vector<std::string>;
  // Abbreviations, dotted abbreviations and initials hold the sentence when text follows.
  EXPECT_EQ(split("Dr. Smith arrived. He sat."), (V{"Dr. Smith arrived.", "He sat."}));
  EXPECT_EQ(split("(Dr. Who) is on. Then news."), (V{"(Dr. Who) is on.", "Then news."}));
  EXPECT_EQ(split("We chose plan B. Then we left."), (V{"We chose plan B. Then we left."}));
  EXPECT_EQ(split("At 5 p.m. Ph.D. students met."), (V{"At 5 p.m. Ph.D. students met."}));
  // A number or a domain before the stop is no abbreviation.
  EXPECT_EQ(split("It cost 3.50. Then more."), (V{"It cost 3.50.", "Then more."}));
  EXPECT_EQ(split("See example.com. Then go."), (V{"See example.com.", "Then go."}));
  // CJK: no space needed, full-width closers (U+FF09, U+300D) belong to the sentence.
  EXPECT_EQ(split("\xe3\x80\x8c\xe4\xbd\xa0\xe5\xa5\xbd\xe3\x80\x82\xe3\x80\x8d\xe4\xbb\x96\xe8\xaf"
                  "\xb4\xe3\x80\x82"),
            (V{"\xe3\x80\x8c\xe4\xbd\xa0\xe5\xa5\xbd\xe3\x80\x82\xe3\x80\x8d",
               "\xe4\xbb\x96\xe8\xaf\xb4\xe3\x80\x82"}));  // 「你好。」他说。
  EXPECT_EQ(split("\xef\xbc\x88\xe5\xa5\xbd\xe3\x80\x82\xef\xbc\x89\xe7\x84\xb6\xe5\x90\x8e"),
            (V{"\xef\xbc\x88\xe5\xa5\xbd\xe3\x80\x82\xef\xbc\x89",
               "\xe7\x84\xb6\xe5\x90\x8e"}));  // （好。）然后
  // Other scripts' stops: Devanagari danda, Arabic question mark.
  EXPECT_EQ(
      split("\xe0\xa4\xa8\xe0\xa4\xae\xe0\xa4\xb8\xe0\xa5\x8d\xe0\xa4\xa4\xe0\xa5\x87\xe0\xa5\xa4 "
            "\xe0\xa4\xb9\xe0\xa4\xbe\xe0\xa4\x81"),
      (V{"\xe0\xa4\xa8\xe0\xa4\xae\xe0\xa4\xb8\xe0\xa5\x8d\xe0\xa4\xa4\xe0\xa5\x87\xe0\xa5\xa4",
         "\xe0\xa4\xb9\xe0\xa4\xbe\xe0\xa4\x81"}));
  EXPECT_EQ(split("\xd9\x83\xd9\x8a\xd9\x81\xd8\x9f \xd8\xac\xd9\x8a\xd8\xaf"),
            (V{"\xd9\x83\xd9\x8a\xd9\x81\xd8\x9f", "\xd8\xac\xd9\x8a\xd8\xaf"}));
  // Newlines: a single one joins hard-wrapped lines, a blank line (or U+2029) ends a paragraph.
  EXPECT_EQ(split("a wrapped\nline. Next"), (V{"a wrapped\nline.", "Next"}));
  EXPECT_EQ(split("para one\n \r\npara two"), (V{"para one", "para two"}));
  EXPECT_EQ(split("para one\xe2\x80\xa9para two"), (V{"para one", "para two"}));

  // The element's view of text so far: where the last complete sentence ends (bytes).
  using chatterbox::last_sentence_end;
  EXPECT_EQ(last_sentence_end("line one\nline"), 0u);
  EXPECT_EQ(last_sentence_end("line one\n"), 9u);  // a line pushed alone
  EXPECT_EQ(last_sentence_end("Hello Dr. Sm"), 0u);
  EXPECT_EQ(last_sentence_end("Hello Dr. "), 9u);  // nothing follows yet: it ends
  EXPECT_EQ(last_sentence_end("One. Two"), 4u);
  EXPECT_EQ(last_sentence_end("no end"), 0u);
}

// split() hands each utterance its ids, so start() does not tokenise it again; they are the
// ids of the utterance's own text, also where a long sentence was packed from pieces.
TEST(Splitter, CarriesTheIdsOfEachUtterance) {
  const auto& tok = test_tokenizer();
  int calls = 0;
  chatterbox::TextEncoder encode = [&](const std::string& text) {
    ++calls;
    return tok.encode(chatterbox::punc_norm(text));
  };
  std::string text = "Short one. Another short one! ";
  for (int i = 0; i < 30; ++i) text += "the quick brown fox, jumps over the lazy dog; ";
  const auto pieces = chatterbox::split_utterances(text, encode, 64);
  ASSERT_GT(pieces.size(), 4u);
  for (const auto& p : pieces)
    EXPECT_EQ(p.token_ids, tok.encode(chatterbox::punc_norm(p.text))) << p.text;
  calls = 0;
  const auto simple = chatterbox::split_utterances("One. Two. Three.", encode, 64);
  EXPECT_EQ(simple.size(), 3u);
  EXPECT_EQ(calls, 3);  // one encoding per sentence that fits
}

TEST(Splitter, LongSentenceCutAtClausesThenWords) {
  const auto& tok = test_tokenizer();
  std::string text;
  for (int i = 0; i < 40; ++i) text += "the quick brown fox, jumps over the lazy dog; ";
  text += "and then it stops.";
  auto pieces = chatterbox::split_utterances(text, tok, 64);
  EXPECT_GT(pieces.size(), 5u);
  check_split(text, pieces, 64);
  for (const auto& p : pieces) {
    // Cut at clause punctuation, never inside a word.
    const char last = p.back();
    EXPECT_TRUE(last == ',' || last == ';' || last == '.') << p;
  }
  std::string no_punct;
  for (int i = 0; i < 300; ++i) no_punct += "word" + std::to_string(i % 7) + " ";
  auto words = chatterbox::split_utterances(no_punct, tok, 32);
  check_split(no_punct, words, 32);
  for (const auto& p : words) EXPECT_EQ(p.rfind("word", 0), 0u) << p;  // starts at a word
  // A single word over the cap is the only thing that is cut inside.
  std::string giant(3000, 'q');
  auto cut = chatterbox::split_utterances(giant, tok, 100);
  check_split(giant, cut, 100);
}

TEST(Splitter, OneMegabyte) {
  // 1 MB of mixed text: sentences, long clauses, unicode, blank lines, under the T3 cap.
  std::mt19937 rng(3);
  const std::vector<std::string> words = {
      "the",  "station", "information", "caf\xc3\xa9",
      "42",   "walking", "and",         "\xe6\xbc\xa2\xe5\xad\x97",
      "Dr.",  "e.g.",    "x",           "nothing",
      "there"};
  const std::vector<std::string> seps = {" ",    " ",  " ",  ", ", "; ", " - ",
                                         "... ", ". ", "? ", "! ", "\n", "\n\n"};
  std::string text;
  while (text.size() < (1u << 20)) {
    text += words[rng() % words.size()];
    text += (rng() % 500 == 0) ? std::string(" ") : seps[rng() % seps.size()];
  }
  auto t0 = std::chrono::steady_clock::now();
  auto pieces = chatterbox::split_utterances(text, test_tokenizer(), chatterbox::kMaxTextTokens);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(seconds, 60.0);
  EXPECT_GT(pieces.size(), 1000u);
  check_split(text, pieces, chatterbox::kMaxTextTokens);
  // The same megabyte without any sentence end: cut only between words, under a small cap.
  std::string flat;
  for (char c : text) flat.push_back(c == '.' || c == '?' || c == '!' || c == '\n' ? ' ' : c);
  auto flat_pieces = chatterbox::split_utterances(flat, test_tokenizer(), 300);
  check_split(flat, flat_pieces, 300);
}
