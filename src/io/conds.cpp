// conds.pt: port of chatterbox/tts.py Conditionals.save / Conditionals.load
// (torch.save(dict(t3=T3Cond.__dict__, gen=ref_dict)); docs/model.md §2.9 conds.pt).
// The only engine file that includes libtorch's serialization headers (they are slow to
// compile and pull in the JIT).
#include "io/conds.h"

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>
#include <caffe2/serialize/read_adapter_interface.h>
#include <torch/csrc/jit/serialization/import_read.h>
#include <torch/csrc/jit/serialization/pickle.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>

#include "common/error.h"

namespace chatterbox {
namespace {

constexpr int64_t kSpeechVocab = 6561;  // S3 tokenizer codebook: valid prompt token ids

[[noreturn]] void bad(const std::string& path, const std::string& message) {
  throw Error(ErrorKind::kModelFile, path + ": " + message);
}

c10::IValue lookup(const c10::impl::GenericDict& dict, const std::string& key) {
  for (const auto& entry : dict)
    if (entry.key().isString() && entry.key().toStringRef() == key) return entry.value();
  return c10::IValue();
}

bool has_key(const c10::impl::GenericDict& dict, const std::string& key) {
  for (const auto& entry : dict)
    if (entry.key().isString() && entry.key().toStringRef() == key) return true;
  return false;
}

c10::impl::GenericDict sub_dict(const std::string& path, const c10::impl::GenericDict& root,
                                const std::string& key) {
  if (!has_key(root, key))
    bad(path, "no \"" + key + "\" entry (expected {\"t3\": {...}, \"gen\": {...}})");
  c10::IValue v = lookup(root, key);
  if (!v.isGenericDict()) bad(path, "\"" + key + "\" is a " + v.tagKind() + ", expected a dict");
  return v.toGenericDict();
}

// The tensor at dict[key], checked: floating or integer, and a shape that matches `shape`
// (-1 = any size) after dropping/adding leading 1s is NOT allowed: the schema is fixed.
at::Tensor tensor_entry(const std::string& path, const c10::impl::GenericDict& dict,
                        const std::string& where, const std::string& key, bool integer,
                        const std::vector<int64_t>& shape) {
  const std::string name = where + "." + key;
  if (!has_key(dict, key)) bad(path, "missing \"" + name + "\"");
  c10::IValue v = lookup(dict, key);
  if (!v.isTensor()) bad(path, "\"" + name + "\" is a " + v.tagKind() + ", expected a tensor");
  at::Tensor t = v.toTensor();
  if (integer ? !at::isIntegralType(t.scalar_type(), /*includeBool=*/false)
              : !at::isFloatingType(t.scalar_type()))
    bad(path, "\"" + name + "\" has dtype " + std::string(c10::toString(t.scalar_type())) +
                  ", expected " + (integer ? "an integer type" : "a floating type"));
  bool ok = t.dim() == static_cast<int64_t>(shape.size());
  for (size_t i = 0; ok && i < shape.size(); ++i)
    ok = shape[i] < 0 || t.size(static_cast<int64_t>(i)) == shape[i];
  if (!ok) {
    std::string want = "[", got = "[";
    for (size_t i = 0; i < shape.size(); ++i)
      want += (i ? ", " : "") + (shape[i] < 0 ? std::string("N") : std::to_string(shape[i]));
    for (int64_t i = 0; i < t.dim(); ++i) got += (i ? ", " : "") + std::to_string(t.size(i));
    bad(path, "\"" + name + "\" has shape " + got + "], expected " + want + "]");
  }
  return t.to(at::kCPU);
}

void check_tokens(const std::string& path, const std::string& name, const at::Tensor& t) {
  if (t.numel() == 0) return;
  const int64_t lo = t.min().item<int64_t>(), hi = t.max().item<int64_t>();
  if (lo < 0 || hi >= kSpeechVocab)
    bad(path, "\"" + name + "\" holds token ids in [" + std::to_string(lo) + ", " +
                  std::to_string(hi) + "], outside the speech codebook [0, " +
                  std::to_string(kSpeechVocab) + ")");
}

// libtorch's MemoryReadAdapter copies whatever range the zip reader asks for; on a damaged file
// that range runs past the end of the buffer (found by AddressSanitizer). This one copies only
// the bytes that exist, and the zip reader then reports the short read as an error.
class BoundedMemoryReader final : public caffe2::serialize::ReadAdapterInterface {
 public:
  explicit BoundedMemoryReader(const std::vector<char>& bytes) : bytes_(bytes) {}
  size_t size() const override { return bytes_.size(); }
  size_t read(uint64_t pos, void* buf, size_t n, const char* /*what*/) const override {
    if (pos >= bytes_.size()) return 0;
    n = std::min<size_t>(n, bytes_.size() - size_t(pos));
    std::memcpy(buf, bytes_.data() + pos, n);
    return n;
  }

