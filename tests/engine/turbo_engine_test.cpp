// The engine on the generated tiny Turbo model (CHATTERBOX_TEST_TURBO_MODEL_DIR): the variant is
// recognised from the files, utterances end on the stop token and carry Turbo's silence tokens,
// settings resolve to Turbo's defaults, voices clone through Turbo's recipe.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "common/error.h"
#include "engine.h"
#include "test_model.h"

namespace chatterbox {
namespace {
namespace fs = std::filesystem;

std::string turbo_dir() {
  const char* dir = std::getenv("CHATTERBOX_TEST_TURBO_MODEL_DIR");
  if (!dir) throw std::runtime_error("CHATTERBOX_TEST_TURBO_MODEL_DIR is not set");
  return fs::absolute(dir).string();  // the tests link its files from elsewhere
}

std::shared_ptr<Engine> turbo_engine() { return Engine::load({turbo_dir(), "cpu"}); }

struct Spoken {
  std::vector<float> audio;
  UtteranceStats stats;
};

Spoken speak(Engine& engine, const std::string& text, const SynthesisParams& params) {
  auto utt = engine.start(text, params);
  Spoken out;
  AudioChunk chunk;
  while (utt->next(chunk))
    out.audio.insert(out.audio.end(), chunk.samples.begin(), chunk.samples.end());
  out.stats = utt->stats();
  return out;
}

SynthesisParams seeded(int64_t seed) {
  SynthesisParams p;
  p.seed = seed;
  return p;
}

TEST(TurboEngine, RecognisedFromTheFiles) {
  auto engine = turbo_engine();
  EXPECT_EQ(engine->variant(), ModelVariant::kTurbo);
  EXPECT_NE(engine->describe().find("turbo"), std::string::npos) << engine->describe();
}

TEST(TurboEngine, SpeaksUntilTheStopTokenWithSilenceAppended) {
  auto engine = turbo_engine();
  Spoken s = speak(*engine, "Hello there, this is Turbo.", seeded(1));
  // The tiny model's stop-token bias ends generation long before the 1000-token cap.
  ASSERT_GT(s.stats.speech_tokens, 0);
  EXPECT_LT(s.stats.speech_tokens, 200);
  // S3Gen decodes the generated tokens plus three silence tokens.
  EXPECT_EQ(int64_t(s.audio.size()), int64_t(s.stats.speech_tokens + 3) * kSamplesPerToken);
  double energy = 0;
  for (float v : s.audio) {
    ASSERT_TRUE(std::isfinite(v));
    energy += double(v) * v;
  }
  EXPECT_GT(energy, 0.0);
}

TEST(TurboEngine, SameSeedSameAudioAndTagsAreSpoken) {
  auto engine = turbo_engine();
  EXPECT_EQ(speak(*engine, "Again [laugh] and again.", seeded(5)).audio,
            speak(*engine, "Again [laugh] and again.", seeded(5)).audio);
  EXPECT_NE(speak(*engine, "Again [laugh] and again.", seeded(5)).audio,
            speak(*engine, "Again [laugh] and again.", seeded(6)).audio);
}

TEST(TurboEngine, EveryStitchModeProducesTheWholeUtterance) {
  auto engine = turbo_engine();
  for (StitchMode mode : {StitchMode::kNone, StitchMode::kOverlapAdd, StitchMode::kContext}) {
    SynthesisParams p = seeded(2);
    p.stitch_mode = mode;
    Spoken s = speak(*engine, "Modes of stitching.", p);
    EXPECT_EQ(int64_t(s.audio.size()), int64_t(s.stats.speech_tokens + 3) * kSamplesPerToken)
        << int(mode);
  }
}

TEST(TurboEngine, SettingsResolveToEachModelsDefaults) {
  const SynthesisParams p;
  const SynthesisParams turbo = p.resolve_for(ModelVariant::kTurbo);
  EXPECT_FLOAT_EQ(turbo.top_p, 0.95f);
  EXPECT_EQ(turbo.top_k, 1000);
  EXPECT_EQ(turbo.cfm_steps, 2);
  const SynthesisParams english = p.resolve_for(ModelVariant::kEnglish);
  EXPECT_FLOAT_EQ(english.top_p, 1.0f);
  EXPECT_EQ(english.top_k, 0);
  EXPECT_EQ(english.cfm_steps, 10);
  SynthesisParams set = p;
  set.top_p = 0.5f;
  set.cfm_steps = 4;
  EXPECT_FLOAT_EQ(set.resolve_for(ModelVariant::kTurbo).top_p, 0.5f);
  EXPECT_EQ(set.resolve_for(ModelVariant::kTurbo).cfm_steps, 4);

  EXPECT_TRUE(p.ignored_by(ModelVariant::kTurbo).empty());
  SynthesisParams english_only = p;
  english_only.cfg_weight = 0.3f;
  english_only.min_p = 0.1f;
  const auto ignored = english_only.ignored_by(ModelVariant::kTurbo);
  EXPECT_EQ(ignored, (std::vector<std::string>{"cfg_weight", "min_p"}));
  EXPECT_TRUE(english_only.ignored_by(ModelVariant::kEnglish).empty());
  SynthesisParams top_k = p;
  top_k.top_k = 50;
  EXPECT_EQ(top_k.ignored_by(ModelVariant::kEnglish), (std::vector<std::string>{"top_k"}));
  EXPECT_TRUE(top_k.ignored_by(ModelVariant::kNano).empty());
}

std::vector<float> voice_like(double seconds) {
  const int rate = 24000;
  std::vector<float> wav(size_t(seconds * rate));
  double phase = 0;
  for (size_t i = 0; i < wav.size(); ++i) {
    const double t = double(i) / rate;
    phase += 2 * M_PI * (140.0 + 30.0 * std::sin(2 * M_PI * 0.7 * t)) / rate;
    const double env = (t < 0.3 || t > seconds - 0.3) ? 0.0 : 1.0;
    double v = 0;
    for (int h = 1; h <= 5; ++h) v += std::sin(h * phase) / h;
    wav[i] = float(0.2 * env * v);
  }
  return wav;
}

TEST(TurboEngine, ClonesAVoiceLongerThanFiveSeconds) {
  char dir_template[] = "/tmp/chatterbox-turbo-voice-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  setenv("CHATTERBOX_VOICE_CACHE", dir_template, 1);
  auto engine = turbo_engine();
  auto voice = engine->voice_from_audio(voice_like(6.0), 24000);
  SynthesisParams p = seeded(3);
  p.voice = voice;
  Spoken cloned = speak(*engine, "A cloned voice.", p);
  EXPECT_FALSE(cloned.audio.empty());
  EXPECT_NE(cloned.audio, speak(*engine, "A cloned voice.", seeded(3)).audio);
  try {
    engine->voice_from_audio(voice_like(4.0), 24000);
    ADD_FAILURE() << "a 4 s reference must be refused (Turbo needs more than 5 s)";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    EXPECT_NE(std::string(e.what()).find("5"), std::string::npos) << e.what();
  }
  unsetenv("CHATTERBOX_VOICE_CACHE");
  fs::remove_all(dir_template);
}

TEST(TurboEngine, WithoutBuiltInVoiceAVoiceIsRequired) {
  char dir_template[] = "/tmp/chatterbox-turbo-noconds-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  for (const auto& entry : fs::directory_iterator(turbo_dir()))
    if (entry.path().filename() != "conds.pt")
      fs::create_symlink(entry.path(), fs::path(dir_template) / entry.path().filename());
  auto engine = Engine::load({dir_template, "cpu"});
  EXPECT_EQ(engine->variant(), ModelVariant::kTurbo);
  try {
    engine->start("No voice.", seeded(1));
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    EXPECT_NE(std::string(e.what()).find("conds.pt"), std::string::npos) << e.what();
  }
  auto voice = engine->voice_from_audio(voice_like(6.0), 24000);
  SynthesisParams p = seeded(1);
  p.voice = voice;
  EXPECT_FALSE(speak(*engine, "Now with a voice.", p).audio.empty());
  fs::remove_all(dir_template);
}

TEST(TurboEngine, IncompleteTurboDirectoryNamesWhatIsMissing) {
  char dir_template[] = "/tmp/chatterbox-turbo-partial-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  for (const char* f : {"t3_turbo_v1.safetensors", "ve.safetensors", "vocab.json"})
    fs::create_symlink(fs::path(turbo_dir()) / f, fs::path(dir_template) / f);
  try {
    Engine::load({dir_template, "cpu"});
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(e.kind(), ErrorKind::kModelFile);
    EXPECT_NE(what.find("Turbo"), std::string::npos) << what;
    EXPECT_NE(what.find("s3gen_meanflow.safetensors"), std::string::npos) << what;
    EXPECT_NE(what.find("merges.txt"), std::string::npos) << what;
  }
  fs::remove_all(dir_template);
}

TEST(TurboEngine, NanoLoadsThroughTheSamePath) {
  char dir_template[] = "/tmp/chatterbox-nano-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  testmodel::write_test_model(dir_template, testmodel::Size::kTiny, 3, ModelVariant::kNano);
  auto engine = Engine::load({dir_template, "cpu"});
  EXPECT_EQ(engine->variant(), ModelVariant::kNano);
  Spoken s = speak(*engine, "Nano speaks too.", seeded(1));
  EXPECT_GT(s.stats.speech_tokens, 0);
  EXPECT_EQ(int64_t(s.audio.size()), int64_t(s.stats.speech_tokens + 3) * kSamplesPerToken);
  fs::remove_all(dir_template);
}

}  // namespace
}  // namespace chatterbox
