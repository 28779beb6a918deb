// T3Config::from_json: the oracle's weights/t3_cfg.json format.
#include "t3/t3_config.h"

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "io/safetensors.h"

namespace chatterbox {
namespace {

template <typename T>
void read(const nlohmann::json& obj, const char* key, T& out, const char* section) {
  if (!obj.is_object() || !obj.contains(key) || obj.at(key).is_null()) return;
  try {
    out = obj.at(key).get<T>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::kModelFile, std::string("t3 config: ") + section + "." + key +
                                           " has the wrong type: " + e.what());
  }
}

}  // namespace

T3Config T3Config::from_json(const nlohmann::json& j) {
  T3Config c;
  if (j.is_null()) return c;
  if (!j.is_object()) throw Error(ErrorKind::kModelFile, "t3 config: expected a JSON object");

  if (j.contains("llama_config")) {
    const auto& l = j.at("llama_config");
    read(l, "hidden_size", c.hidden_size, "llama_config");
    read(l, "intermediate_size", c.intermediate_size, "llama_config");
    read(l, "num_hidden_layers", c.num_hidden_layers, "llama_config");
    read(l, "num_attention_heads", c.num_attention_heads, "llama_config");
    c.num_key_value_heads = c.num_attention_heads;  // HF default when absent
    read(l, "num_key_value_heads", c.num_key_value_heads, "llama_config");
    c.head_dim = c.hidden_size / c.num_attention_heads;  // HF default when absent
    read(l, "head_dim", c.head_dim, "llama_config");
    read(l, "rms_norm_eps", c.rms_norm_eps, "llama_config");
    read(l, "vocab_size", c.llama_vocab_size, "llama_config");
    read(l, "max_position_embeddings", c.max_position_embeddings, "llama_config");
    read(l, "rope_theta", c.rope_theta, "llama_config");
    if (l.contains("rope_scaling")) {
      const auto& r = l.at("rope_scaling");
      if (r.is_null()) {
        c.rope_type = "default";
      } else {
        read(r, "rope_type", c.rope_type, "rope_scaling");
        read(r, "factor", c.rope_factor, "rope_scaling");
        read(r, "low_freq_factor", c.rope_low_freq_factor, "rope_scaling");
        read(r, "high_freq_factor", c.rope_high_freq_factor, "rope_scaling");
        read(r, "original_max_position_embeddings", c.rope_original_max_position_embeddings,
             "rope_scaling");
      }
    }
    std::string act = "silu";
    read(l, "hidden_act", act, "llama_config");
    bool attention_bias = false, mlp_bias = false;
    read(l, "attention_bias", attention_bias, "llama_config");
    read(l, "mlp_bias", mlp_bias, "llama_config");
    if (act != "silu" || attention_bias || mlp_bias)
      throw Error(ErrorKind::kModelFile,
                  "t3 config: only the SiLU, bias-free Llama of T3 is supported");
  }
  if (j.contains("t3_config")) {
    const auto& t = j.at("t3_config");
    read(t, "start_text_token", c.start_text_token, "t3_config");
    read(t, "stop_text_token", c.stop_text_token, "t3_config");
    read(t, "text_tokens_dict_size", c.text_tokens_dict_size, "t3_config");
    read(t, "max_text_tokens", c.max_text_tokens, "t3_config");
    read(t, "start_speech_token", c.start_speech_token, "t3_config");
    read(t, "stop_speech_token", c.stop_speech_token, "t3_config");
    read(t, "speech_tokens_dict_size", c.speech_tokens_dict_size, "t3_config");
    read(t, "max_speech_tokens", c.max_speech_tokens, "t3_config");
    read(t, "speech_cond_prompt_len", c.speech_cond_prompt_len, "t3_config");
    read(t, "speaker_embed_size", c.speaker_embed_size, "t3_config");
    read(t, "use_perceiver_resampler", c.use_perceiver_resampler, "t3_config");
    read(t, "emotion_adv", c.emotion_adv, "t3_config");
    std::string pos = "learned";
    read(t, "input_pos_emb", pos, "t3_config");
    if (pos != "learned")
      throw Error(ErrorKind::kModelFile,
                  "t3 config: input_pos_emb '" + pos + "' is not supported (only 'learned')");
  }
  if (j.contains("perceiver")) {
    const auto& p = j.at("perceiver");
    read(p, "pre_attention_query_token", c.perceiver_query_tokens, "perceiver");
    read(p, "pre_attention_query_size", c.perceiver_query_size, "perceiver");
    read(p, "embedding_dim", c.perceiver_embedding_dim, "perceiver");
    read(p, "num_attn_heads", c.perceiver_heads, "perceiver");
  }

  if (c.hidden_size <= 0 || c.num_attention_heads <= 0 || c.num_hidden_layers <= 0 ||
      c.head_dim <= 0 || c.intermediate_size <= 0 || c.head_dim % 2 != 0)
    throw Error(ErrorKind::kModelFile, "t3 config: non-positive sizes or odd head_dim");
  if (c.num_key_value_heads != c.num_attention_heads)
    throw Error(ErrorKind::kModelFile,
                "t3 config: grouped-query attention (num_key_value_heads != "
                "num_attention_heads) is not used by T3 and not supported");
  if (c.perceiver_heads <= 0 || c.perceiver_query_size % c.perceiver_heads != 0 ||
      c.perceiver_query_size != c.hidden_size || c.perceiver_embedding_dim != c.hidden_size)
    throw Error(ErrorKind::kModelFile,
                "t3 config: perceiver width must equal hidden_size and divide by its heads");
  if (c.rope_type != "llama3" && c.rope_type != "default")
    throw Error(ErrorKind::kModelFile,
                "t3 config: rope_type '" + c.rope_type + "' is not supported");
  return c;
}

T3Config T3Config::from_checkpoint(const SafetensorsFile& file, const nlohmann::json& j) {
  T3Config c = from_json(j);
  const bool json_vocab = j.is_object() && j.contains("t3_config") &&
                          j.at("t3_config").is_object() &&
                          j.at("t3_config").contains("text_tokens_dict_size");
  if (!json_vocab && file.contains("text_emb.weight")) {
    const auto& shape = file.entry("text_emb.weight").shape;
    if (shape.size() == 2) c.text_tokens_dict_size = shape[0];
  }
  return c;
}

}  // namespace chatterbox
