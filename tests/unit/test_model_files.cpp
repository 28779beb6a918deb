// Model directory files: the generator's layouts against the released checkpoint layout and the
// oracle's small weights, conds.pt round trip and errors, locate_model().
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "io/conds.h"
#include "io/model_dir.h"
#include "io/safetensors.h"
#include "test_model.h"
#include "text/tokenizer.h"
#include "unit_util.h"

using chatterbox::ErrorKind;
using chatterbox::testmodel::Size;
using unit::expect_error;
namespace fs = std::filesystem;

namespace {

using Layout = std::map<std::string, std::pair<std::string, std::vector<int64_t>>>;  // name -> dtype, shape

Layout planned(Size size, const std::string& file) {
  Layout out;
  for (const auto& s : chatterbox::testmodel::planned_layout(size))
    if (s.file == file) out[s.name] = {s.dtype, s.shape};
  return out;
}

Layout of_file(const chatterbox::SafetensorsFile& f) {
  Layout out;
  for (const auto& e : f.entries()) out[e.name] = {e.dtype, e.shape};
  return out;
}

const char* const kWeightFiles[] = {"t3_cfg.safetensors", "s3gen.safetensors", "ve.safetensors"};

}  // namespace

TEST(TestModel, FullLayoutIsTheReleasedCheckpoint) {
  const auto real = nlohmann::json::parse(unit::read_bytes(std::string(ORACLE_DIR) + "/real_checkpoint_layout.json"));
  const std::map<std::string, std::string> dtypes = {{"float32", "F32"}, {"int64", "I64"}};
  size_t total = 0;
  for (const char* file : kWeightFiles) {
    Layout expect;
    for (auto it = real[file].begin(); it != real[file].end(); ++it)
      expect[it.key()] = {dtypes.at(it.value()["dtype"]), it.value()["shape"].get<std::vector<int64_t>>()};
    EXPECT_EQ(planned(Size::kFull, file), expect) << file;
    total += expect.size();
  }
  EXPECT_EQ(total, 292u + 2490u + 16u);
}

TEST(TestModel, TinyModelMatchesOracleWeights) {
  // The build-time tiny model (seed 1) has exactly the oracle's small layout.
  for (const char* file : kWeightFiles) {
    chatterbox::SafetensorsFile oracle(std::string(ORACLE_DIR) + "/weights/" + file);
    chatterbox::SafetensorsFile made(std::string(TINY_MODEL_DIR) + "/" + file);
    EXPECT_EQ(of_file(made), of_file(oracle)) << file;
    EXPECT_EQ(planned(Size::kTiny, file), of_file(oracle)) << file;
    for (const auto& e : made.entries()) {
      at::Tensor t = made.tensor(e.name);
      if (at::isFloatingType(t.scalar_type()) && t.numel() > 0) {
        EXPECT_TRUE(at::isfinite(t).all().item<bool>()) << e.name;
      }
    }
  }
}

TEST(TestModel, TinyDirectoryIsComplete) {
  auto m = chatterbox::locate_model(TINY_MODEL_DIR);
  EXPECT_TRUE(m.t3_config.is_object());
  EXPECT_EQ(m.t3_config["llama_config"]["hidden_size"], 64);
  EXPECT_EQ(m.s3gen_config["flow"]["input_size"], 64);
  EXPECT_EQ(m.ve_config["ve_hidden_size"], 256);
  auto tok = chatterbox::TextTokenizer::from_file(m.tokenizer);
  EXPECT_EQ(tok.vocab_size(), 704);
  auto c = chatterbox::load_conds(m.conds, at::TensorOptions().dtype(at::kFloat));
  EXPECT_EQ(c.speaker_emb.sizes().vec(), (std::vector<int64_t>{1, 256}));
  EXPECT_NEAR(c.speaker_emb.norm().item<float>(), 1.0f, 1e-5);
  EXPECT_EQ(c.cond_prompt_speech_tokens.size(0), 1);
  EXPECT_EQ(c.prompt_feat.size(1), 2 * c.prompt_token.size(1));
  EXPECT_LT(c.prompt_token.max().item<int64_t>(), 6561);
  EXPECT_FLOAT_EQ(c.exaggeration, 0.5f);
}

