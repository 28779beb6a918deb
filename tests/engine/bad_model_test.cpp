// Damaged model directories: each case copies a freshly generated tiny model, damages one file
// and expects a clear Error(kModelFile) that names the file (and the tensor, where one tensor is
// wrong), never a crash, a hang or a model that loads and then speaks garbage.
//
// The voice networks (VoiceEncoder in ve.safetensors; CAMPPlus and S3Tokenizer in
// s3gen.safetensors) load when the first voice is cloned, not with the model (most pipelines
// never clone one), so damage to their tensors is reported there; everything else at load.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/error.h"
#include "engine.h"
#include "test_model.h"

namespace chatterbox {
namespace {

namespace fs = std::filesystem;

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_all(const fs::path& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), std::streamsize(data.size()));
}

// A safetensors file split into its JSON header and its data section, to damage either and put
// it back together.
struct Safetensors {
  nlohmann::json header;
  std::string data;

  static Safetensors read(const fs::path& path) {
    const std::string bytes = read_all(path);
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(bytes[size_t(i)]);
    return {nlohmann::json::parse(bytes.substr(8, n)), bytes.substr(8 + n)};
  }
  void write(const fs::path& path) const { write_all(path, encode(header.dump())); }
  std::string encode(const std::string& header_text, uint64_t declared = 0) const {
    const uint64_t n = declared ? declared : header_text.size();
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i) out[size_t(i)] = char((n >> (8 * i)) & 0xff);
    return out + header_text + data;
  }
  // The first tensor (in header order) whose name starts with `prefix` and has >= 2 elements.
  std::string tensor_with_prefix(const std::string& prefix) const {
    for (const auto& [name, info] : header.items()) {
      if (name == "__metadata__" || name.rfind(prefix, 0) != 0) continue;
      int64_t elements = 1;
      for (int64_t d : info["shape"]) elements *= d;
      if (elements >= 2) return name;
    }
    throw std::runtime_error("no tensor starting with " + prefix);
  }
};

// Same bytes, another shape: a tensor of the right size that a reader checking only sizes
// would accept. [a, b, ...] -> [a * b * ...] (or [n] -> [1, n]).
void reshape_keeping_bytes(nlohmann::json& info) {
  int64_t elements = 1;
  for (int64_t d : info["shape"]) elements *= d;
  if (info["shape"].size() >= 2)
    info["shape"] = {elements};
  else
    info["shape"] = {int64_t(1), elements};
}

// 3 s of a tone at 24 kHz for voice cloning (a voice the tiny model accepts).
std::vector<float> reference_recording() {
  std::vector<float> wav(24000 * 3);
  for (size_t i = 0; i < wav.size(); ++i)
    wav[i] = 0.3f * std::sin(0.05f * float(i) + 0.001f * float(i % 997));
  return wav;
}

class BadModelDirectory : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pristine_ = fs::temp_directory_path() / ("chatterbox-bad-model-" + std::to_string(getpid()));
    fs::remove_all(pristine_);
    testmodel::write_test_model(pristine_.string(), testmodel::Size::kTiny, 3);
    // Cloned voices must not come from (or go to) the user's cache.
    setenv("CHATTERBOX_VOICE_CACHE", (pristine_.string() + "-voices").c_str(), 1);
  }
  static void TearDownTestSuite() {
    fs::remove_all(pristine_);
    fs::remove_all(pristine_.string() + "-voices");
  }

  // A fresh copy of the tiny model with `damage` applied to it.
  fs::path damaged_copy(const std::function<void(const fs::path&)>& damage) {
    const fs::path dir = pristine_.string() + "-case" + std::to_string(++cases_);
    fs::remove_all(dir);
    fs::copy(pristine_, dir, fs::copy_options::recursive);
    damage(dir);
    return dir;
  }

  // Loading `dir` (and, with `clone`, cloning a voice with it) fails with a model-file error
  // whose message contains every string in `expected`.
  static void expect_model_error(const fs::path& dir, const std::vector<std::string>& expected,
                                 bool clone = false) {
    try {
      auto engine = Engine::load({dir.string(), "cpu"});
      if (clone) {
        engine->voice_from_audio(reference_recording(), 24000);
      }
      ADD_FAILURE() << dir << ": expected a model-file error"
                    << (clone ? " when cloning a voice" : "");
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kModelFile) << e.what();
      for (const auto& s : expected)
        EXPECT_NE(std::string(e.what()).find(s), std::string::npos)
            << "'" << s << "' not in: " << e.what();
    }
  }

  // The first tensor of `file` under `prefix` reshaped to the same byte count: the error names
  // the file and the tensor, at load or (clone) when the first voice is cloned.
  void expect_wrong_shape_error(const std::string& file, const std::string& prefix, bool clone) {
    std::string tensor;
    const fs::path dir = damaged_copy([&](const fs::path& d) {
      Safetensors st = Safetensors::read(d / file);
      tensor = st.tensor_with_prefix(prefix);
      reshape_keeping_bytes(st.header[tensor]);
      st.write(d / file);
    });
    SCOPED_TRACE(file + " " + tensor);
    expect_model_error(dir, {file, tensor}, clone);
  }

  static fs::path pristine_;
  static int cases_;
};

