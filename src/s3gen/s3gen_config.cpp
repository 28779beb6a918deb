// FlowConfig::from_json: see s3gen_config.h.
#include "s3gen/s3gen_config.h"

#include <string>

#include "common/error.h"

namespace chatterbox {

namespace {

// Reads `key` of `obj` into `value` when present and not null.
template <typename T>
void read(const nlohmann::json& obj, const char* key, T& value) {
  if (obj.is_object() && obj.contains(key) && !obj[key].is_null()) value = obj[key].get<T>();
}

// Throws unless `obj[key]` is absent/null or equals `expected`: a setting this port does not
// implement must not be silently ignored.
template <typename T>
void require(const nlohmann::json& obj, const char* section, const char* key, const T& expected) {
  if (!obj.is_object() || !obj.contains(key) || obj[key].is_null()) return;
  if (obj[key].get<T>() != expected) {
    throw Error(ErrorKind::kModelFile, std::string("s3gen.json: ") + section + "." + key + " = " +
                                           obj[key].dump() + " is not supported by this port");
  }
}

const nlohmann::json& section(const nlohmann::json& root, const char* name) {
  static const nlohmann::json kNull;
  if (root.is_object() && root.contains(name)) return root[name];
  return kNull;
}

}  // namespace

FlowConfig FlowConfig::from_json(const nlohmann::json& s3gen_json) {
  FlowConfig c;
  if (s3gen_json.is_null()) return c;
  try {
    const auto& flow = section(s3gen_json, "flow");
    read(flow, "vocab_size", c.vocab_size);
    read(flow, "input_size", c.input_size);
    read(flow, "output_size", c.output_size);
    read(flow, "spk_embed_dim", c.spk_embed_dim);
    read(flow, "token_mel_ratio", c.token_mel_ratio);
    read(flow, "pre_lookahead_len", c.pre_lookahead_len);

    const auto& enc = section(s3gen_json, "encoder");
    read(enc, "output_size", c.encoder_output_size);
    read(enc, "attention_heads", c.encoder_heads);
    read(enc, "linear_units", c.encoder_linear_units);
    read(enc, "num_blocks", c.encoder_num_blocks);
    read(enc, "num_up_blocks", c.encoder_num_up_blocks);
    read(enc, "key_bias", c.encoder_key_bias);
    read(section(enc, "up_layer"), "stride", c.encoder_up_stride);
    require<std::string>(enc, "encoder", "input_layer", "linear");
    require<std::string>(enc, "encoder", "pos_enc_layer_type", "rel_pos_espnet");
    require<std::string>(enc, "encoder", "selfattention_layer_type", "rel_selfattn");
    require<std::string>(enc, "encoder", "activation_type", "swish");
    require<bool>(enc, "encoder", "normalize_before", true);
    require<bool>(enc, "encoder", "macaron_style", false);
    require<bool>(enc, "encoder", "use_cnn_module", false);
    require<int64_t>(enc, "encoder", "static_chunk_size", 0);

    const auto& est = section(s3gen_json, "estimator");
    read(est, "in_channels", c.estimator_in_channels);
    read(est, "out_channels", c.estimator_out_channels);
    read(est, "channels", c.estimator_channels);
    read(est, "n_blocks", c.estimator_n_blocks);
    read(est, "num_mid_blocks", c.estimator_num_mid_blocks);
    read(est, "num_heads", c.estimator_num_heads);
    read(est, "attention_head_dim", c.estimator_attention_head_dim);
    require<bool>(est, "estimator", "causal", true);
    require<std::string>(est, "estimator", "act_fn", "gelu");
    read(est, "meanflow", c.meanflow);
    if (!c.estimator_channels.empty()) {
      require<int64_t>(est, "estimator", "time_embed_dim", c.time_embed_dim());
    }

    const auto& cfm = section(s3gen_json, "cfm");
    read(cfm, "n_timesteps", c.n_timesteps);
    const auto& params = section(cfm, "cfm_params");
    read(params, "inference_cfg_rate", c.inference_cfg_rate);
    require<std::string>(params, "cfm.cfm_params", "solver", "euler");
    if (params.is_object() && params.contains("t_scheduler") && params["t_scheduler"].is_string()) {
      const std::string sched = params["t_scheduler"].get<std::string>();
      if (sched != "cosine" && sched != "linear") {
        throw Error(ErrorKind::kModelFile, "s3gen.json: cfm.cfm_params.t_scheduler = " + sched +
                                               " is not supported by this port");
      }
      c.cosine_t_schedule = sched == "cosine";
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::kModelFile,
                std::string("s3gen.json: malformed flow settings: ") + e.what());
  }
  if (c.estimator_channels.size() != 1) {
    throw Error(ErrorKind::kModelFile,
                "s3gen.json: estimator.channels must have one entry (one U-Net level)");
  }
  if (c.encoder_output_size % c.encoder_heads != 0 ||
      c.estimator_in_channels != 4 * c.output_size) {
    throw Error(ErrorKind::kModelFile, "s3gen.json: inconsistent flow sizes");
  }
  return c;
}

}  // namespace chatterbox
