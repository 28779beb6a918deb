#include "io/safetensors.h"

#include <ATen/ATen.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"

namespace chatterbox {
namespace {

[[noreturn]] void fail(const std::string& what, const std::string& message) {
  throw Error(ErrorKind::kModelFile, what + ": " + message);
}

struct DtypeInfo {
  const char* name;
  c10::ScalarType type;
  uint64_t size;
};

constexpr DtypeInfo kDtypes[] = {
    {"F64", c10::ScalarType::Double, 8}, {"F32", c10::ScalarType::Float, 4},
    {"F16", c10::ScalarType::Half, 2},   {"BF16", c10::ScalarType::BFloat16, 2},
    {"I64", c10::ScalarType::Long, 8},   {"I32", c10::ScalarType::Int, 4},
    {"I16", c10::ScalarType::Short, 2},  {"I8", c10::ScalarType::Char, 1},
    {"U8", c10::ScalarType::Byte, 1},    {"BOOL", c10::ScalarType::Bool, 1},
};

const DtypeInfo* find_dtype(const std::string& name) {
  for (const auto& d : kDtypes)
    if (name == d.name) return &d;
  return nullptr;
}

const DtypeInfo* find_dtype(c10::ScalarType type) {
  for (const auto& d : kDtypes)
    if (type == d.type) return &d;
  return nullptr;
}

// A header larger than this is hostile or corrupt (the real s3gen header is ~300 KB).
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

}  // namespace

std::vector<SafetensorsEntry> parse_safetensors_header(
    const std::string& json_text, uint64_t data_size, const std::string& what,
    std::map<std::string, std::string>* metadata) {
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {
    fail(what, std::string("header is not valid JSON (") + e.what() + ")");
  }
  if (!header.is_object()) fail(what, "header is not a JSON object");

  std::vector<SafetensorsEntry> entries;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const auto& value = it.value();
    if (name == "__metadata__") {
      if (!value.is_object()) fail(what, "__metadata__ is not an object");
      for (auto m = value.begin(); m != value.end(); ++m) {
        if (!m.value().is_string())
          fail(what, "__metadata__ value '" + m.key() + "' is not a string");
        if (metadata) (*metadata)[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string tensor = "tensor '" + name + "'";
    if (!value.is_object()) fail(what, tensor + ": entry is not an object");
    if (!value.contains("dtype") || !value["dtype"].is_string()) fail(what, tensor + ": no dtype");
    if (!value.contains("shape") || !value["shape"].is_array()) fail(what, tensor + ": no shape");
    if (!value.contains("data_offsets") || !value["data_offsets"].is_array() ||
        value["data_offsets"].size() != 2)
      fail(what, tensor + ": data_offsets must be [begin, end]");

    SafetensorsEntry e;
    e.name = name;
    e.dtype = value["dtype"].get<std::string>();
    const DtypeInfo* info = find_dtype(e.dtype);
    if (!info) fail(what, tensor + ": unknown dtype '" + e.dtype + "'");
    e.scalar_type = info->type;

    // numel x element size, with overflow checks: a hostile header must not wrap around.
    uint64_t numel = 1;
    for (const auto& d : value["shape"]) {
      if (!d.is_number_unsigned() && !(d.is_number_integer() && d.get<int64_t>() >= 0))
        fail(what, tensor + ": shape entries must be non-negative integers");
      uint64_t dim = d.get<uint64_t>();
      if (dim > (1ull << 40) || (dim != 0 && numel > (UINT64_MAX / dim)))
        fail(what, tensor + ": shape is impossibly large");
      numel *= dim;
      e.shape.push_back(static_cast<int64_t>(dim));
    }
    for (const auto& o : value["data_offsets"])
      if (!o.is_number_unsigned() && !(o.is_number_integer() && o.get<int64_t>() >= 0))
        fail(what, tensor + ": data_offsets must be non-negative integers");
    e.begin = value["data_offsets"][0].get<uint64_t>();
    e.end = value["data_offsets"][1].get<uint64_t>();
    if (e.end < e.begin) fail(what, tensor + ": data_offsets end before begin");
    if (e.end > data_size)
      fail(what, tensor + ": data_offsets [" + std::to_string(e.begin) + ", " +
                     std::to_string(e.end) + ") exceed the data area of " +
                     std::to_string(data_size) + " bytes (file truncated?)");
    if (numel > UINT64_MAX / info->size) fail(what, tensor + ": shape is impossibly large");
    if (e.end - e.begin != numel * info->size)
      fail(what, tensor + ": holds " + std::to_string(e.end - e.begin) +
                     " bytes but its shape and dtype need " + std::to_string(numel * info->size));
    entries.push_back(std::move(e));
  }

  // No two tensors may share bytes (zero-sized tensors occupy nothing).
  std::vector<const SafetensorsEntry*> by_offset;
  for (const auto& e : entries)
    if (e.end > e.begin) by_offset.push_back(&e);
  std::sort(
      by_offset.begin(), by_offset.end(),
      [](const SafetensorsEntry* a, const SafetensorsEntry* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < by_offset.size(); ++i)
    if (by_offset[i]->begin < by_offset[i - 1]->end)
      fail(what,
           "tensors '" + by_offset[i - 1]->name + "' and '" + by_offset[i]->name + "' overlap");
  return entries;
}

struct SafetensorsFile::Mapping {
  void* address = MAP_FAILED;
  size_t length = 0;
  ~Mapping() {
    if (address != MAP_FAILED) munmap(address, length);
  }
};

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) throw Error(ErrorKind::kModelFile, path + ": file not found");
    throw Error(ErrorKind::kIo, path + ": cannot open: " + std::strerror(errno));
  }
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    throw Error(ErrorKind::kIo, path + ": cannot stat: " + std::strerror(err));
  }
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < 8) {
    close(fd);
    fail(path,
         "file is " + std::to_string(file_size) + " bytes, too short for a safetensors header");
  }
  mapping_ = std::make_shared<Mapping>();
  mapping_->length = file_size;
  mapping_->address = mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd, 0);
  int map_errno = errno;
  close(fd);
  if (mapping_->address == MAP_FAILED)
    throw Error(ErrorKind::kIo, path + ": cannot map: " + std::strerror(map_errno));
  // Weights are read front to back once per step; ask the kernel to read ahead.
  madvise(mapping_->address, file_size, MADV_WILLNEED);

  const auto* bytes = static_cast<const uint8_t*>(mapping_->address);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[i];
  if (header_len > kMaxHeaderBytes || header_len > file_size - 8)
    fail(path, "header length " + std::to_string(header_len) + " does not fit in a file of " +
                   std::to_string(file_size) + " bytes (truncated or not a safetensors file)");
  std::string json_text(reinterpret_cast<const char*>(bytes + 8), header_len);
  data_ = bytes + 8 + header_len;
  data_size_ = file_size - 8 - header_len;
  entries_ = parse_safetensors_header(json_text, data_size_, path, &metadata_);
  for (size_t i = 0; i < entries_.size(); ++i) index_[entries_[i].name] = i;
}

