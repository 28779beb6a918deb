// The one cache of cloned voices: a bounded LRU in memory in front of a bounded directory on disk.
//
// Building a voice from a recording costs seconds (VoiceEncoder, CAMPPlus, S3Tokenizer over up to
// 15 s of audio), so the result is kept under a key of the audio and of the model files that
// computed it. Memory holds the most recently used `memory_entries` voices; the disk directory
// holds conds.pt-format files, the least recently used removed once they exceed `disk_bytes`.
// A disk hit refreshes the file's time, so both levels evict by last use. Thread-safe.
#pragma once

#include <c10/core/TensorOptions.h>

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/conditioned_voice.h"
#include "io/model_dir.h"

namespace chatterbox {

struct VoiceCacheLimits {
  size_t memory_entries = 16;
  uint64_t disk_bytes = uint64_t(256) << 20;  // ~1,500 voices of ~170 KB
};

class VoiceCache {
 public:
  // The disk level lives in default_disk_dir(), looked up at each use (so the environment can
  // point it elsewhere at run time).
  explicit VoiceCache(VoiceCacheLimits limits = {});
  // The disk level in `disk_dir`; empty: memory only.
  VoiceCache(std::string disk_dir, VoiceCacheLimits limits);

  // $CHATTERBOX_VOICE_CACHE, else $XDG_CACHE_HOME/gst-chatterbox/voices, else
  // ~/.cache/gst-chatterbox/voices; empty when no such place exists.
  static std::string default_disk_dir();

  // FNV-1a over the samples, the rate, the model variant and the identity (path, size, mtime)
  // of the files whose networks compute the conditioning. 16 hex digits.
  static std::string key(const std::vector<float>& samples, int sample_rate,
                         const ModelFiles& files);

  // Memory, then disk (loaded onto `options`' device). Null when absent; a corrupt disk entry is
  // removed and counts as absent.
  std::shared_ptr<const ConditionedVoice> find(const std::string& key,
                                               const c10::TensorOptions& options);
  // Keeps `voice` in memory and writes it to disk (atomically; a disk that refuses is ignored:
  // the cache is an optimisation), then evicts past the limits.
  void insert(const std::string& key, std::shared_ptr<const ConditionedVoice> voice);

  size_t memory_size() const;
  std::string disk_dir() const { return fixed_disk_dir_ ? *fixed_disk_dir_ : default_disk_dir(); }

 private:
  void remember(const std::string& key,
                std::shared_ptr<const ConditionedVoice> voice);  // lock held
  void trim_disk(const std::string& dir);                        // lock held

  const std::optional<std::string> fixed_disk_dir_;
  const VoiceCacheLimits limits_;
  mutable std::mutex mutex_;
  std::list<std::string> recency_;  // most recent first
  struct Entry {
    std::shared_ptr<const ConditionedVoice> voice;
    std::list<std::string>::iterator position;
  };
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace chatterbox