fs::path BadModelDirectory::pristine_;
int BadModelDirectory::cases_ = 0;

TEST_F(BadModelDirectory, PristineCopyLoadsClonesAndSpeaks) {
  // The control: without damage the same steps succeed, so the failures below are the damage's.
  const fs::path dir = damaged_copy([](const fs::path&) {});
  auto engine = Engine::load({dir.string(), "cpu"});
  EXPECT_TRUE(engine->voice_from_audio(reference_recording(), 24000));
  SynthesisParams params;
  params.max_tokens = 10;
  auto utterance = engine->start("Fine.", params);
  AudioChunk chunk;
  size_t samples = 0;
  while (utterance->next(chunk)) samples += chunk.samples.size();
  EXPECT_GT(samples, 0u);
}

// A tensor of each weight file with the right byte count but another shape.
TEST_F(BadModelDirectory, WrongShapeTensorIsNamedAtLoad) {
  expect_wrong_shape_error("t3_cfg.safetensors", "tfmr.layers.0.", /*clone=*/false);
  expect_wrong_shape_error("t3_cfg.safetensors", "speech_head", /*clone=*/false);
  expect_wrong_shape_error("s3gen.safetensors", "flow.encoder.", /*clone=*/false);
  expect_wrong_shape_error("s3gen.safetensors", "mel2wav.", /*clone=*/false);
}

TEST_F(BadModelDirectory, WrongShapeVoiceNetworkTensorIsNamedWhenCloning) {
  expect_wrong_shape_error("ve.safetensors", "lstm.", /*clone=*/true);
  expect_wrong_shape_error("s3gen.safetensors", "speaker_encoder.", /*clone=*/true);
  expect_wrong_shape_error("s3gen.safetensors", "tokenizer.encoder.", /*clone=*/true);
}

// Container damage is found at load, in every file, whichever tensors are used later (the
// voice encoder's file too, though its weights load on the first clone).
TEST_F(BadModelDirectory, BrokenSafetensorsContainerIsNamedAtLoad) {
  for (const std::string& file :
       std::vector<std::string>{"t3_cfg.safetensors", "s3gen.safetensors", "ve.safetensors"}) {
    SCOPED_TRACE(file);
    expect_model_error(damaged_copy([&](const fs::path& d) { write_all(d / file, ""); }), {file});
    expect_model_error(damaged_copy([&](const fs::path& d) {
                         const Safetensors st = Safetensors::read(d / file);
                         write_all(d / file, st.encode(st.header.dump(), uint64_t(1) << 40));
                       }),
                       {file});
    expect_model_error(damaged_copy([&](const fs::path& d) {
                         const Safetensors st = Safetensors::read(d / file);
                         write_all(d / file, st.encode("{\"a\": [1, 2"));
                       }),
                       {file});
    expect_model_error(damaged_copy([&](const fs::path& d) {
                         Safetensors st = Safetensors::read(d / file);
                         st.data.resize(st.data.size() / 2);  // truncated download
                         st.write(d / file);
                       }),
                       {file});
    expect_model_error(
        damaged_copy([&](const fs::path& d) {
          // Two tensors claiming the same bytes.
          Safetensors st = Safetensors::read(d / file);
          std::vector<std::string> names;
          for (const auto& [name, info] : st.header.items())
            if (name != "__metadata__" && info["data_offsets"][1] > info["data_offsets"][0])
              names.push_back(name);
          ASSERT_GE(names.size(), 2u);
          auto& a = st.header[names[0]];
          auto& b = st.header[names[1]];
          const int64_t a_begin = a["data_offsets"][0];
          const int64_t b_size = int64_t(b["data_offsets"][1]) - int64_t(b["data_offsets"][0]);
          b["data_offsets"] = {a_begin, a_begin + b_size};
          st.write(d / file);
        }),
        {file});
  }
}

TEST_F(BadModelDirectory, BrokenTokenizerAndCondsAreNamedAtLoad) {
  expect_model_error(
      damaged_copy([](const fs::path& d) { write_all(d / "tokenizer.json", "{\"model\": {"); }),
      {"tokenizer.json"});
  expect_model_error(damaged_copy([](const fs::path& d) { write_all(d / "tokenizer.json", ""); }),
                     {"tokenizer.json"});
  expect_model_error(damaged_copy([](const fs::path& d) {
                       const std::string conds = read_all(d / "conds.pt");
                       write_all(d / "conds.pt", conds.substr(0, conds.size() / 2));
                     }),
                     {"conds.pt"});
  expect_model_error(
      damaged_copy([](const fs::path& d) { write_all(d / "conds.pt", "not a zip archive"); }),
      {"conds.pt"});
}

TEST_F(BadModelDirectory, MissingWeightFileIsNamedAtLoad) {
  for (const std::string& file :
       std::vector<std::string>{"t3_cfg.safetensors", "s3gen.safetensors", "tokenizer.json"}) {
    SCOPED_TRACE(file);
    expect_model_error(damaged_copy([&](const fs::path& d) { fs::remove(d / file); }), {file});
  }
}

}  // namespace
}  // namespace chatterbox