TEST(TestModel, DeterministicPerSeed) {
  unit::TempDir dir;
  chatterbox::testmodel::write_test_model(dir.file("a"), Size::kTiny, 5);
  chatterbox::testmodel::write_test_model(dir.file("b"), Size::kTiny, 5);
  chatterbox::testmodel::write_test_model(dir.file("c"), Size::kTiny, 6);
  for (const char* f : {"t3_cfg.safetensors", "s3gen.safetensors", "ve.safetensors", "tokenizer.json"}) {
    EXPECT_EQ(unit::read_bytes(dir.file(std::string("a/") + f)), unit::read_bytes(dir.file(std::string("b/") + f))) << f;
  }
  EXPECT_NE(unit::read_bytes(dir.file("a/t3_cfg.safetensors")), unit::read_bytes(dir.file("c/t3_cfg.safetensors")));
  auto a = chatterbox::load_conds(dir.file("a/conds.pt"), at::kFloat);
  auto b = chatterbox::load_conds(dir.file("b/conds.pt"), at::kFloat);
  EXPECT_TRUE(at::equal(a.prompt_feat, b.prompt_feat));
}

TEST(Conds, RoundTrip) {
  unit::TempDir dir;
  chatterbox::VoiceConditioning c;
  c.speaker_emb = at::randn({1, 256});
  c.cond_prompt_speech_tokens = at::randint(0, 6561, {1, 150}, at::kLong);
  c.exaggeration = 0.7f;
  c.prompt_token = at::randint(0, 6561, {1, 13}, at::kLong);
  c.prompt_feat = at::randn({1, 26, 80});
  c.embedding = at::randn({1, 192});
  chatterbox::save_conds(c, dir.file("conds.pt"));
  auto r = chatterbox::load_conds(dir.file("conds.pt"), at::TensorOptions().dtype(at::kFloat));
  EXPECT_TRUE(at::equal(r.speaker_emb, c.speaker_emb));
  EXPECT_TRUE(at::equal(r.cond_prompt_speech_tokens, c.cond_prompt_speech_tokens));
  EXPECT_TRUE(at::equal(r.prompt_token, c.prompt_token));
  EXPECT_TRUE(at::equal(r.prompt_feat, c.prompt_feat));
  EXPECT_TRUE(at::equal(r.embedding, c.embedding));
  EXPECT_FLOAT_EQ(r.exaggeration, 0.7f);
  auto d = chatterbox::load_conds(dir.file("conds.pt"), at::TensorOptions().dtype(at::kDouble));
  EXPECT_EQ(d.prompt_feat.scalar_type(), at::kDouble);
}

TEST(Conds, Errors) {
  unit::TempDir dir;
  expect_error([&] { chatterbox::load_conds(dir.file("none.pt"), at::kFloat); }, ErrorKind::kModelFile, {"none.pt"});
  unit::write_bytes(dir.file("junk.pt"), "PK\x03\x04 this is not a zip file at all");
  expect_error([&] { chatterbox::load_conds(dir.file("junk.pt"), at::kFloat); }, ErrorKind::kModelFile,
               {"junk.pt", "torch.save"});
  unit::write_bytes(dir.file("garbage.pt"), std::string(200, '\x7f'));
  expect_error([&] { chatterbox::load_conds(dir.file("garbage.pt"), at::kFloat); }, ErrorKind::kModelFile, {"garbage.pt"});
  // A valid file cut short.
  const std::string good = unit::read_bytes(std::string(TINY_MODEL_DIR) + "/conds.pt");
  unit::write_bytes(dir.file("cut.pt"), good.substr(0, good.size() / 2));
  expect_error([&] { chatterbox::load_conds(dir.file("cut.pt"), at::kFloat); }, ErrorKind::kModelFile, {"cut.pt"});

  // Schema errors: write valid pickles with something wrong and check the message names the key.
  chatterbox::VoiceConditioning c;
  c.speaker_emb = at::randn({1, 256});
  c.cond_prompt_speech_tokens = at::randint(0, 6561, {1, 10}, at::kLong);
  c.prompt_token = at::randint(0, 6561, {1, 5}, at::kLong);
  c.prompt_feat = at::randn({1, 10, 80});
  c.embedding = at::randn({1, 192});
  auto expect_bad = [&](chatterbox::VoiceConditioning bad, std::initializer_list<std::string> needles) {
    chatterbox::save_conds(bad, dir.file("bad.pt"));
    expect_error([&] { chatterbox::load_conds(dir.file("bad.pt"), at::kFloat); }, ErrorKind::kModelFile, needles);
  };
  { auto b = c; b.speaker_emb = at::randn({1, 255}); expect_bad(b, {"t3.speaker_emb", "shape"}); }
  { auto b = c; b.prompt_feat = at::randn({1, 11, 80}); expect_bad(b, {"gen.prompt_feat", "[1, 10, 80]"}); }
  { auto b = c; b.prompt_token = at::full({1, 5}, 7000, at::kLong); expect_bad(b, {"gen.prompt_token", "codebook"}); }
  { auto b = c; b.embedding = at::full({1, 192}, NAN); expect_bad(b, {"NaN"}); }
  expect_error([&] { chatterbox::save_conds(chatterbox::VoiceConditioning{}, dir.file("x.pt")); },
               ErrorKind::kInvalidInput, {"incomplete"});
}

