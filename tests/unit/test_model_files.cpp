// Model directory files: the generator's layouts (English, Turbo, Nano, multilingual) against the
// released checkpoint layouts and the oracles' small weights, the generated GPT-2 tokenizer files,
// conds.pt round trip and errors, locate_model().
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "io/conds.h"
#include "io/model_dir.h"
#include "io/safetensors.h"
#include "test_model.h"
#include "text/tokenizer.h"
#include "unit_util.h"

using chatterbox::ErrorKind;
using chatterbox::ModelVariant;
using chatterbox::testmodel::Size;
using unit::expect_error;
namespace fs = std::filesystem;

namespace {

using Layout =
    std::map<std::string, std::pair<std::string, std::vector<int64_t>>>;  // name -> dtype, shape

Layout planned(Size size, const std::string& file, ModelVariant variant = ModelVariant::kEnglish) {
  Layout out;
  for (const auto& s : chatterbox::testmodel::planned_layout(size, variant))
    if (s.file == file) out[s.name] = {s.dtype, s.shape};
  return out;
}

std::set<std::string> planned_files(Size size, ModelVariant variant) {
  std::set<std::string> out;
  for (const auto& s : chatterbox::testmodel::planned_layout(size, variant)) out.insert(s.file);
  return out;
}

// One file of a checkpoint layout json ({file: {name: {shape, dtype}}}).
Layout of_json(const nlohmann::json& real, const std::string& file) {
  const std::map<std::string, std::string> dtypes = {{"float32", "F32"}, {"int64", "I64"}};
  Layout out;
  for (auto it = real[file].begin(); it != real[file].end(); ++it)
    out[it.key()] = {dtypes.at(it.value()["dtype"]),
                     it.value()["shape"].get<std::vector<int64_t>>()};
  return out;
}

std::set<std::string> files_in(const std::string& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

nlohmann::json read_json(const std::string& path) {
  return nlohmann::json::parse(unit::read_bytes(path));
}

const std::set<std::string> kGpt2TokenizerFiles = {"vocab.json", "merges.txt", "added_tokens.json",
                                                   "special_tokens_map.json",
                                                   "tokenizer_config.json"};

Layout of_file(const chatterbox::SafetensorsFile& f) {
  Layout out;
  for (const auto& e : f.entries()) out[e.name] = {e.dtype, e.shape};
  return out;
}

const char* const kWeightFiles[] = {"t3_cfg.safetensors", "s3gen.safetensors", "ve.safetensors"};

}  // namespace

TEST(TestModel, FullLayoutIsTheReleasedCheckpoint) {
  const auto real = nlohmann::json::parse(
      unit::read_bytes(std::string(ORACLE_DIR) + "/real_checkpoint_layout.json"));
  const std::map<std::string, std::string> dtypes = {{"float32", "F32"}, {"int64", "I64"}};
  size_t total = 0;
  for (const char* file : kWeightFiles) {
    Layout expect;
    for (auto it = real[file].begin(); it != real[file].end(); ++it)
      expect[it.key()] = {dtypes.at(it.value()["dtype"]),
                          it.value()["shape"].get<std::vector<int64_t>>()};
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
  for (const char* f :
       {"t3_cfg.safetensors", "s3gen.safetensors", "ve.safetensors", "tokenizer.json"}) {
    EXPECT_EQ(unit::read_bytes(dir.file(std::string("a/") + f)),
              unit::read_bytes(dir.file(std::string("b/") + f)))
        << f;
  }
  EXPECT_NE(unit::read_bytes(dir.file("a/t3_cfg.safetensors")),
            unit::read_bytes(dir.file("c/t3_cfg.safetensors")));
  auto a = chatterbox::load_conds(dir.file("a/conds.pt"), at::kFloat);
  auto b = chatterbox::load_conds(dir.file("b/conds.pt"), at::kFloat);
  EXPECT_TRUE(at::equal(a.prompt_feat, b.prompt_feat));
}

TEST(TestModel, TurboFullLayoutIsTheReleasedCheckpoint) {
  const auto real = read_json(std::string(ORACLE_TURBO_DIR) + "/turbo_real_checkpoint_layout.json");
  size_t total = 0;
  for (const char* file :
       {"t3_turbo_v1.safetensors", "s3gen_meanflow.safetensors", "ve.safetensors"}) {
    const Layout expect = of_json(real, file);
    EXPECT_EQ(planned(Size::kFull, file, ModelVariant::kTurbo), expect) << file;
    total += expect.size();
  }
  EXPECT_EQ(total, 299u + 2491u + 16u);
  EXPECT_EQ(chatterbox::testmodel::planned_layout(Size::kFull, ModelVariant::kTurbo).size(), total);
}

TEST(TestModel, NanoFullLayoutIsTurboWithGpt2Small) {
  // Nano = Turbo's S3Gen and VE + Turbo's T3 names on GPT-2 small (768 wide, 12 layers): widths
  // 1024 -> 768, q|k|v 3072 -> 2304, MLP 4096 -> 3072; vocabularies and positions unchanged.
  const auto real = read_json(std::string(ORACLE_TURBO_DIR) + "/turbo_real_checkpoint_layout.json");
  const std::map<int64_t, int64_t> dims = {{1024, 768}, {3072, 2304}, {4096, 3072}};
  Layout t3;
  for (auto [name, spec] : of_json(real, "t3_turbo_v1.safetensors")) {
    if (name.rfind("tfmr.h.", 0) == 0 && std::stoi(name.substr(7)) >= 12) continue;
    for (auto& d : spec.second) d = dims.count(d) ? dims.at(d) : d;
    t3[name] = spec;
  }
  EXPECT_EQ(t3.size(), 11u + 12u * 12u);
  EXPECT_EQ(planned(Size::kFull, "t3_nano_v1.safetensors", ModelVariant::kNano), t3);
  EXPECT_EQ((planned(Size::kFull, "t3_nano_v1.safetensors", ModelVariant::kNano)
                 .at("tfmr.h.11.mlp.c_fc.weight")
                 .second),
            (std::vector<int64_t>{768, 3072}));
  for (const char* file : {"s3gen_meanflow.safetensors", "ve.safetensors"})
    EXPECT_EQ(planned(Size::kFull, file, ModelVariant::kNano), of_json(real, file)) << file;
  EXPECT_EQ(planned_files(Size::kFull, ModelVariant::kNano),
            (std::set<std::string>{"t3_nano_v1.safetensors", "s3gen_meanflow.safetensors",
                                   "ve.safetensors"}));
  EXPECT_EQ(planned_files(Size::kTiny, ModelVariant::kNano),
            planned_files(Size::kFull, ModelVariant::kNano));
  EXPECT_EQ(planned(Size::kTiny, "t3_nano_v1.safetensors", ModelVariant::kNano),
            planned(Size::kTiny, "t3_turbo_v1.safetensors", ModelVariant::kTurbo));
}

TEST(TestModel, TinyTurboModelMatchesOracleWeights) {
  // The build-time tiny Turbo model (seed 1) has exactly the Turbo oracle's small layout.
  const std::string dir = TINY_TURBO_MODEL_DIR;
  for (const char* file :
       {"t3_turbo_v1.safetensors", "s3gen_meanflow.safetensors", "ve.safetensors"}) {
    chatterbox::SafetensorsFile oracle(std::string(ORACLE_TURBO_DIR) + "/weights/" + file);
    chatterbox::SafetensorsFile made(dir + "/" + file);
    EXPECT_EQ(of_file(made), of_file(oracle)) << file;
    EXPECT_EQ(planned(Size::kTiny, file, ModelVariant::kTurbo), of_file(oracle)) << file;
    for (const auto& e : made.entries()) {
      at::Tensor t = made.tensor(e.name);
      if (at::isFloatingType(t.scalar_type()) && t.numel() > 0) {
        EXPECT_TRUE(at::isfinite(t).all().item<bool>()) << e.name;
      }
    }
  }
  chatterbox::SafetensorsFile t3(dir + "/t3_turbo_v1.safetensors");
  // The stop token's bias is raised by 12 so that random-weight generation ends on EOS.
  at::Tensor bias = t3.tensor("speech_head.bias");
  EXPECT_GT(bias[6562].item<float>(), 11.0f);
  EXPECT_LT(bias.narrow(0, 0, 6562).abs().max().item<float>(), 1.0f);
  // time_embed_mixer = [I | 0] + small noise: r matters, t dominates.
  chatterbox::SafetensorsFile s3(dir + "/s3gen_meanflow.safetensors");
  at::Tensor mixer = s3.tensor("flow.decoder.estimator.time_embed_mixer.weight");  // [D, 2 D]
  const int64_t d = mixer.size(0);
  at::Tensor left = mixer.narrow(1, 0, d), right = mixer.narrow(1, d, d);
  EXPECT_NEAR(left.diagonal().mean().item<float>(), 1.0f, 0.05f);
  EXPECT_NEAR((left - at::eye(d)).pow(2).mean().sqrt().item<float>(), 1.0 / std::sqrt(2.0 * d),
              0.2 / std::sqrt(2.0 * d));
  EXPECT_NEAR(right.pow(2).mean().sqrt().item<float>(), 1.0 / std::sqrt(2.0 * d),
              0.2 / std::sqrt(2.0 * d));
  EXPECT_TRUE(at::allclose(s3.tensor("tokenizer.window"), at::hann_window(400, /*periodic=*/true)));
}

TEST(TestModel, TinyTurboDirectoryIsComplete) {
  const std::string dir = TINY_TURBO_MODEL_DIR;
  std::set<std::string> expect = kGpt2TokenizerFiles;
  expect.insert({"t3_turbo_v1.safetensors", "s3gen_meanflow.safetensors", "ve.safetensors",
                 "conds.pt", "t3_turbo_v1.json", "s3gen_meanflow.json", "ve.json"});
  EXPECT_EQ(files_in(dir), expect);

  const auto t3 = read_json(dir + "/t3_turbo_v1.json");
  const auto oracle_t3 = read_json(std::string(ORACLE_TURBO_DIR) + "/weights/t3_turbo_v1.json");
  EXPECT_EQ(t3["gpt2_config"], oracle_t3["gpt2_config"]);
  EXPECT_EQ(t3["t3_config"], oracle_t3["t3_config"]);
  EXPECT_EQ(t3["seed"], 1);
  const auto s3 = read_json(dir + "/s3gen_meanflow.json");
  EXPECT_EQ(s3["estimator"],
            read_json(std::string(ORACLE_TURBO_DIR) + "/weights/s3gen_meanflow.json")["estimator"]);
  EXPECT_EQ(read_json(dir + "/ve.json")["ve_hidden_size"], 256);

  // The T3 text vocabulary is the tokenizer's length: 999 BPE ids, <|endoftext|>, 9 tags.
  const auto vocab = read_json(dir + "/vocab.json");
  const auto added = read_json(dir + "/added_tokens.json");
  chatterbox::SafetensorsFile weights(dir + "/t3_turbo_v1.safetensors");
  const int64_t text_vocab = static_cast<int64_t>(vocab.size() + added.size());
  EXPECT_EQ(text_vocab, 1009);
  EXPECT_EQ(t3["t3_config"]["text_tokens_dict_size"], text_vocab);
  for (const char* name : {"text_emb.weight", "text_head.weight", "tfmr.wte.weight"})
    EXPECT_EQ(weights.tensor(name).size(0), text_vocab) << name;

  // Built-in voice: Turbo's longest T3 prompt (15 s = 375 tokens), English-sized S3Gen prompt.
  auto c = chatterbox::load_conds(dir + "/conds.pt", at::TensorOptions().dtype(at::kFloat));
  EXPECT_EQ(c.cond_prompt_speech_tokens.sizes().vec(), (std::vector<int64_t>{1, 375}));
  EXPECT_LT(c.cond_prompt_speech_tokens.max().item<int64_t>(), 6561);
  EXPECT_EQ(c.prompt_token.sizes().vec(), (std::vector<int64_t>{1, 40}));
  EXPECT_EQ(c.prompt_feat.size(1), 2 * c.prompt_token.size(1));
  EXPECT_NEAR(c.speaker_emb.norm().item<float>(), 1.0f, 1e-5);
}

TEST(TestModel, Gpt2TokenizerFiles) {
  const std::string dir = TINY_TURBO_MODEL_DIR;
  const auto vocab = read_json(dir + "/vocab.json");
  ASSERT_EQ(vocab.size(), 1000u);
  std::map<int64_t, std::string> by_id;
  for (auto it = vocab.begin(); it != vocab.end(); ++it)
    by_id[it.value().get<int64_t>()] = it.key();
  ASSERT_EQ(by_id.size(), 1000u);  // ids are distinct ...
  EXPECT_EQ(by_id.begin()->first, 0);
  EXPECT_EQ(by_id.rbegin()->first, 999);  // ... and dense
  EXPECT_EQ(by_id.at(999), "<|endoftext|>");
  // Ids 0..255: GPT-2's byte symbols in GPT-2's order (the Turbo oracle's tokenizer has them too).
  const auto oracle_vocab =
      read_json(std::string(ORACLE_TURBO_DIR) + "/fixtures/turbo_tokenizer/vocab.json");
  for (auto it = oracle_vocab.begin(); it != oracle_vocab.end(); ++it)
    if (it.value().get<int64_t>() < 256) EXPECT_EQ(by_id.at(it.value().get<int64_t>()), it.key());
  EXPECT_EQ(vocab.at("\xC4\xA0"), 220);  // "Ġ", the space byte, as in GPT-2
  EXPECT_EQ(vocab.at("!"), 0);

  // merges.txt: the version line, then "a b" pairs whose parts and result are all tokens.
  std::istringstream merges(unit::read_bytes(dir + "/merges.txt"));
  std::string line;
  std::getline(merges, line);
  EXPECT_EQ(line, "#version: 0.2");
  std::set<std::string> seen;
  size_t n_merges = 0;
  while (std::getline(merges, line)) {
    const size_t sp = line.find(' ');
    ASSERT_NE(sp, std::string::npos) << line;
    const std::string a = line.substr(0, sp), b = line.substr(sp + 1);
    EXPECT_TRUE(vocab.contains(a) && vocab.contains(b) && vocab.contains(a + b)) << line;
    EXPECT_TRUE(seen.insert(line).second) << "duplicate merge " << line;
    ++n_merges;
  }
  EXPECT_GE(n_merges, 743u);              // every token above 255 comes from a merge
  EXPECT_TRUE(seen.count("\xC4\xA0 t"));  // "Ġ t": the corpus's most frequent pair

  const auto added = read_json(dir + "/added_tokens.json");
  const std::vector<std::string> tags = {"[clear throat]", "[sigh]",    "[shush]",
                                         "[cough]",        "[groan]",   "[sniff]",
                                         "[gasp]",         "[chuckle]", "[laugh]"};
  ASSERT_EQ(added.size(), tags.size());
  for (size_t i = 0; i < tags.size(); ++i)
    EXPECT_EQ(added.at(tags[i]), 1000 + static_cast<int>(i)) << tags[i];

  const auto special = read_json(dir + "/special_tokens_map.json");
  for (const char* k : {"bos_token", "eos_token", "unk_token"})
    EXPECT_EQ(special.at(k), "<|endoftext|>") << k;
  const auto config = read_json(dir + "/tokenizer_config.json");
  EXPECT_EQ(config.at("model_max_length"), 1024);
  EXPECT_EQ(config.at("tokenizer_class"), "GPT2Tokenizer");
  EXPECT_EQ(config.at("add_prefix_space"), false);
  EXPECT_EQ(config.at("added_tokens_decoder").at("999").at("content"), "<|endoftext|>");
  EXPECT_EQ(config.at("added_tokens_decoder").at("999").at("special"), true);
  EXPECT_EQ(config.at("added_tokens_decoder").at("1008").at("content"), "[laugh]");
  EXPECT_EQ(config.at("added_tokens_decoder").at("1008").at("special"), false);

  // The files the program returns are the files it writes, whatever the seed or size.
  for (const auto& [name, text] : chatterbox::testmodel::gpt2_tokenizer_files())
    EXPECT_EQ(text, unit::read_bytes(dir + "/" + name)) << name;
  // Every id fits the full-size T3's text vocabulary.
  EXPECT_LT(1008, planned(Size::kFull, "t3_turbo_v1.safetensors", ModelVariant::kTurbo)
                      .at("text_emb.weight")
                      .second[0]);
}

TEST(TestModel, TinyNanoDirectoryIsComplete) {
  unit::TempDir dir;
  chatterbox::testmodel::write_test_model(dir.file("nano"), Size::kTiny, 3, ModelVariant::kNano);
  chatterbox::testmodel::write_test_model(dir.file("turbo"), Size::kTiny, 3, ModelVariant::kTurbo);
  std::set<std::string> expect = kGpt2TokenizerFiles;
  expect.insert({"t3_nano_v1.safetensors", "s3gen_meanflow.safetensors", "ve.safetensors",
                 "conds.pt", "t3_nano_v1.json", "s3gen_meanflow.json", "ve.json"});
  EXPECT_EQ(files_in(dir.file("nano")), expect);
  chatterbox::SafetensorsFile t3(dir.file("nano/t3_nano_v1.safetensors"));
  EXPECT_EQ(of_file(t3), of_file(chatterbox::SafetensorsFile(std::string(ORACLE_TURBO_DIR) +
                                                             "/weights/t3_turbo_v1.safetensors")));
  EXPECT_GT(t3.tensor("speech_head.bias")[6562].item<float>(), 11.0f);
  const auto config = read_json(dir.file("nano/t3_nano_v1.json"));
  EXPECT_EQ(config["gpt2_config"]["n_embd"], 64);
  EXPECT_EQ(config["real_values_that_differ"]["gpt2"]["n_embd"], 768);
  EXPECT_EQ(config["real_values_that_differ"]["gpt2"]["n_layer"], 12);
  EXPECT_EQ(config["real_values_that_differ"]["t3_config"]["llama_config_name"], "GPT2_small");
  EXPECT_EQ(config["seed"], 3);
  // Same S3Gen, VE, tokenizer and voice as Turbo for the same seed.
  for (const auto& f : {"s3gen_meanflow.safetensors", "ve.safetensors", "vocab.json", "merges.txt",
                        "s3gen_meanflow.json"})
    EXPECT_EQ(unit::read_bytes(dir.file(std::string("nano/") + f)),
              unit::read_bytes(dir.file(std::string("turbo/") + f)))
        << f;
}

TEST(TestModel, TurboDeterministicPerSeed) {
  unit::TempDir dir;
  chatterbox::testmodel::write_test_model(dir.file("a"), Size::kTiny, 5, ModelVariant::kTurbo);
  chatterbox::testmodel::write_test_model(dir.file("b"), Size::kTiny, 5, ModelVariant::kTurbo);
  chatterbox::testmodel::write_test_model(dir.file("c"), Size::kTiny, 6, ModelVariant::kTurbo);
  for (const auto& f : files_in(dir.file("a")))
    EXPECT_EQ(unit::read_bytes(dir.file("a/" + f)), unit::read_bytes(dir.file("b/" + f))) << f;
  EXPECT_NE(unit::read_bytes(dir.file("a/t3_turbo_v1.safetensors")),
            unit::read_bytes(dir.file("c/t3_turbo_v1.safetensors")));
  EXPECT_NE(unit::read_bytes(dir.file("a/s3gen_meanflow.safetensors")),
            unit::read_bytes(dir.file("c/s3gen_meanflow.safetensors")));
  for (const auto& f : kGpt2TokenizerFiles)
    EXPECT_EQ(unit::read_bytes(dir.file("a/" + f)), unit::read_bytes(dir.file("c/" + f))) << f;
}

TEST(TestModel, MultilingualFullLayoutIsTheReleasedCheckpoint) {
  // The multilingual T3 as released; S3Gen and ve are the English files.
  const auto real = read_json(std::string(ORACLE_MTL_DIR) + "/mtl_real_checkpoint_layout.json");
  const Layout expect = of_json(real, "t3_mtl23ls_v2.safetensors");
  EXPECT_EQ(planned(Size::kFull, "t3_mtl23ls_v2.safetensors", ModelVariant::kMultilingual), expect);
  EXPECT_EQ(expect.size(), 292u);
  for (const char* file : {"s3gen.safetensors", "ve.safetensors"})
    EXPECT_EQ(planned(Size::kFull, file, ModelVariant::kMultilingual), planned(Size::kFull, file))
        << file;
  EXPECT_EQ(
      planned_files(Size::kFull, ModelVariant::kMultilingual),
      (std::set<std::string>{"t3_mtl23ls_v2.safetensors", "s3gen.safetensors", "ve.safetensors"}));
}

TEST(TestModel, TinyMultilingualDirectoryIsComplete) {
  const std::string dir = TINY_MTL_MODEL_DIR;
  EXPECT_EQ(files_in(dir),
            (std::set<std::string>{"t3_mtl23ls_v2.safetensors", "t3_mtl23ls_v2.json",
                                   "s3gen.safetensors", "s3gen.json", "ve.safetensors", "ve.json",
                                   "grapheme_mtl_merged_expanded_v1.json", "Cangjie5_TC.json",
                                   "conds.pt"}));
  // The T3 has the multilingual oracle's small layout (14 layers of 16 heads: what the
  // alignment control reads) and a 2454-id text vocabulary.
  chatterbox::SafetensorsFile oracle(std::string(ORACLE_MTL_DIR) +
                                     "/weights/t3_mtl23ls_v2.safetensors");
  chatterbox::SafetensorsFile made(dir + "/t3_mtl23ls_v2.safetensors");
  EXPECT_EQ(of_file(made), of_file(oracle));
  EXPECT_EQ(made.entry("text_emb.weight").shape[0], 2454);
  auto m = chatterbox::locate_model(dir);
  EXPECT_EQ(m.variant, ModelVariant::kMultilingual);
  EXPECT_EQ(m.tokenizer, dir + "/grapheme_mtl_merged_expanded_v1.json");
  EXPECT_EQ(m.cangjie, dir + "/Cangjie5_TC.json");
  EXPECT_EQ(m.t3_config["t3_config"]["text_tokens_dict_size"], 2454);
  auto c = chatterbox::load_conds(m.conds, at::TensorOptions().dtype(at::kFloat));
  EXPECT_EQ(c.cond_prompt_speech_tokens.sizes().vec(), (std::vector<int64_t>{1, 150}));
}

TEST(ModelDir, MultilingualFilesCangjieAndPreference) {
  unit::TempDir dir;
  const fs::path d(dir.path());
  // The files the Python package downloads: s3gen.pt and ve.pt instead of the .safetensors.
  for (const char* f : {"t3_mtl23ls_v2.safetensors", "grapheme_mtl_merged_expanded_v1.json"})
    fs::create_symlink(fs::path(TINY_MTL_MODEL_DIR) / f, d / f);
  unit::write_bytes(dir.file("s3gen.pt"), "x");
  unit::write_bytes(dir.file("ve.pt"), "x");
  expect_error(
      [&] { chatterbox::locate_model(dir.path()); }, ErrorKind::kModelFile,
      {"Multilingual", "s3gen.safetensors", "ve.safetensors", "s3gen.pt", "download-model.sh"});
  for (const char* f : {"s3gen.safetensors", "ve.safetensors"})
    fs::create_symlink(fs::path(TINY_MTL_MODEL_DIR) / f, d / f);
  auto m = chatterbox::locate_model(dir.path());
  EXPECT_EQ(m.variant, ModelVariant::kMultilingual);
  EXPECT_TRUE(m.conds.empty());    // conds.pt is optional
  EXPECT_TRUE(m.cangjie.empty());  // so is the Cangjie table
  // Where the reference's hf_hub_download(cache_dir=<model dir>) puts the Cangjie table.
  const fs::path snapshot = d / "models--ResembleAI--chatterbox" / "snapshots" / "rev1";
  fs::create_directories(snapshot);
  unit::write_bytes((snapshot / "Cangjie5_TC.json").string(), "[]");
  EXPECT_EQ(chatterbox::locate_model(dir.path()).cangjie, (snapshot / "Cangjie5_TC.json").string());
  // The complete English files as well: the English model is used.
  for (const char* f : {"t3_cfg.safetensors", "tokenizer.json", "conds.pt"})
    fs::create_symlink(fs::path(TINY_MODEL_DIR) / f, d / f);
  EXPECT_EQ(chatterbox::locate_model(dir.path()).variant, ModelVariant::kEnglish);
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
  expect_error([&] { chatterbox::load_conds(dir.file("none.pt"), at::kFloat); },
               ErrorKind::kModelFile, {"none.pt"});
  unit::write_bytes(dir.file("junk.pt"), "PK\x03\x04 this is not a zip file at all");
  expect_error([&] { chatterbox::load_conds(dir.file("junk.pt"), at::kFloat); },
               ErrorKind::kModelFile, {"junk.pt", "torch.save"});
  unit::write_bytes(dir.file("garbage.pt"), std::string(200, '\x7f'));
  expect_error([&] { chatterbox::load_conds(dir.file("garbage.pt"), at::kFloat); },
               ErrorKind::kModelFile, {"garbage.pt"});
  // A valid file cut short.
  const std::string good = unit::read_bytes(std::string(TINY_MODEL_DIR) + "/conds.pt");
  unit::write_bytes(dir.file("cut.pt"), good.substr(0, good.size() / 2));
  expect_error([&] { chatterbox::load_conds(dir.file("cut.pt"), at::kFloat); },
               ErrorKind::kModelFile, {"cut.pt"});

  // Schema errors: write valid pickles with something wrong and check the message names the key.
  chatterbox::VoiceConditioning c;
  c.speaker_emb = at::randn({1, 256});
  c.cond_prompt_speech_tokens = at::randint(0, 6561, {1, 10}, at::kLong);
  c.prompt_token = at::randint(0, 6561, {1, 5}, at::kLong);
  c.prompt_feat = at::randn({1, 10, 80});
  c.embedding = at::randn({1, 192});
  auto expect_bad = [&](chatterbox::VoiceConditioning bad,
                        std::initializer_list<std::string> needles) {
    chatterbox::save_conds(bad, dir.file("bad.pt"));
    expect_error([&] { chatterbox::load_conds(dir.file("bad.pt"), at::kFloat); },
                 ErrorKind::kModelFile, needles);
  };
  {
    auto b = c;
    b.speaker_emb = at::randn({1, 255});
    expect_bad(b, {"t3.speaker_emb", "shape"});
  }
  {
    auto b = c;
    b.prompt_feat = at::randn({1, 11, 80});
    expect_bad(b, {"gen.prompt_feat", "[1, 10, 80]"});
  }
  {
    auto b = c;
    b.prompt_token = at::full({1, 5}, 7000, at::kLong);
    expect_bad(b, {"gen.prompt_token", "codebook"});
  }
  {
    auto b = c;
    b.embedding = at::full({1, 192}, NAN);
    expect_bad(b, {"NaN"});
  }
  expect_error([&] { chatterbox::save_conds(chatterbox::VoiceConditioning{}, dir.file("x.pt")); },
               ErrorKind::kInvalidInput, {"incomplete"});
}

TEST(ModelDir, ExplicitDirectoryReportsMissingFiles) {
  unit::TempDir dir;
  unit::write_bytes(dir.file("tokenizer.json"), "{}");
  expect_error(
      [&] { chatterbox::locate_model(dir.path()); }, ErrorKind::kModelFile,
      {dir.path(), "t3_cfg.safetensors", "s3gen.safetensors", "ve.safetensors", "conds.pt"});
  expect_error([&] { chatterbox::locate_model(dir.file("nope")); }, ErrorKind::kModelFile,
               {"nope", "no such directory"});
}

TEST(ModelDir, SearchPathEnvironmentAndHubCache) {
  unit::TempDir dir;
  // A fake hub cache: models--ResembleAI--chatterbox/snapshots/<rev> linking the tiny model files.
  const fs::path repo = fs::path(dir.path()) / "hub" / "models--ResembleAI--chatterbox";
  fs::create_directories(repo / "snapshots" / "abc123");
  fs::create_directories(repo / "refs");
  unit::write_bytes((repo / "refs" / "main").string(), "abc123");
  for (const char* f :
       {"t3_cfg.safetensors", "s3gen.safetensors", "ve.safetensors", "tokenizer.json", "conds.pt"})
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

  if (saved_model)
    setenv("CHATTERBOX_MODEL_DIR", keep_model.c_str(), 1);
  else
    unsetenv("CHATTERBOX_MODEL_DIR");
  if (saved_hf)
    setenv("HF_HOME", keep_hf.c_str(), 1);
  else
    unsetenv("HF_HOME");
  if (saved_hub) setenv("HF_HUB_CACHE", keep_hub.c_str(), 1);
}

TEST(ModelDir, BadOverrideJson) {
  unit::TempDir dir;
  for (const char* f :
       {"t3_cfg.safetensors", "s3gen.safetensors", "ve.safetensors", "tokenizer.json", "conds.pt"})
    fs::create_symlink(fs::path(TINY_MODEL_DIR) / f, fs::path(dir.path()) / f);
  unit::write_bytes(dir.file("t3_cfg.json"), "{broken");
  expect_error([&] { chatterbox::locate_model(dir.path()); }, ErrorKind::kModelFile,
               {"t3_cfg.json", "JSON"});
}
