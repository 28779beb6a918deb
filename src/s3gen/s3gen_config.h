// Hyper-parameters of S3Gen (chatterbox/models/s3gen/s3gen.py, S3Token2Mel / S3Token2Wav, whose
// constructors hard-code the sizes). Every default is the OFFICIAL full-size English model;
// `from_json` reads the oracle's weights/s3gen.json format, which is how tiny test models
// describe themselves (a null json keeps the official values).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

namespace chatterbox {

// ---------------------------------------------------------------------------------------------
// HiFT vocoder: HiFTGenerator (hifigan.py) with SourceModuleHnNSF / SineGen and the
// ConvRNNF0Predictor (f0_predictor.py), as S3Token2Wav builds it (24 kHz, upsample 8 x 5 x 3,
// iSTFT n_fft 16 / hop 4: 480 samples per mel frame).
// ---------------------------------------------------------------------------------------------
struct HiftConfig {
  // HiFTGenerator
  int64_t in_channels = 80;           // mel bins
  int64_t base_channels = 512;        // conv_pre width; halves at every upsampling stage
  int64_t nb_harmonics = 8;           // overtones above F0: 9 sinusoids in all
  int64_t sampling_rate = 24000;
  double nsf_alpha = 0.1;             // sine amplitude
  double nsf_sigma = 0.003;           // noise std in voiced samples (unvoiced: nsf_alpha / 3)
  double nsf_voiced_threshold = 10;   // Hz; F0 above it is voiced
  std::vector<int64_t> upsample_rates{8, 5, 3};
  std::vector<int64_t> upsample_kernel_sizes{16, 11, 7};
  int64_t istft_n_fft = 16;
  int64_t istft_hop_len = 4;
  std::vector<int64_t> resblock_kernel_sizes{3, 7, 11};
  std::vector<std::vector<int64_t>> resblock_dilation_sizes{{1, 3, 5}, {1, 3, 5}, {1, 3, 5}};
  std::vector<int64_t> source_resblock_kernel_sizes{7, 7, 11};
  std::vector<std::vector<int64_t>> source_resblock_dilation_sizes{{1, 3, 5}, {1, 3, 5}, {1, 3, 5}};
  double lrelu_slope = 0.1;           // inside the upsampling loop (0.01 before conv_post)
  double audio_limit = 0.99;          // output clamp

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
