// Per-utterance key/value cache of the T3 Llama backbone.
// Replaces HF transformers' DynamicCache (which torch.cat's one position per step): the cache is
// allocated once per utterance for its longest possible length and filled in place, so a decode
// step costs no reallocation or copy of the past. Owned by the session, never by the model.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

#include "common/error.h"

namespace chatterbox {

class KvCache {
 public:
  KvCache() = default;
  // [L, B, H, T_max, Dh] for keys and for values. Memory is only touched as it is written.
  KvCache(int64_t layers, int64_t batch, int64_t heads, int64_t max_len, int64_t head_dim,
          c10::TensorOptions options)
      : max_len_(max_len) {
    keys_ = at::empty({layers, batch, heads, max_len, head_dim}, options);
    values_ = at::empty({layers, batch, heads, max_len, head_dim}, options);
  }

  int64_t length() const { return length_; }  // positions filled (same for every layer)
  int64_t batch() const { return keys_.size(1); }

  // Stores k, v [B, H, T, Dh] of `layer` at positions [length(), length() + T). The new length
  // becomes visible to every layer only with advance(), after the last layer has written.
  void write(int64_t layer, const at::Tensor& k, const at::Tensor& v) {
    const int64_t t = k.size(2);
    if (length_ + t > max_len_)
      throw Error(ErrorKind::kInternal, "T3 KV cache overflow: " + std::to_string(length_ + t) +
                                            " > " + std::to_string(max_len_) + " positions");
    keys_[layer].narrow(2, length_, t).copy_(k);
    values_[layer].narrow(2, length_, t).copy_(v);
  }
  // Views [B, H, len, Dh] of the first `len` positions of `layer` (no copy; strided in T_max).
  at::Tensor keys(int64_t layer, int64_t len) const { return keys_[layer].narrow(2, 0, len); }
  at::Tensor values(int64_t layer, int64_t len) const { return values_[layer].narrow(2, 0, len); }

  void advance(int64_t t) { length_ += t; }
  // Starts the cache with positions already computed elsewhere: keys, values [L, B, H, T, Dh]
  // (e.g. a conditioning prefix shared by every utterance of a voice).
  void load_prefix(const at::Tensor& keys, const at::Tensor& values) {
    const int64_t t = keys.size(3);
    if (t > max_len_)
      throw Error(ErrorKind::kInternal, "T3 KV cache prefix of " + std::to_string(t) +
                                            " positions exceeds " + std::to_string(max_len_));
    keys_.narrow(3, 0, t).copy_(keys);
    values_.narrow(3, 0, t).copy_(values);
    length_ = t;
  }
  // Copies of the first `len` positions of every layer: [L, B, H, len, Dh] each.
  at::Tensor keys_prefix(int64_t len) const { return keys_.narrow(3, 0, len).clone(); }
  at::Tensor values_prefix(int64_t len) const { return values_.narrow(3, 0, len).clone(); }
  void reset() { length_ = 0; }

 private:
  at::Tensor keys_;    // [L, B, H, T_max, Dh]
  at::Tensor values_;  // [L, B, H, T_max, Dh]
  int64_t length_ = 0;
  int64_t max_len_ = 0;
};

}  // namespace chatterbox