 private:
  const std::vector<char>& bytes_;
};

c10::IValue read_pickle(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::kModelFile, path + ": file not found or not readable");
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(ErrorKind::kIo, path + ": read failed");
  if (bytes.size() < 4) bad(path, "file is too short to be a torch.save file");
  try {
    if (bytes[0] == 'P' && bytes[1] == 'K') {
      // torch.save zip format. Read like torch::jit::pickle_load, but map every storage to the
      // CPU: a file saved from a GPU session names "cuda:0" as its location.
      caffe2::serialize::PyTorchStreamReader reader(std::make_shared<BoundedMemoryReader>(bytes));
      return torch::jit::readArchiveAndTensors("data", "", "", c10::nullopt, c10::nullopt,
                                               at::Device(at::kCPU), reader);
    }
    return torch::jit::pickle_load(bytes);  // legacy (pre-1.6) torch.save format
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    std::string what = e.what();
    if (what.size() > 400) what = what.substr(0, 400) + "...";
    bad(path, "not a readable torch.save file (" + what + ")");
  }
}

// torch.save's zip layout (archive/data.pkl + archive/data/<n> storages + version), written
// like torch::jit::pickle_save but without its TorchScript type tags: Python's
// torch.load(weights_only=True), which Conditionals.load uses, refuses the
// torch.jit._pickle.restore_type_tag global those tags need.
std::vector<char> pickle_plain(const c10::IValue& value) {
  std::vector<char> pickle;
  torch::jit::Pickler pickler(
      [&](const char* data, size_t n) { pickle.insert(pickle.end(), data, data + n); },
      /*tensor_table=*/nullptr, /*type_renamer=*/nullptr, /*memoized_class_types=*/nullptr,
      /*get_tensor_id=*/nullptr, /*tag_aggregates=*/false);
  pickler.protocol();
  pickler.pushIValue(value);
  pickler.stop();

  std::vector<char> out;
  {
    caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, size_t n) {
      const char* bytes = static_cast<const char*>(data);
      out.insert(out.end(), bytes, bytes + n);
      return n;
    });
    size_t index = 0;
    for (const at::Tensor& t : pickler.tensorData()) {
      // Every tensor here is a fresh contiguous CPU tensor owning its whole storage.
      writer.writeRecord("data/" + std::to_string(index++), t.storage().data(),
                         t.storage().nbytes());
    }
    writer.writeRecord("data.pkl", pickle.data(), pickle.size());
    writer.writeEndOfFile();
  }
  return out;
}

}  // namespace

