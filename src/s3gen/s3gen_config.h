// Hyper-parameters of S3Gen (chatterbox/models/s3gen/s3gen.py, S3Token2Mel / S3Token2Wav, whose
// constructors hard-code the sizes). Every default is the OFFICIAL full-size English model;
// `from_json` reads the oracle's weights/s3gen.json format, which is how tiny test models
// describe themselves (a null json keeps the official values).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

namespace chatterbox {

// ---------------------------------------------------------------------------------------------
// Flow: CausalMaskedDiffWithXvec (flow.py) = token embedding + UpsampleConformerEncoder
// (transformer/upsample_encoder.py) + CausalConditionalCFM (flow_matching.py) whose estimator is
// the causal ConditionalDecoder U-Net (decoder.py).
// ---------------------------------------------------------------------------------------------
struct FlowConfig {
  // CausalMaskedDiffWithXvec
  int64_t vocab_size = 6561;      // S3 speech tokens (3^8)
  int64_t input_size = 512;       // token embedding width (= encoder input width)
  int64_t output_size = 80;       // mel bins
  int64_t spk_embed_dim = 192;    // CAMPPlus x-vector
  int64_t token_mel_ratio = 2;    // mel frames per token (25 Hz tokens -> 50 Hz mel)
  int64_t pre_lookahead_len = 3;  // tokens of look-ahead in the encoder

  // UpsampleConformerEncoder ("linear" input layer, "rel_pos_espnet", "rel_selfattn", swish FFN,
  // pre-norm, no macaron FFN, no conv module, full attention: static_chunk_size 0)
  int64_t encoder_output_size = 512;  // D
  int64_t encoder_heads = 8;          // H (head dim D / H = 64)
  int64_t encoder_linear_units = 2048;
  int64_t encoder_num_blocks = 6;     // before the x2 upsample
  int64_t encoder_num_up_blocks = 4;  // after it
  int64_t encoder_up_stride = 2;      // nearest x2, then Conv1d(k = 2 * stride + 1)
  bool encoder_key_bias = true;

  // ConditionalDecoder (causal U-Net estimator)
  int64_t estimator_in_channels = 320;  // [x, mu, spks, cond] x 80
  int64_t estimator_out_channels = 80;
  std::vector<int64_t> estimator_channels{256};  // one level: no real down/up-sampling
  int64_t estimator_n_blocks = 4;                // transformer blocks per level
  int64_t estimator_num_mid_blocks = 12;
  int64_t estimator_num_heads = 8;
  int64_t estimator_attention_head_dim = 64;
  int64_t time_embed_dim() const { return estimator_channels.at(0) * 4; }  // 1024
  // Mean-flow estimator (Chatterbox-Turbo, ConditionalDecoder(meanflow=True)): it also takes the
  // step's end time r and mixes the two time embeddings (time_embed_mixer). The CFM then runs
  // the mean-flow Euler solver (no CFG, linear t grid). Set by "estimator.meanflow" or, for a
  // checkpoint without a json, by the presence of the mixer tensor (FlowModel::load).
  bool meanflow = false;

  // CausalConditionalCFM
  int64_t n_timesteps = 0;  // Euler steps; 0: the model's default (default_n_timesteps)
  double inference_cfg_rate =
      0.7;                        // gamma: v = (1 + gamma) v_cond - gamma v_uncond (not mean-flow)
  bool cosine_t_schedule = true;  // t_k = 1 - cos(pi/2 * k/n) (not mean-flow: always linear)

  // The Euler steps a call that does not choose gets: n_timesteps when set, else what
  // S3Gen.flow_inference uses, 2 for mean-flow and 10 for the English CFM.
  int64_t default_n_timesteps() const {
    return n_timesteps > 0 ? n_timesteps : (meanflow ? 2 : 10);
  }

  // How this port runs, not read from s3gen.json: attention in the encoder and the estimator is
  // computed in blocks of query rows whose score buffer is about this many bytes (4 MB: small
  // enough to be reused from the heap rather than mapped afresh on every call). Tests set it
  // tiny to force many blocks on short inputs.
  int64_t attention_block_bytes = 4 << 20;

  // Reads the "flow", "encoder", "estimator" and "cfm" objects of s3gen.json (or of
  // s3gen_meanflow.json, whose estimator says "meanflow": true). Keys that are
  // absent keep their default; settings this port does not implement (another input layer,
  // positional encoding, activation, several U-Net levels, ...) throw Error(kModelFile).
  static FlowConfig from_json(const nlohmann::json& s3gen_json);
};

// ---------------------------------------------------------------------------------------------
// HiFT vocoder: HiFTGenerator (hifigan.py) with SourceModuleHnNSF / SineGen and the
// ConvRNNF0Predictor (f0_predictor.py), as S3Token2Wav builds it (24 kHz, upsample 8 x 5 x 3,
// iSTFT n_fft 16 / hop 4: 480 samples per mel frame).
// ---------------------------------------------------------------------------------------------
struct HiftConfig {
  // HiFTGenerator
  int64_t in_channels = 80;     // mel bins
  int64_t base_channels = 512;  // conv_pre width; halves at every upsampling stage
  int64_t nb_harmonics = 8;     // overtones above F0: 9 sinusoids in all
  int64_t sampling_rate = 24000;
  double nsf_alpha = 0.1;            // sine amplitude
  double nsf_sigma = 0.003;          // noise std in voiced samples (unvoiced: nsf_alpha / 3)
  double nsf_voiced_threshold = 10;  // Hz; F0 above it is voiced
  std::vector<int64_t> upsample_rates{8, 5, 3};
  std::vector<int64_t> upsample_kernel_sizes{16, 11, 7};
  int64_t istft_n_fft = 16;
  int64_t istft_hop_len = 4;
  std::vector<int64_t> resblock_kernel_sizes{3, 7, 11};
  std::vector<std::vector<int64_t>> resblock_dilation_sizes{{1, 3, 5}, {1, 3, 5}, {1, 3, 5}};
  std::vector<int64_t> source_resblock_kernel_sizes{7, 7, 11};
  std::vector<std::vector<int64_t>> source_resblock_dilation_sizes{{1, 3, 5}, {1, 3, 5}, {1, 3, 5}};
  double lrelu_slope = 0.1;   // inside the upsampling loop (0.01 before conv_post)
  double audio_limit = 0.99;  // output clamp

  // ConvRNNF0Predictor
  int64_t f0_in_channels = 80;
  int64_t f0_cond_channels = 512;
  int64_t f0_num_class = 1;

  // Output samples per mel frame: prod(upsample_rates) * hop (480).
  int64_t samples_per_frame() const;

  // Reads the "hift" and "f0_predictor" objects of s3gen.json. Absent keys keep their default;
  // inconsistent values (list lengths, a stage count the source fusion cannot express) throw
  // Error(kModelFile).
  static HiftConfig from_json(const nlohmann::json& s3gen_json);
};

}  // namespace chatterbox
