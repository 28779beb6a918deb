// The engine on the generated tiny multilingual model (CHATTERBOX_TEST_MTL_MODEL_DIR): the variant
// is recognised from the files, French and Chinese are spoken, the language reaches the model,
// an unsupported language is refused with the list of supported ones, and the English and Turbo
// models (CHATTERBOX_TEST_MODEL_DIR, CHATTERBOX_TEST_TURBO_MODEL_DIR) refuse another language
// than English rather than speak it with the wrong tokenizer.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "common/error.h"
#include "engine.h"

namespace chatterbox {
namespace {
namespace fs = std::filesystem;

std::string env_dir(const char* name) {
  const char* dir = std::getenv(name);
  if (!dir) throw std::runtime_error(std::string(name) + " is not set");
  return fs::absolute(dir).string();
}

std::shared_ptr<Engine> mtl_engine() {
  return Engine::load({env_dir("CHATTERBOX_TEST_MTL_MODEL_DIR"), "cpu"});
}

SynthesisParams in_language(const std::string& language, int64_t seed = 1) {
  SynthesisParams p;
  p.language = language;
  p.seed = seed;
  p.max_tokens = 30;  // random weights: the alignment control keeps end-of-speech suppressed
  return p;
}

std::vector<float> speak(Engine& engine, const TextUtterance& text, const SynthesisParams& params) {
  auto utt = engine.start(text, params);
  std::vector<float> audio;
  AudioChunk chunk;
  while (utt->next(chunk)) audio.insert(audio.end(), chunk.samples.begin(), chunk.samples.end());
  return audio;
}

std::vector<float> speak(Engine& engine, const std::string& text, const SynthesisParams& params) {
  return speak(engine, TextUtterance{text, {}, {}}, params);
}

void expect_audio(const std::vector<float>& audio) {
  ASSERT_FALSE(audio.empty());
  double energy = 0;
  for (float v : audio) {
    ASSERT_TRUE(std::isfinite(v));
    energy += double(v) * v;
  }
  EXPECT_GT(energy, 0.0);
}

// The ErrorKind and message of what `fn` throws.
template <typename Fn>
std::pair<ErrorKind, std::string> error_of(Fn fn) {
  try {
    fn();
  } catch (const Error& e) {
    return {e.kind(), e.what()};
  }
  return {ErrorKind::kInternal, "(nothing thrown)"};
}

TEST(MultilingualEngine, RecognisedFromTheFiles) {
  auto engine = mtl_engine();
  EXPECT_EQ(engine->variant(), ModelVariant::kMultilingual);
  EXPECT_NE(engine->describe().find("multilingual"), std::string::npos) << engine->describe();
}

TEST(MultilingualEngine, SpeaksFrenchAndChinese) {
  auto engine = mtl_engine();
  expect_audio(speak(*engine, "Bonjour, comment ça va ?", in_language("fr")));
  expect_audio(speak(*engine, "你好，世界。今天天气很好。", in_language("zh")));
  // Codes are case-insensitive, as the reference lower-cases language_id.
  expect_audio(speak(*engine, "Bonjour.", in_language("FR")));
}

TEST(MultilingualEngine, TheLanguageReachesTheModel) {
  // The same text and seed in two languages: the language token differs, so do the speech
  // tokens and the audio.
  auto engine = mtl_engine();
  EXPECT_EQ(speak(*engine, "Hallo, wie geht es?", in_language("de", 3)),
            speak(*engine, "Hallo, wie geht es?", in_language("de", 3)));
  EXPECT_NE(speak(*engine, "Hallo, wie geht es?", in_language("de", 3)),
            speak(*engine, "Hallo, wie geht es?", in_language("nl", 3)));
}

TEST(MultilingualEngine, RefusesAnUnsupportedLanguageListingTheSupportedOnes) {
  auto engine = mtl_engine();
  auto [kind, message] = error_of([&] { engine->start("Hello.", in_language("xx")); });
  EXPECT_EQ(kind, ErrorKind::kInvalidInput) << message;
  for (const char* code : {"'xx'", "ar", "fr", "ja", "zh"})
    EXPECT_NE(message.find(code), std::string::npos) << message;
  auto split = error_of([&] { engine->split_for("Hello. Again.", "tlh"); });
  EXPECT_EQ(split.first, ErrorKind::kInvalidInput) << split.second;
}

TEST(MultilingualEngine, SplitsCountingTokensOfTheLanguage) {
  auto engine = mtl_engine();
  const auto pieces = engine->split_for("Premier. Deuxième phrase.", "fr");
  ASSERT_FALSE(pieces.empty());
  for (const auto& p : pieces) expect_audio(speak(*engine, p, in_language("fr")));
}

// split_for() hands each utterance the ids of its language; start() uses them when the
// utterance is spoken in that language (the same audio as from the text alone) and tokenises
// the text again when it is spoken in another one.
TEST(MultilingualEngine, SplitPiecesCarryTheIdsOfTheirLanguage) {
  auto engine = mtl_engine();
  const auto pieces = engine->split_for("Premier essai. Deuxième phrase.", "fr");
  ASSERT_EQ(pieces.size(), 2u);
  for (const auto& piece : pieces) {
    EXPECT_EQ(piece.language, "fr");
    ASSERT_FALSE(piece.token_ids.empty());
    const std::vector<float> french = speak(*engine, piece, in_language("fr", 5));
    EXPECT_EQ(french, speak(*engine, piece.text, in_language("fr", 5))) << piece.text;
    const std::vector<float> german = speak(*engine, piece, in_language("de", 5));
    EXPECT_EQ(german, speak(*engine, piece.text, in_language("de", 5))) << piece.text;
    EXPECT_NE(german, french) << piece.text;
  }
}

TEST(MultilingualEngine, GenerationDefaultsOfTheMultilingualModel) {
  // ChatterboxMultilingualTTS.generate (0.1.7): repetition_penalty 2.0; English keeps 1.2.
  EXPECT_FLOAT_EQ(SynthesisParams().resolve_for(ModelVariant::kMultilingual).repetition_penalty,
                  2.0f);
  EXPECT_FLOAT_EQ(SynthesisParams().resolve_for(ModelVariant::kEnglish).repetition_penalty, 1.2f);
  EXPECT_FLOAT_EQ(SynthesisParams().resolve_for(ModelVariant::kTurbo).repetition_penalty, 1.2f);
  SynthesisParams set;
  set.repetition_penalty = 1.5f;
  EXPECT_FLOAT_EQ(set.resolve_for(ModelVariant::kMultilingual).repetition_penalty, 1.5f);
}

TEST(MultilingualEngine, EnglishAndTurboModelsRefuseOtherLanguages) {
  for (const char* env : {"CHATTERBOX_TEST_MODEL_DIR", "CHATTERBOX_TEST_TURBO_MODEL_DIR"}) {
    auto engine = Engine::load({env_dir(env), "cpu"});
    auto [kind, message] = error_of([&] { engine->start("Bonjour.", in_language("fr")); });
    EXPECT_EQ(kind, ErrorKind::kInvalidInput) << env << ": " << message;
    EXPECT_NE(message.find("English only"), std::string::npos) << message;
    EXPECT_EQ(error_of([&] { engine->split_for("Bonjour.", "fr"); }).first,
              ErrorKind::kInvalidInput);
    // English itself still speaks.
    expect_audio(speak(*engine, "Hello.", in_language("en")));
  }
}

}  // namespace
}  // namespace chatterbox