VoiceConditioning load_conds(const std::string& path, c10::TensorOptions float_options) {
  c10::IValue root = read_pickle(path);
  if (!root.isGenericDict()) bad(path, "top level is a " + root.tagKind() + ", expected a dict");
  const auto t3 = sub_dict(path, root.toGenericDict(), "t3");
  const auto gen = sub_dict(path, root.toGenericDict(), "gen");

  VoiceConditioning c;
  const auto float_dtype = float_options.dtype().toScalarType();
  const auto device = float_options.device();
  c.speaker_emb =
      tensor_entry(path, t3, "t3", "speaker_emb", false, {1, 256}).to(device, float_dtype);
  at::Tensor prompt = tensor_entry(path, t3, "t3", "cond_prompt_speech_tokens", true, {1, -1});
  check_tokens(path, "t3.cond_prompt_speech_tokens", prompt);
  c.cond_prompt_speech_tokens = prompt.to(device, at::kLong);
  // emotion_adv is a [1, 1, 1] tensor in the shipped file; T3Cond's default is a float.
  if (has_key(t3, "emotion_adv") && lookup(t3, "emotion_adv").isDouble()) {
    c.exaggeration = static_cast<float>(lookup(t3, "emotion_adv").toDouble());
  } else {
    at::Tensor emotion = tensor_entry(path, t3, "t3", "emotion_adv", false, {1, 1, 1});
    c.exaggeration = emotion.to(at::kFloat).item<float>();
  }

  at::Tensor tokens = tensor_entry(path, gen, "gen", "prompt_token", true, {1, -1});
  check_tokens(path, "gen.prompt_token", tokens);
  const int64_t tg = tokens.size(1);
  if (has_key(gen, "prompt_token_len") && lookup(gen, "prompt_token_len").isTensor()) {
    at::Tensor len = tensor_entry(path, gen, "gen", "prompt_token_len", true, {1});
    if (len.item<int64_t>() != tg)
      bad(path, "\"gen.prompt_token_len\" is " + std::to_string(len.item<int64_t>()) +
                    " but gen.prompt_token has " + std::to_string(tg) + " tokens");
  }
  c.prompt_token = tokens.to(device, at::kLong);
  // S3Gen's flow needs exactly 2 mel frames per prompt token (token_mel_ratio 2).
  c.prompt_feat =
      tensor_entry(path, gen, "gen", "prompt_feat", false, {1, 2 * tg, 80}).to(device, float_dtype);
  c.embedding =
      tensor_entry(path, gen, "gen", "embedding", false, {1, 192}).to(device, float_dtype);
  for (const auto* t : {&c.speaker_emb, &c.prompt_feat, &c.embedding})
    if (!at::isfinite(*t).all().item<bool>())
      bad(path, "a conditioning tensor holds NaN or infinity");
  return c;
}

void save_conds(const VoiceConditioning& conds, const std::string& path) {
  auto optional_tensor = c10::OptionalType::create(c10::TensorType::get());
  auto inner_type = c10::DictType::create(c10::StringType::get(), optional_tensor);
  auto cpu_float = [](const at::Tensor& t) {
    return t.detach().to(at::kCPU, at::kFloat).contiguous();
  };
  auto cpu_long = [](const at::Tensor& t) {
    return t.detach().to(at::kCPU, at::kLong).contiguous();
  };
  if (!conds.speaker_emb.defined() || !conds.cond_prompt_speech_tokens.defined() ||
      !conds.prompt_token.defined() || !conds.prompt_feat.defined() || !conds.embedding.defined())
    throw Error(ErrorKind::kInvalidInput, path + ": cannot save incomplete voice conditioning");

  // Same keys and order as T3Cond.__dict__ and S3Gen.embed_ref's dict.
  c10::impl::GenericDict t3(c10::StringType::get(), optional_tensor);
  t3.insert("speaker_emb", cpu_float(conds.speaker_emb));
  t3.insert("clap_emb", c10::IValue());
  t3.insert("cond_prompt_speech_tokens", cpu_long(conds.cond_prompt_speech_tokens));
  t3.insert("cond_prompt_speech_emb", c10::IValue());
  t3.insert("emotion_adv", at::full({1, 1, 1}, conds.exaggeration, at::kFloat));

  c10::impl::GenericDict gen(c10::StringType::get(), optional_tensor);
  gen.insert("prompt_token", cpu_long(conds.prompt_token));
  gen.insert("prompt_token_len", at::full({1}, conds.prompt_token.size(-1), at::kLong));
  gen.insert("prompt_feat", cpu_float(conds.prompt_feat));
  gen.insert("prompt_feat_len", c10::IValue());
  gen.insert("embedding", cpu_float(conds.embedding));

  c10::impl::GenericDict root(c10::StringType::get(), inner_type);
  root.insert("t3", t3);
  root.insert("gen", gen);

  std::vector<char> bytes;
  try {
    bytes = pickle_plain(root);
  } catch (const std::exception& e) {
    throw Error(ErrorKind::kInternal, path + ": serialising conds failed: " + e.what());
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error(ErrorKind::kIo, path + ": cannot create");
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out.flush()) throw Error(ErrorKind::kIo, path + ": write failed");
}

}  // namespace chatterbox
