// Fuzz target: the safetensors reader. Input = a whole file. It is parsed both through
// parse_safetensors_header (header JSON + data size) and through SafetensorsFile on a real
// temporary file, whose every tensor is then read. The only acceptable failure is
// chatterbox::Error; anything else (another exception, an out-of-bounds read) is a bug.
#include <ATen/ATen.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "io/safetensors.h"

namespace {

std::string temp_path() {
  static const std::string path = "/tmp/chatterbox-fuzz-safetensors-" + std::to_string(getpid());
  return path;
}

std::string file_with(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<char>(static_cast<uint64_t>(header.size()) >> (8 * i));
  return out + header + data;
}

}  // namespace

std::vector<std::string> fuzz_seeds() {
  return {
      file_with(
          R"({"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"I64","shape":[1],"data_offsets":[16,24]}})",
          std::string(24, '\1')),
      file_with(
          R"({"__metadata__":{"format":"pt"},"w":{"dtype":"BF16","shape":[3],"data_offsets":[0,6]}})",
          std::string(6, '\2')),
      file_with(
          R"({"e":{"dtype":"F16","shape":[0,4],"data_offsets":[0,0]},"s":{"dtype":"U8","shape":[],"data_offsets":[0,1]}})",
          std::string(1, '\3')),
      file_with("{}", ""),
  };
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    if (size >= 8) {
      uint64_t data_size = 0;
      for (int i = 7; i >= 0; --i) data_size = (data_size << 8) | data[i];
      std::map<std::string, std::string> meta;
      auto entries =
          chatterbox::parse_safetensors_header(bytes.substr(8), data_size, "fuzz", &meta);
      for (const auto& e : entries)
        if (e.end > data_size || e.begin > e.end) std::abort();
    }
  } catch (const chatterbox::Error&) {
  }
  {
    std::ofstream out(temp_path(), std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  try {
    chatterbox::SafetensorsFile f(temp_path());
    for (const auto& e : f.entries()) {
      at::Tensor t = f.tensor(e.name);
      if (t.numel() > 0 && t.numel() < (1 << 20)) (void)t.to(at::kDouble).sum().item<double>();
    }
  } catch (const chatterbox::Error&) {
  }
  std::remove(temp_path().c_str());
  return 0;
}