TEST(ModelDir, ExplicitDirectoryReportsMissingFiles) {
  unit::TempDir dir;
  unit::write_bytes(dir.file("tokenizer.json"), "{}");
  expect_error([&] { chatterbox::locate_model(dir.path()); }, ErrorKind::kModelFile,
               {dir.path(), "t3_cfg.safetensors", "s3gen.safetensors", "ve.safetensors", "conds.pt"});
  expect_error([&] { chatterbox::locate_model(dir.file("nope")); }, ErrorKind::kModelFile, {"nope", "no such directory"});
}

TEST(ModelDir, SearchPathEnvironmentAndHubCache) {
  unit::TempDir dir;
  // A fake hub cache: models--ResembleAI--chatterbox/snapshots/<rev> linking the tiny model files.
  const fs::path repo = fs::path(dir.path()) / "hub" / "models--ResembleAI--chatterbox";
  fs::create_directories(repo / "snapshots" / "abc123");
  fs::create_directories(repo / "refs");
  unit::write_bytes((repo / "refs" / "main").string(), "abc123");
  for (const char* f : {"t3_cfg.safetensors", "s3gen.safetensors", "ve.safetensors", "tokenizer.json", "conds.pt"})
    fs::create_symlink(fs::path(TINY_MODEL_DIR) / f, repo / "snapshots" / "abc123" / f);

  const char* saved_model = std::getenv("CHATTERBOX_MODEL_DIR");
  const char* saved_hf = std::getenv("HF_HOME");
  const char* saved_hub = std::getenv("HF_HUB_CACHE");
  const std::string keep_model = saved_model ? saved_model : "", keep_hf = saved_hf ? saved_hf : "",
                    keep_hub = saved_hub ? saved_hub : "";
  unsetenv("HF_HUB_CACHE");
  setenv("CHATTERBOX_MODEL_DIR", dir.file("empty").c_str(), 1);
  setenv("HF_HOME", dir.path().c_str(), 1);

  auto path = chatterbox::model_search_path();
  ASSERT_EQ(path.size(), 2u);
  EXPECT_EQ(path[0], dir.file("empty"));
  EXPECT_EQ(path[1], (repo / "snapshots" / "abc123").string());
  auto m = chatterbox::locate_model("");
  EXPECT_EQ(m.dir, (repo / "snapshots" / "abc123").string());
  EXPECT_TRUE(m.t3_config.is_null());  // the hub snapshot has no tiny-size overrides

  fs::remove_all(repo / "snapshots" / "abc123");
  expect_error([&] { chatterbox::locate_model(""); }, ErrorKind::kModelFile,
               {dir.file("empty"), "models--ResembleAI--chatterbox", "download-model"});

  if (saved_model) setenv("CHATTERBOX_MODEL_DIR", keep_model.c_str(), 1); else unsetenv("CHATTERBOX_MODEL_DIR");
  if (saved_hf) setenv("HF_HOME", keep_hf.c_str(), 1); else unsetenv("HF_HOME");
  if (saved_hub) setenv("HF_HUB_CACHE", keep_hub.c_str(), 1);
}

TEST(ModelDir, BadOverrideJson) {
  unit::TempDir dir;
  for (const char* f : {"t3_cfg.safetensors", "s3gen.safetensors", "ve.safetensors", "tokenizer.json", "conds.pt"})
    fs::create_symlink(fs::path(TINY_MODEL_DIR) / f, fs::path(dir.path()) / f);
  unit::write_bytes(dir.file("t3_cfg.json"), "{broken");
  expect_error([&] { chatterbox::locate_model(dir.path()); }, ErrorKind::kModelFile, {"t3_cfg.json", "JSON"});
}
