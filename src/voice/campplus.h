// CAMPPlus: the 192-d speaker x-vector S3Gen conditions on (docs/model.md §2.6, §7.5 CAMPPlus).
// Ports chatterbox/models/s3gen/xvector.py (CAMPPlus, FCM, BasicResBlock, TDNNLayer,
// CAMDenseTDNNBlock/Layer, CAMLayer, TransitLayer, StatsPool, DenseLayer, extract_feature).
// Checkpoint names under `speaker_encoder.`.
#pragma once

#include <ATen/Tensor.h>

#include <nlohmann/json_fwd.hpp>
#include <vector>

#include "io/weights.h"
#include "voice/mel.h"

namespace chatterbox {

// CAMPPlus(feat_dim, embedding_size, growth_rate, bn_size, init_channels,
// config_str="batchnorm-relu"). Defaults: the released model (S3Gen's speaker_encoder).
struct CampplusConfig {
  int64_t feat_dim = 80;
  int64_t embedding_size = 192;
  int64_t growth_rate = 32;
  int64_t bn_size = 4;
  int64_t init_channels = 128;
  int64_t m_channels = 32;  // FCM head width (fixed in the original)

  // Reads the "speaker_encoder" object of the oracle's s3gen.json; absent keys keep the defaults.
  static CampplusConfig from_json(const nlohmann::json& j);
};

// Eval-mode BatchNorm (eps 1e-5); weight/bias undefined when affine=False.
struct BatchNorm {
  at::Tensor weight, bias, running_mean, running_var;
  void load(WeightReader r, int64_t channels, bool affine = true);
  at::Tensor operator()(const at::Tensor& x) const;
};

class Campplus {
 public:
  // `reader` scoped to "speaker_encoder.".
  Campplus(const CampplusConfig& config, WeightReader reader);

  const CampplusConfig& config() const { return config_; }

  // The CMN-ed Kaldi fbank of a 16 kHz waveform [S] -> [F, 80] (extract_feature).
  at::Tensor fbank(const at::Tensor& wav16) const { return fbank_(wav16); }
  // CAMPPlus.forward: fbank [B, F, 80] -> x-vector [B, 192].
  at::Tensor forward(const at::Tensor& feats) const;
  // CAMPPlus.inference on one waveform [S] -> [1, 192].
  at::Tensor inference(const at::Tensor& wav16) const { return forward(fbank(wav16).unsqueeze(0)); }

 private:
  struct ResBlock {           // BasicResBlock (2-D)
    at::Tensor conv1, conv2;  // [C, C, 3, 3]
    BatchNorm bn1, bn2;
    at::Tensor shortcut_conv;  // [C, C, 1, 1], undefined for identity shortcuts
    BatchNorm shortcut_bn;
    int64_t stride = 1;  // along the frequency axis only
  };
  struct DenseLayer {                         // CAMDenseTDNNLayer
    BatchNorm nonlinear1;                     // [c_in]
    at::Tensor linear1;                       // [bn, c_in, 1]
    BatchNorm nonlinear2;                     // [bn]
    at::Tensor linear_local;                  // [growth, bn, 3]
    at::Tensor cam_linear1_w, cam_linear1_b;  // [bn / 2, bn, 1], [bn / 2]
    at::Tensor cam_linear2_w, cam_linear2_b;  // [growth, bn / 2, 1], [growth]
  };
  struct DenseBlock {
    std::vector<DenseLayer> layers;
    int64_t dilation = 1;
    int64_t in_channels = 0;
    BatchNorm transit_bn;       // transit{n}.nonlinear.batchnorm
    at::Tensor transit_linear;  // [out, in, 1]
  };

  at::Tensor head(const at::Tensor& x) const;  // [B, 80, T] -> [B, 320, T]
  at::Tensor dense_layer(const DenseLayer& l, const at::Tensor& x, int64_t dilation) const;

  CampplusConfig config_;
  KaldiFbank fbank_;
  // FCM head
  at::Tensor head_conv1_;  // [32, 1, 3, 3]
  BatchNorm head_bn1_;
  std::vector<ResBlock> head_layers_;  // layer1.{0,1}, layer2.{0,1}
  at::Tensor head_conv2_;              // [32, 32, 3, 3]
  BatchNorm head_bn2_;
  // xvector
  at::Tensor tdnn_linear_;  // [init, 320, 5]
  BatchNorm tdnn_bn_;
  std::vector<DenseBlock> blocks_;
  BatchNorm out_bn_;
  at::Tensor dense_linear_;  // [192, 2 * C, 1]
  BatchNorm dense_bn_;       // affine=False
};

}  // namespace chatterbox
