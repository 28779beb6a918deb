// SafetensorsFile / parse_safetensors_header / WeightReader: format errors, round trip, and the
// oracle's weight files.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <memory>

#include "io/safetensors.h"
#include "io/weights.h"
#include "unit_util.h"

using chatterbox::ErrorKind;
using chatterbox::SafetensorsFile;
using unit::expect_error;

namespace {

std::string with_length(const std::string& header, const std::string& data, uint64_t len) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(len >> (8 * i));
  return out + header + data;
}
std::string file_bytes(const std::string& header, const std::string& data) {
  return with_length(header, data, header.size());
}

class SafetensorsErrors : public ::testing::Test {
 protected:
  void expect_bad(const std::string& bytes, std::initializer_list<std::string> needles) {
    const std::string path = dir_.file("bad.safetensors");
    unit::write_bytes(path, bytes);
    std::vector<std::string> all(needles);
    all.push_back(path);  // every message names the file
    try {
      SafetensorsFile f(path);
      ADD_FAILURE() << "no error for " << bytes.substr(0, 80);
    } catch (const chatterbox::Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kModelFile) << e.what();
      for (const auto& n : all)
        EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << n << " | " << e.what();
    }
  }
  unit::TempDir dir_;
};

const std::string kData16(16, '\0');

}  // namespace

TEST_F(SafetensorsErrors, MissingFile) {
  expect_error([&] { SafetensorsFile f(dir_.file("none.safetensors")); }, ErrorKind::kModelFile,
               {"not found"});
}

TEST_F(SafetensorsErrors, TooShort) { expect_bad("abc", {"too short"}); }
TEST_F(SafetensorsErrors, Empty) { expect_bad("", {"too short"}); }

TEST_F(SafetensorsErrors, HeaderLengthBeyondFile) {
  expect_bad(with_length("{}", "", 1000), {"header length 1000"});
  expect_bad(with_length("{}", "", ~0ull), {"header length"});
}

TEST_F(SafetensorsErrors, TruncatedData) {
  const std::string h = R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})";
  expect_bad(file_bytes(h, std::string(8, '\0')), {"'a'", "exceed", "truncated"});
}

TEST_F(SafetensorsErrors, BadJson) {
  expect_bad(file_bytes("{\"a\": [", ""), {"not valid JSON"});
  expect_bad(file_bytes("[1, 2]", ""), {"not a JSON object"});
}

TEST_F(SafetensorsErrors, UnknownDtype) {
  expect_bad(
      file_bytes(R"({"w":{"dtype":"F8","shape":[4],"data_offsets":[0,4]}})", std::string(4, '\0')),
      {"'w'", "unknown dtype 'F8'"});
}

TEST_F(SafetensorsErrors, MalformedEntries) {
  expect_bad(file_bytes(R"({"w":{"shape":[4],"data_offsets":[0,16]}})", kData16),
             {"'w'", "no dtype"});
  expect_bad(file_bytes(R"({"w":{"dtype":"F32","data_offsets":[0,16]}})", kData16),
             {"'w'", "no shape"});
  expect_bad(file_bytes(R"({"w":{"dtype":"F32","shape":[4]}})", kData16), {"'w'", "data_offsets"});
  expect_bad(file_bytes(R"({"w":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}})", kData16),
             {"'w'", "non-negative"});
  expect_bad(file_bytes(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,-16]}})", kData16),
             {"'w'", "non-negative"});
  expect_bad(file_bytes(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[16,0]}})", kData16),
             {"'w'", "end before begin"});
  expect_bad(
      file_bytes(
          R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,16]}})",
          kData16),
      {"'w'", "impossibly large"});
  expect_bad(file_bytes(R"({"w":7})", kData16), {"'w'", "not an object"});
  expect_bad(file_bytes(R"({"__metadata__":{"k":1}})", ""), {"__metadata__"});
}

TEST_F(SafetensorsErrors, SizeMismatch) {
  expect_bad(file_bytes(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", kData16),
             {"'w'", "holds 16 bytes", "need 12"});
}

TEST_F(SafetensorsErrors, OverlappingTensors) {
  const std::string h = R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},)"
                        R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})";
  expect_bad(file_bytes(h, kData16), {"'a'", "'b'", "overlap"});
}

TEST_F(SafetensorsErrors, OutOfRangeOffsets) {
  expect_bad(file_bytes(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})", kData16),
             {"'w'", "exceed"});
}

