// The whole engine, text to audio, on the generated tiny model (CHATTERBOX_TEST_MODEL_DIR).
#include "engine.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <thread>

#include "common/error.h"
#include "engine/blas_threads.h"
#include "engine/streaming_utterance.h"

namespace chatterbox {
namespace {

std::shared_ptr<Engine> tiny_engine() {
  const char* dir = std::getenv("CHATTERBOX_TEST_MODEL_DIR");
  if (!dir) throw std::runtime_error("CHATTERBOX_TEST_MODEL_DIR is not set");
  return Engine::load({dir, "cpu"});
}

SynthesisParams fast_params() {
  SynthesisParams p;
  p.seed = 42;
  p.max_tokens = 60;  // random weights never say stop: bound the utterance
  return p;
}

std::vector<float> speak(Engine& engine, const std::string& text, const SynthesisParams& params,
                         int* chunks = nullptr) {
  auto utt = engine.start(text, params);
  std::vector<float> audio;
  AudioChunk chunk;
  int n = 0;
  bool saw_last = false;
  while (utt->next(chunk)) {
    EXPECT_FALSE(saw_last) << "no chunk after the one marked last";
    audio.insert(audio.end(), chunk.samples.begin(), chunk.samples.end());
    saw_last = chunk.last;
    n++;
  }
  EXPECT_TRUE(saw_last);
  if (chunks) *chunks = n;
  return audio;
}

TEST(Engine, SameModelAndDeviceShareOneInstance) {
  auto a = tiny_engine();
  auto b = tiny_engine();
  EXPECT_EQ(a.get(), b.get());
}

TEST(Engine, SpeaksFiniteAudioOfTheTokenLengthInChunks) {
  auto engine = tiny_engine();
  int chunks = 0;
  auto params = fast_params();
  auto utt = engine->start("Hello world. This is a test.", params);
  std::vector<float> audio;
  AudioChunk chunk;
  while (utt->next(chunk)) {
    audio.insert(audio.end(), chunk.samples.begin(), chunk.samples.end());
    chunks++;
  }
  UtteranceStats stats = utt->stats();
  ASSERT_GT(stats.speech_tokens, 0);
  EXPECT_EQ(int64_t(audio.size()), int64_t(stats.speech_tokens) * kSamplesPerToken);
  EXPECT_EQ(stats.audio_samples, int64_t(audio.size()));
  EXPECT_GT(chunks, 1) << "60 tokens stream in more than one chunk";
  EXPECT_GT(stats.first_audio_seconds, 0.0);
  EXPECT_LE(stats.first_audio_seconds, stats.total_seconds);
  double energy = 0;
  for (float s : audio) {
    ASSERT_TRUE(std::isfinite(s));
    ASSERT_LE(std::fabs(s), 1.0f);
    energy += double(s) * s;
  }
  EXPECT_GT(energy, 0.0);
}

TEST(Engine, SameSeedSameAudio) {
  auto engine = tiny_engine();
  auto a = speak(*engine, "Repeat after me.", fast_params());
  auto b = speak(*engine, "Repeat after me.", fast_params());
  EXPECT_EQ(a, b);
  auto params = fast_params();
  params.seed = 43;
  auto c = speak(*engine, "Repeat after me.", params);
  EXPECT_NE(a, c);
}

TEST(Engine, WarmUpLeavesUtterancesUnchanged) {
  auto engine = tiny_engine();
  auto before = speak(*engine, "Warm up.", fast_params());
  engine->warm_up();
  engine->warm_up();  // once per model: the second call has nothing to do
  EXPECT_EQ(speak(*engine, "Warm up.", fast_params()), before);
}

TEST(Engine, ThreadsAreSplitBetweenTheStages) {
  EXPECT_EQ(stage_threads(0).t3, 0);
  EXPECT_EQ(stage_threads(0).s3gen, 0);
  for (int total = 1; total <= 8; ++total) {
    const StageThreads split = stage_threads(total);
    EXPECT_GE(split.t3, 1);
    EXPECT_GE(split.s3gen, split.t3) << "S3Gen, on the path to audio, gets the larger half";
    EXPECT_EQ(split.t3 + split.s3gen, std::max(total, 2)) << total;
  }
}

TEST(Engine, ThreadsSettingSpeaksAndRestoresTheCallersThreads) {
  auto engine = tiny_engine();
  const int before = at::get_num_threads();
  auto params = fast_params();
  params.threads = before + 2;  // S3Gen's share differs from the caller's count
  auto audio = speak(*engine, "Threads.", params);
  EXPECT_FALSE(audio.empty());
  EXPECT_EQ(at::get_num_threads(), before);
}

// A stage with more than one intra-op thread runs OpenBLAS single-threaded while the utterance
// exists (two spinning pools oversubscribe the cores), and OpenBLAS gets its count back after.
TEST(Engine, SeveralIntraOpThreadsMakeOpenBlasSingleThreadedForTheUtterance) {
  const int blas_before = openblas_threads();
  if (blas_before < 0) GTEST_SKIP() << "libtorch's BLAS is not OpenBLAS";
  auto engine = tiny_engine();
  auto params = fast_params();
  params.threads = 4;  // 2 per stage
  {
    auto utt = engine->start("Threads.", params);
    EXPECT_EQ(openblas_threads(), 1);
    AudioChunk chunk;
    while (utt->next(chunk)) EXPECT_EQ(openblas_threads(), 1);
  }
  EXPECT_EQ(openblas_threads(), blas_before);

  params.threads = 2;  // 1 per stage: OpenBLAS keeps its pool
  auto utt = engine->start("Threads.", params);
  EXPECT_EQ(openblas_threads(), blas_before);
}

TEST(Engine, EveryStitchModeProducesTheWholeUtterance) {
  auto engine = tiny_engine();
  for (StitchMode mode : {StitchMode::kNone, StitchMode::kOverlapAdd, StitchMode::kContext}) {
    auto params = fast_params();
    params.stitch_mode = mode;
    auto utt = engine->start("Modes.", params);
    std::vector<float> audio;
    AudioChunk chunk;
    while (utt->next(chunk)) audio.insert(audio.end(), chunk.samples.begin(), chunk.samples.end());
    EXPECT_EQ(int64_t(audio.size()), int64_t(utt->stats().speech_tokens) * kSamplesPerToken)
        << int(mode);
  }
}

TEST(Engine, CancelFromAnotherThreadEndsNextPromptly) {
  auto engine = tiny_engine();
  auto params = fast_params();
  params.max_tokens = 1000;
  auto utt = engine->start("A long sentence that would go on for quite a while.", params);
  AudioChunk chunk;
  ASSERT_TRUE(utt->next(chunk));
  std::thread canceller([&] { utt->cancel(); });
  const auto t0 = std::chrono::steady_clock::now();
  while (utt->next(chunk)) {
  }
  canceller.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(seconds, 10.0);
  EXPECT_LT(utt->stats().speech_tokens, 1000);
}

TEST(Engine, DestroyingAnUnfinishedUtteranceDoesNotHang) {
  auto engine = tiny_engine();
  auto params = fast_params();
  params.max_tokens = 1000;
  auto utt = engine->start("Never read.", params);
  utt.reset();  // joins the T3 thread after cancelling it
  SUCCEED();
}

TEST(Engine, TextTooLongForT3IsAClearError) {
  auto engine = tiny_engine();
  std::string text;
  for (int i = 0; i < 3000; ++i) text += "word ";
  try {
    engine->start(text, fast_params());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    EXPECT_NE(std::string(e.what()).find("split"), std::string::npos);
  }
  auto pieces = engine->split(text);
  EXPECT_GT(pieces.size(), 1u);
}

// split() gives each utterance its text ids; start() uses them as they are, and they are the
// ids start() would compute from the text (same seed -> same audio).
TEST(Engine, SplitPiecesCarryTheIdsStartWouldCompute) {
  auto engine = tiny_engine();
  auto params = fast_params();
  params.max_tokens = 12;
  const auto pieces = engine->split("Dr. Smith said hello. Then he left!");
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_EQ(pieces[0].text, "Dr. Smith said hello.");
  for (const auto& piece : pieces) {
    ASSERT_FALSE(piece.token_ids.empty());
    auto run = [&](const TextUtterance& u, int* text_tokens) {
      auto utt = engine->start(u, params);
      std::vector<float> audio;
      AudioChunk chunk;
      while (utt->next(chunk))
        audio.insert(audio.end(), chunk.samples.begin(), chunk.samples.end());
      *text_tokens = utt->stats().text_tokens;
      return audio;
    };
    int ids_tokens = 0, text_tokens = 0;
    const std::vector<float> with_ids = run(piece, &ids_tokens);
    const std::vector<float> from_text = run({piece.text, {}, {}}, &text_tokens);
    EXPECT_EQ(ids_tokens, text_tokens);
    EXPECT_EQ(with_ids, from_text);
  }
}

// A voice-like reference: a gliding harmonic tone with an envelope, silence at both ends.
std::vector<float> reference_voice(int sample_rate, double seconds, double f0) {
  std::vector<float> wav(size_t(sample_rate * seconds), 0.0f);
  double phase = 0;
  for (size_t i = 0; i < wav.size(); ++i) {
    const double t = double(i) / sample_rate;
    const double f = f0 + 30.0 * std::sin(2 * M_PI * 0.7 * t);
    phase += 2 * M_PI * f / sample_rate;
    const double env =
        (t < 0.3 || t > seconds - 0.3) ? 0.0 : std::sin(M_PI * (t - 0.3) / (seconds - 0.6));
    double v = 0;
    for (int h = 1; h <= 5; ++h) v += std::sin(h * phase) / h;
    wav[i] = float(0.3 * env * v);
  }
  return wav;
}

TEST(Engine, ClonedVoiceIsCachedInMemoryAndOnDiskAndSpeaks) {
  char dir_template[] = "/tmp/chatterbox-voice-cache-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  setenv("CHATTERBOX_VOICE_CACHE", dir_template, 1);
  auto engine = tiny_engine();
  const auto wav = reference_voice(24000, 3.0, 150.0);
  auto voice = engine->voice_from_audio(wav, 24000);
  ASSERT_TRUE(voice);
  EXPECT_EQ(engine->voice_from_audio(wav, 24000).get(), voice.get()) << "second use is free";

  // A separate engine instance (another device string, same CPU) finds it on disk.
  const char* dir = std::getenv("CHATTERBOX_TEST_MODEL_DIR");
  auto other = Engine::load({dir, "auto"});
  ASSERT_NE(other.get(), engine.get());
  auto cached = other->voice_from_audio(wav, 24000);
  EXPECT_NE(cached->describe().find("cached"), std::string::npos) << cached->describe();

  auto params = fast_params();
  params.voice = voice;
  auto with_voice = speak(*engine, "Cloned.", params);
  auto builtin = speak(*engine, "Cloned.", fast_params());
  EXPECT_FALSE(with_voice.empty());
  EXPECT_NE(with_voice, builtin) << "the voice changes the audio";

  // A voice saved to a file loads back as the same conditioning.
  const std::string saved = std::string(dir_template) + "/saved.pt";
  engine->save_voice(*voice, saved);
  params.voice = engine->voice_from_file(saved);
  EXPECT_EQ(speak(*engine, "Cloned.", params), with_voice);
  unsetenv("CHATTERBOX_VOICE_CACHE");
}

TEST(Engine, SilentOrShortReferenceIsAClearError) {
  auto engine = tiny_engine();
  for (const auto& wav : {std::vector<float>(24000 * 3, 0.0f), std::vector<float>(100, 0.1f)}) {
    try {
      engine->voice_from_audio(wav, 24000);
      FAIL() << "expected an error";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput) << e.what();
    }
  }
}

TEST(Engine, MissingModelDirectoryNamesWhereItLooked) {
  try {
    Engine::load({"/nonexistent/chatterbox-model", "cpu"});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kModelFile);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/chatterbox-model"), std::string::npos);
  }
}

TEST(Engine, UnknownDeviceIsRejected) {
  const char* dir = std::getenv("CHATTERBOX_TEST_MODEL_DIR");
  ASSERT_NE(dir, nullptr);
  EXPECT_THROW(Engine::load({dir, "tpu"}), Error);
}

}  // namespace
}  // namespace chatterbox
