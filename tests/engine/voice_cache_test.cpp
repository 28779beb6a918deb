// The bounded voice cache: LRU in memory, LRU by file time on disk, corrupt entries rebuilt.
#include "engine/voice_cache.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "io/conds.h"

namespace chatterbox {
namespace {
namespace fs = std::filesystem;

std::shared_ptr<const ConditionedVoice> make_voice(int64_t id) {
  VoiceConditioning c;
  c.speaker_emb = at::full({1, 256}, float(id) / 100.0f);
  c.cond_prompt_speech_tokens = at::full({1, 4}, id, at::kLong);
  c.prompt_token = at::full({1, 5}, id, at::kLong);
  c.prompt_feat = at::zeros({1, 10, 80});
  c.embedding = at::full({1, 192}, float(id));
  return std::make_shared<const ConditionedVoice>(c, "voice " + std::to_string(id));
}

struct TempDir {
  TempDir() {
    char t[] = "/tmp/chatterbox-voice-cache-test-XXXXXX";
    path = mkdtemp(t);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string path;
};

TEST(VoiceCache, MemoryKeepsTheMostRecentlyUsed) {
  VoiceCache cache("", VoiceCacheLimits{2, 0});
  cache.insert("a", make_voice(1));
  cache.insert("b", make_voice(2));
  ASSERT_TRUE(cache.find("a", {}));  // a is now the most recent
  cache.insert("c", make_voice(3));  // evicts b
  EXPECT_EQ(cache.memory_size(), 2u);
  EXPECT_TRUE(cache.find("a", {}));
  EXPECT_FALSE(cache.find("b", {}));
  EXPECT_TRUE(cache.find("c", {}));
}

TEST(VoiceCache, DiskLevelSurvivesAndIsBoundedBySize) {
  TempDir dir;
  {
    VoiceCache cache(dir.path, VoiceCacheLimits{1, uint64_t(1) << 30});
    cache.insert("first", make_voice(7));
  }
  VoiceCache other(dir.path, VoiceCacheLimits{1, uint64_t(1) << 30});
  auto loaded = other.find("first", {});
  ASSERT_TRUE(loaded);
  EXPECT_NE(loaded->describe().find("cached"), std::string::npos);
  EXPECT_TRUE(
      at::equal(loaded->conditioning().prompt_token, make_voice(7)->conditioning().prompt_token));

  // A limit of about two files: the least recently used go first.
  const uint64_t one = fs::file_size(dir.path + "/first.pt");
  VoiceCache bounded(dir.path, VoiceCacheLimits{1, 2 * one + one / 2});
  bounded.insert("second", make_voice(8));
  fs::last_write_time(dir.path + "/first.pt",
                      fs::file_time_type::clock::now() - std::chrono::hours(1));
  bounded.insert("third", make_voice(9));
  EXPECT_FALSE(fs::exists(dir.path + "/first.pt"));
  EXPECT_TRUE(fs::exists(dir.path + "/second.pt"));
  EXPECT_TRUE(fs::exists(dir.path + "/third.pt"));
}

TEST(VoiceCache, CorruptDiskEntryIsDroppedNotReturned) {
  TempDir dir;
  { std::ofstream(dir.path + "/bad.pt") << "not a pickle"; }
  VoiceCache cache(dir.path, VoiceCacheLimits{});
  EXPECT_FALSE(cache.find("bad", {}));
  EXPECT_FALSE(fs::exists(dir.path + "/bad.pt"));
}

TEST(VoiceCache, KeyDependsOnAudioRateAndVariant) {
  ModelFiles files;
  files.ve = "/nonexistent/ve.safetensors";
  files.s3gen = "/nonexistent/s3gen.safetensors";
  const std::vector<float> a(100, 0.1f), b(100, 0.2f);
  const std::string k = VoiceCache::key(a, 24000, files);
  EXPECT_EQ(k.size(), 16u);
  EXPECT_EQ(k, VoiceCache::key(a, 24000, files));
  EXPECT_NE(k, VoiceCache::key(b, 24000, files));
  EXPECT_NE(k, VoiceCache::key(a, 16000, files));
  files.variant = ModelVariant::kTurbo;
  EXPECT_NE(k, VoiceCache::key(a, 24000, files));
}

}  // namespace
}  // namespace chatterbox
