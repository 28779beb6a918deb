// T3TurboConfig (see t3_turbo_config.h).
#include "t3/t3_turbo_config.h"

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "common/error.h"

namespace chatterbox {
namespace {

template <typename T>
bool read(const nlohmann::json& obj, const char* key, T& out, const char* section) {
  if (!obj.is_object() || !obj.contains(key) || obj.at(key).is_null()) return false;
  try {
    out = obj.at(key).get<T>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::kModelFile, std::string("t3 turbo config: ") + section + "." + key +
                                           " has the wrong type: " + e.what());
  }
  return true;
}

void check_sizes(const T3TurboConfig& c) {
  const Gpt2Config& g = c.gpt2;
  if (g.hidden_size <= 0 || g.num_layers <= 0 || g.num_heads <= 0 || g.max_positions <= 0 ||
      g.hidden_size % g.num_heads != 0)
    throw Error(ErrorKind::kModelFile, "t3 turbo config: width " + std::to_string(g.hidden_size) +
                                           " is not a positive multiple of the head count " +
                                           std::to_string(g.num_heads) + ", or non-positive sizes");
  if (c.speech_tokens_dict_size <= c.stop_speech_token ||
      c.speech_tokens_dict_size <= c.start_speech_token || c.start_speech_token < 0 ||
      c.stop_speech_token < 0 || c.text_tokens_dict_size <= 0)
    throw Error(ErrorKind::kModelFile,
                "t3 turbo config: start/stop speech ids outside the speech vocabulary");
}

}  // namespace

T3TurboConfig T3TurboConfig::from_json(const nlohmann::json& j) {
  T3TurboConfig c;
  if (j.is_null()) return c;
  if (!j.is_object()) throw Error(ErrorKind::kModelFile, "t3 turbo config: expected a JSON object");
  if (j.contains("gpt2_config")) {
    const auto& g = j.at("gpt2_config");
    read(g, "n_embd", c.gpt2.hidden_size, "gpt2_config");
    read(g, "n_layer", c.gpt2.num_layers, "gpt2_config");
    read(g, "n_head", c.gpt2.num_heads, "gpt2_config");
    read(g, "n_positions", c.gpt2.max_positions, "gpt2_config");
    read(g, "layer_norm_epsilon", c.gpt2.layer_norm_eps, "gpt2_config");
    std::string act = "gelu_new";
    read(g, "activation_function", act, "gpt2_config");
    if (act != "gelu_new")
      throw Error(ErrorKind::kModelFile,
                  "t3 turbo config: activation '" + act + "' is not supported (gelu_new)");
    int64_t inner = 0;
    if (read(g, "n_inner", inner, "gpt2_config") && inner != c.gpt2.inner_size())
      throw Error(ErrorKind::kModelFile,
                  "t3 turbo config: n_inner other than 4 * n_embd is not supported");
    bool flag = false;
    if ((read(g, "scale_attn_by_inverse_layer_idx", flag, "gpt2_config") && flag) ||
        (read(g, "reorder_and_upcast_attn", flag, "gpt2_config") && flag))
      throw Error(ErrorKind::kModelFile,
                  "t3 turbo config: GPT-2 attention variants are not supported");
    bool scaled = true;
    if (read(g, "scale_attn_weights", scaled, "gpt2_config") && !scaled)
      throw Error(ErrorKind::kModelFile,
                  "t3 turbo config: unscaled GPT-2 attention is not supported");
  }
  if (j.contains("t3_config")) {
    const auto& t = j.at("t3_config");
    read(t, "text_tokens_dict_size", c.text_tokens_dict_size, "t3_config");
    read(t, "start_speech_token", c.start_speech_token, "t3_config");
    read(t, "stop_speech_token", c.stop_speech_token, "t3_config");
    read(t, "speech_tokens_dict_size", c.speech_tokens_dict_size, "t3_config");
    read(t, "speech_cond_prompt_len", c.speech_cond_prompt_len, "t3_config");
    read(t, "speaker_embed_size", c.speaker_embed_size, "t3_config");
    bool perceiver = false, emotion = false;
    read(t, "use_perceiver_resampler", perceiver, "t3_config");
    read(t, "emotion_adv", emotion, "t3_config");
    if (perceiver || emotion)
      throw Error(ErrorKind::kModelFile,
                  "t3 turbo config: a perceiver or emotion token is not part of Turbo");
    if (t.contains("input_pos_emb") && !t.at("input_pos_emb").is_null())
      throw Error(ErrorKind::kModelFile,
                  "t3 turbo config: T3 position embeddings are not part of Turbo "
                  "(input_pos_emb must be null)");
  }
  check_sizes(c);
  return c;
}

T3TurboConfig T3TurboConfig::from_checkpoint(const SafetensorsFile& file, const nlohmann::json& j) {
  T3TurboConfig c = from_json(j);
  const bool json_sizes = j.is_object() && j.contains("gpt2_config");
  const bool json_heads = json_sizes && j.at("gpt2_config").contains("n_head") &&
                          !j.at("gpt2_config").at("n_head").is_null();
  auto dim = [&](const char* name, size_t axis, int64_t& out) {
    if (!file.contains(name)) return;
    const auto& shape = file.entry(name).shape;
    if (shape.size() == 2) out = shape[axis];
  };
  Gpt2Config from_file = c.gpt2;
  dim("tfmr.wpe.weight", 0, from_file.max_positions);
  dim("tfmr.wpe.weight", 1, from_file.hidden_size);
  // Layers: tfmr.h.N.* with N = 0, 1, ... (the highest index + 1).
  int64_t layers = 0;
  const std::string prefix = "tfmr.h.";
  for (const SafetensorsEntry& e : file.entries()) {
    if (e.name.compare(0, prefix.size(), prefix) != 0) continue;
    const int64_t n = std::strtoll(e.name.c_str() + prefix.size(), nullptr, 10);
    if (n + 1 > layers) layers = n + 1;
  }
  if (layers > 0) from_file.num_layers = layers;
  if (json_sizes) {
    if (from_file.hidden_size != c.gpt2.hidden_size || from_file.num_layers != c.gpt2.num_layers)
      throw Error(ErrorKind::kModelFile, file.path() + ": the json describes a GPT-2 of width " +
                                             std::to_string(c.gpt2.hidden_size) + " and " +
                                             std::to_string(c.gpt2.num_layers) +
                                             " layers, the tensors width " +
                                             std::to_string(from_file.hidden_size) + " and " +
                                             std::to_string(from_file.num_layers) + " layers");
  }
  if (!json_heads) from_file.num_heads = from_file.hidden_size / 64;
  c.gpt2 = from_file;
  dim("text_emb.weight", 0, c.text_tokens_dict_size);
  dim("speech_emb.weight", 0, c.speech_tokens_dict_size);
  dim("cond_enc.spkr_enc.weight", 1, c.speaker_embed_size);
  check_sizes(c);
  return c;
}

}  // namespace chatterbox
