#include "engine/voice_cache.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "common/error.h"
#include "io/conds.h"

namespace chatterbox {
namespace fs = std::filesystem;

VoiceCache::VoiceCache(VoiceCacheLimits limits) : limits_(limits) {}

VoiceCache::VoiceCache(std::string disk_dir, VoiceCacheLimits limits)
    : fixed_disk_dir_(std::move(disk_dir)), limits_(limits) {}

std::string VoiceCache::default_disk_dir() {
  if (const char* dir = std::getenv("CHATTERBOX_VOICE_CACHE")) return dir;
  std::string base;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"))
    base = xdg;
  else if (const char* home = std::getenv("HOME"))
    base = std::string(home) + "/.cache";
  if (base.empty()) return "";
  return base + "/gst-chatterbox/voices";
}

std::string VoiceCache::key(const std::vector<float>& samples, int sample_rate,
                            const ModelFiles& files) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  };
  mix(samples.data(), samples.size() * sizeof(float));
  mix(&sample_rate, sizeof(sample_rate));
  // Turbo builds another conditioning from the same audio (loudness, prompt lengths).
  const std::string variant = model_variant_name(files.variant);
  mix(variant.data(), variant.size());
  for (const std::string& file : {files.ve, files.s3gen}) {
    struct stat st {};
    ::stat(file.c_str(), &st);
    mix(file.data(), file.size());
    mix(&st.st_size, sizeof(st.st_size));
    mix(&st.st_mtime, sizeof(st.st_mtime));
  }
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

std::shared_ptr<const ConditionedVoice> VoiceCache::find(const std::string& key,
                                                         const c10::TensorOptions& options) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      recency_.splice(recency_.begin(), recency_, it->second.position);
      return it->second.voice;
    }
  }
  const std::string dir = disk_dir();
  if (dir.empty()) return nullptr;
  const std::string path = dir + "/" + key + ".pt";
  if (::access(path.c_str(), R_OK) != 0) return nullptr;
  std::shared_ptr<const ConditionedVoice> voice;
  try {
    voice = std::make_shared<const ConditionedVoice>(load_conds(path, options),
                                                     "cloned voice (cached " + path + ")");
  } catch (const Error&) {
    std::remove(path.c_str());  // corrupt: the caller rebuilds and rewrites it
    return nullptr;
  }
  std::error_code ec;
  fs::last_write_time(path, fs::file_time_type::clock::now(), ec);  // LRU by last use
  std::lock_guard<std::mutex> lock(mutex_);
  remember(key, voice);
  return voice;
}

void VoiceCache::insert(const std::string& key, std::shared_ptr<const ConditionedVoice> voice) {
  const std::string dir = disk_dir();
  if (!dir.empty()) {
    try {
      std::error_code ec;
      fs::create_directories(dir, ec);
      const std::string path = dir + "/" + key + ".pt";
      const std::string tmp = path + ".tmp" + std::to_string(::getpid());
      save_conds(voice->conditioning(), tmp);
      std::rename(tmp.c_str(), path.c_str());  // atomic: readers never see half a file
    } catch (const Error&) {
      // A read-only or full disk must not fail synthesis.
    }
  }
  std::lock_guard<std::mutex> lock(mutex_);
  remember(key, std::move(voice));
  if (!dir.empty()) trim_disk(dir);
}

size_t VoiceCache::memory_size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

void VoiceCache::remember(const std::string& key, std::shared_ptr<const ConditionedVoice> voice) {
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    it->second.voice = std::move(voice);
    recency_.splice(recency_.begin(), recency_, it->second.position);
    return;
  }
  recency_.push_front(key);
  entries_[key] = Entry{std::move(voice), recency_.begin()};
  while (entries_.size() > std::max<size_t>(1, limits_.memory_entries)) {
    entries_.erase(recency_.back());
    recency_.pop_back();
  }
}

void VoiceCache::trim_disk(const std::string& dir) {
  struct File {
    fs::file_time_type time;
    uint64_t size;
    fs::path path;
  };
  std::vector<File> files;
  uint64_t total = 0;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() != ".pt") continue;
    std::error_code e2;
    const uint64_t size = it->file_size(e2);
    if (e2) continue;
    files.push_back({it->last_write_time(e2), size, it->path()});
    total += size;
  }
  if (total <= limits_.disk_bytes) return;
  std::sort(files.begin(), files.end(),
            [](const File& a, const File& b) { return a.time < b.time; });
  for (const File& f : files) {
    if (total <= limits_.disk_bytes) break;
    std::error_code e2;
    if (fs::remove(f.path, e2)) total -= f.size;
  }
}

}  // namespace chatterbox