TEST(Safetensors, RoundTripAndMetadata) {
  unit::TempDir dir;
  const std::string path = dir.file("t.safetensors");
  at::Tensor a = at::arange(12, at::kFloat).reshape({3, 4});
  at::Tensor b = at::tensor({int64_t{7}, int64_t{-1}});
  at::Tensor c = at::zeros({0, 5}, at::kFloat);
  at::Tensor s = at::scalar_tensor(3, at::kLong);
  chatterbox::write_safetensors(path, {{"b", b}, {"a", a}, {"empty", c}, {"scalar", s}},
                                {{"format", "pt"}});
  SafetensorsFile f(path);
  ASSERT_EQ(f.entries().size(), 4u);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_TRUE(at::equal(f.tensor("a"), a));
  EXPECT_TRUE(at::equal(f.tensor("b"), b));
  EXPECT_EQ(f.tensor("empty").sizes().vec(), (std::vector<int64_t>{0, 5}));
  EXPECT_EQ(f.tensor("scalar").dim(), 0);
  EXPECT_EQ(f.tensor("scalar").item<int64_t>(), 3);
  EXPECT_EQ(f.entry("a").dtype, "F32");
  expect_error([&] { f.tensor("missing"); }, ErrorKind::kModelFile, {path, "'missing'"});
}

TEST(Safetensors, MisalignedDataIsCopied) {
  // A header length that is not a multiple of 8 leaves F32 data misaligned: still readable.
  unit::TempDir dir;
  const std::string h = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";  // odd length
  float v[2] = {1.5f, -2.0f};
  std::string bytes = file_bytes(h, std::string(reinterpret_cast<const char*>(v), 8));
  unit::write_bytes(dir.file("m.safetensors"), bytes);
  SafetensorsFile f(dir.file("m.safetensors"));
  EXPECT_FLOAT_EQ(f.tensor("w")[0].item<float>(), 1.5f);
  EXPECT_FLOAT_EQ(f.tensor("w")[1].item<float>(), -2.0f);
}

TEST(WeightReader, FinishListsEveryProblem) {
  unit::TempDir dir;
  const std::string path = dir.file("w.safetensors");
  chatterbox::write_safetensors(
      path, {{"blk.a.weight", at::ones({4, 3})}, {"blk.b.bias", at::ones({5})}});
  auto file = std::make_shared<const SafetensorsFile>(path);
  chatterbox::WeightReader root(file, at::TensorOptions().dtype(at::kFloat));
  auto r = root.scoped("blk.");
  at::Tensor a = r.take("a.weight", {4, 3});
  EXPECT_EQ(a.sum().item<float>(), 12.0f);
  at::Tensor wrong = r.take("b.bias", {6});                   // mis-shaped
  at::Tensor missing = r.take("c.weight", {2, 2});            // missing
  EXPECT_EQ(wrong.sizes().vec(), (std::vector<int64_t>{6}));  // zero stand-ins keep shapes
  EXPECT_EQ(missing.sizes().vec(), (std::vector<int64_t>{2, 2}));
  EXPECT_FALSE(r.take_optional("d.weight", {1}).defined());
  EXPECT_EQ(root.problems().size(), 2u);
  expect_error([&] { root.finish(); }, ErrorKind::kModelFile,
               {path, "2 tensor(s)", "'blk.b.bias' has shape [5], expected [6]",
                "'blk.c.weight' is missing"});
}

TEST(WeightReader, WeightNormIsFolded) {
  unit::TempDir dir;
  const std::string path = dir.file("wn.safetensors");
  at::Tensor v = at::randn({3, 2, 5});
  at::Tensor g = at::rand({3, 1, 1}) + 0.5;
  chatterbox::write_safetensors(path, {{"conv.parametrizations.weight.original0", g},
                                       {"conv.parametrizations.weight.original1", v}});
  chatterbox::WeightReader r(std::make_shared<const SafetensorsFile>(path),
                             at::TensorOptions().dtype(at::kFloat));
  at::Tensor w = r.take_weight("conv", {3, 2, 5});
  r.finish();
  at::Tensor expect = g * v / v.pow(2).sum({1, 2}, true).sqrt();
  EXPECT_TRUE(at::allclose(w, expect, 1e-6, 1e-6));
}

TEST(Safetensors, OracleWeightsLoad) {
  for (const char* name : {"t3_cfg", "s3gen", "ve"}) {
    SafetensorsFile f(std::string(ORACLE_DIR) + "/weights/" + name + ".safetensors");
    EXPECT_GT(f.entries().size(), 10u) << name;
    for (const auto& e : f.entries()) {
      at::Tensor t = f.tensor(e.name);
      EXPECT_EQ(t.sizes().vec(), e.shape) << e.name;
    }
  }
}
