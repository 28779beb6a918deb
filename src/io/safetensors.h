// safetensors reader and writer.
//
// Format: u64 little-endian header length N, N bytes of JSON
//   {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ..., "__metadata__":
//   {..}}
// then the data area; offsets are relative to the start of the data area.
//
// The reader memory-maps the file read-only and validates the whole header up front (header
// length inside the file, JSON well formed, known dtype, offsets inside the data area, no two
// tensors overlapping, byte length = numel x element size), so that nothing later can read out
// of bounds. Every failure is a chatterbox::Error(kModelFile) naming the file and the tensor.
#pragma once

#include <ATen/Tensor.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace chatterbox {

struct SafetensorsEntry {
  std::string name;
  std::string dtype;            // as written in the header: "F32", "F16", "BF16", "I64", ...
  c10::ScalarType scalar_type;  // the matching torch type
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets relative to the data area, [begin, end)
  uint64_t end = 0;
};

class SafetensorsFile {
 public:
  // Maps and validates `path`. Throws Error(kModelFile) or Error(kIo).
  explicit SafetensorsFile(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  const std::vector<SafetensorsEntry>& entries() const { return entries_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  const SafetensorsEntry& entry(const std::string& name) const;  // throws if absent

  // The tensor as stored, on the CPU. Zero-copy (a read-only view of the mapping, which the
  // tensor keeps alive) when the data is suitably aligned; a private copy otherwise.
  // Never write into the result: clone() first.
  at::Tensor tensor(const std::string& name) const;

 private:
  struct Mapping;
  std::string path_;
  std::shared_ptr<Mapping> mapping_;
  const uint8_t* data_ = nullptr;  // start of the data area
  uint64_t data_size_ = 0;
  std::vector<SafetensorsEntry> entries_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// Parses and validates a header (the JSON text) against a data area of `data_size` bytes.
// Exposed for the fuzz target and unit tests; `what` names the file in error messages.
std::vector<SafetensorsEntry> parse_safetensors_header(
    const std::string& json_text, uint64_t data_size, const std::string& what,
    std::map<std::string, std::string>* metadata);

// Writes tensors (made contiguous, CPU) in name order with 8-byte aligned offsets.
void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace chatterbox