SafetensorsFile::~SafetensorsFile() = default;

const SafetensorsEntry& SafetensorsFile::entry(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) fail(path_, "no tensor '" + name + "'");
  return entries_[it->second];
}

at::Tensor SafetensorsFile::tensor(const std::string& name) const {
  const SafetensorsEntry& e = entry(name);
  const uint8_t* ptr = data_ + e.begin;
  const uint64_t elem = find_dtype(e.scalar_type)->size;
  auto options = at::TensorOptions().dtype(e.scalar_type).device(at::kCPU);
  if (reinterpret_cast<uintptr_t>(ptr) % elem != 0 || e.end == e.begin) {
    // Misaligned (the header length is arbitrary): copy into an aligned private tensor.
    at::Tensor out = at::empty(e.shape, options);
    if (e.end > e.begin) std::memcpy(out.data_ptr(), ptr, e.end - e.begin);
    return out;
  }
  std::shared_ptr<Mapping> keep = mapping_;
  return at::from_blob(
      const_cast<uint8_t*>(ptr), e.shape, [keep](void*) {}, options);
}

void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<std::pair<std::string, at::Tensor>> sorted;
  for (const auto& [name, t] : tensors)
    sorted.emplace_back(name, t.detach().to(at::kCPU).contiguous());
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });

  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& [name, t] : sorted) {
    const DtypeInfo* info = find_dtype(t.scalar_type());
    if (!info)
      throw Error(ErrorKind::kInternal,
                  path + ": cannot write tensor '" + name + "' of this dtype");
    const uint64_t bytes = static_cast<uint64_t>(t.numel()) * info->size;
    header[name] = {{"dtype", info->name},
                    {"shape", t.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  while ((text.size() + 8) % 8 != 0) text.push_back(' ');  // keep the data area 8-byte aligned

  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error(ErrorKind::kIo, path + ": cannot create: " + std::strerror(errno));
  uint64_t len = text.size();
  uint8_t len_bytes[8];
  for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<uint8_t>(len >> (8 * i));
  out.write(reinterpret_cast<const char*>(len_bytes), 8);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  for (const auto& [name, t] : sorted)
    out.write(static_cast<const char*>(t.data_ptr()),
              static_cast<std::streamsize>(t.numel() * t.element_size()));
  if (!out.flush()) throw Error(ErrorKind::kIo, path + ": write failed: " + std::strerror(errno));
}

}  // namespace chatterbox
