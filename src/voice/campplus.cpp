#include "voice/campplus.h"

#include <ATen/ATen.h>

#include <nlohmann/json.hpp>
#include <string>

namespace chatterbox {

namespace {
constexpr double kBnEps = 1e-5;
}

CampplusConfig CampplusConfig::from_json(const nlohmann::json& j) {
  CampplusConfig c;
  if (!j.is_object()) return c;
  c.feat_dim = j.value("feat_dim", c.feat_dim);
  c.embedding_size = j.value("embedding_size", c.embedding_size);
  c.growth_rate = j.value("growth_rate", c.growth_rate);
  c.bn_size = j.value("bn_size", c.bn_size);
  c.init_channels = j.value("init_channels", c.init_channels);
  return c;
}

void BatchNorm::load(WeightReader r, int64_t channels, bool affine) {
  if (affine) {
    weight = r.take("weight", {channels});
    bias = r.take("bias", {channels});
  }
  running_mean = r.take("running_mean", {channels});
  running_var = r.take("running_var", {channels});
}

at::Tensor BatchNorm::operator()(const at::Tensor& x) const {
  return at::batch_norm(x, weight, bias, running_mean, running_var, /*training=*/false, 0.0, kBnEps,
                        /*cudnn_enabled=*/true);
}

Campplus::Campplus(const CampplusConfig& config, WeightReader reader)
    : config_(config), fbank_(config.feat_dim, reader.options()) {
  const int64_t m = config_.m_channels;
  // FCM head: conv1 + bn1, layer1/layer2 (2 BasicResBlocks each, first with stride 2), conv2 + bn2
  WeightReader h = reader.scoped("head.");
  head_conv1_ = h.take("conv1.weight", {m, 1, 3, 3});
  head_bn1_.load(h.scoped("bn1."), m);
  for (int layer = 1; layer <= 2; ++layer) {
    for (int b = 0; b < 2; ++b) {
      WeightReader r = h.scoped("layer" + std::to_string(layer) + "." + std::to_string(b) + ".");
      ResBlock block;
      block.stride = b == 0 ? 2 : 1;
      block.conv1 = r.take("conv1.weight", {m, m, 3, 3});
      block.bn1.load(r.scoped("bn1."), m);
      block.conv2 = r.take("conv2.weight", {m, m, 3, 3});
      block.bn2.load(r.scoped("bn2."), m);
      if (block.stride != 1) {
        block.shortcut_conv = r.take("shortcut.0.weight", {m, m, 1, 1});
        block.shortcut_bn.load(r.scoped("shortcut.1."), m);
      }
      head_layers_.push_back(std::move(block));
    }
  }
  head_conv2_ = h.take("conv2.weight", {m, m, 3, 3});
  head_bn2_.load(h.scoped("bn2."), m);

  WeightReader x = reader.scoped("xvector.");
  const int64_t head_channels = m * (config_.feat_dim / 8);
  int64_t channels = config_.init_channels;
  tdnn_linear_ = x.take("tdnn.linear.weight", {channels, head_channels, 5});
  tdnn_bn_.load(x.scoped("tdnn.nonlinear.batchnorm."), channels);
  const int64_t num_layers[3] = {12, 24, 16}, dilations[3] = {1, 2, 2};
  const int64_t growth = config_.growth_rate, bn = config_.bn_size * config_.growth_rate;
  for (int i = 0; i < 3; ++i) {
    DenseBlock block;
    block.dilation = dilations[i];
    block.in_channels = channels;
    WeightReader br = x.scoped("block" + std::to_string(i + 1) + ".");
    for (int64_t n = 0; n < num_layers[i]; ++n) {
      WeightReader r = br.scoped("tdnnd" + std::to_string(n + 1) + ".");
      const int64_t c_in = channels + n * growth;
      DenseLayer l;
      l.nonlinear1.load(r.scoped("nonlinear1.batchnorm."), c_in);
      l.linear1 = r.take("linear1.weight", {bn, c_in, 1});
      l.nonlinear2.load(r.scoped("nonlinear2.batchnorm."), bn);
      l.linear_local = r.take("cam_layer.linear_local.weight", {growth, bn, 3});
      l.cam_linear1_w = r.take("cam_layer.linear1.weight", {bn / 2, bn, 1});
      l.cam_linear1_b = r.take("cam_layer.linear1.bias", {bn / 2});
      l.cam_linear2_w = r.take("cam_layer.linear2.weight", {growth, bn / 2, 1});
      l.cam_linear2_b = r.take("cam_layer.linear2.bias", {growth});
      block.layers.push_back(std::move(l));
    }
    channels += num_layers[i] * growth;
    WeightReader t = x.scoped("transit" + std::to_string(i + 1) + ".");
    block.transit_bn.load(t.scoped("nonlinear.batchnorm."), channels);
    block.transit_linear = t.take("linear.weight", {channels / 2, channels, 1});
    channels /= 2;
    blocks_.push_back(std::move(block));
  }
  out_bn_.load(x.scoped("out_nonlinear.batchnorm."), channels);
  dense_linear_ = x.take("dense.linear.weight", {config_.embedding_size, channels * 2, 1});
  dense_bn_.load(x.scoped("dense.nonlinear.batchnorm."), config_.embedding_size, /*affine=*/false);
  reader.finish();
}

// FCM.forward: x [B, 80, T] -> [B, 1, 80, T] -> 2-D ResNet with frequency-only strides
// -> [B, 32, 10, T] -> [B, 320, T] (channel index c * 10 + f).
at::Tensor Campplus::head(const at::Tensor& x) const {
  at::Tensor out = at::relu(head_bn1_(at::conv2d(x.unsqueeze(1), head_conv1_, {}, 1, 1)));
  for (const ResBlock& b : head_layers_) {
    const std::vector<int64_t> stride = {b.stride, 1};
    at::Tensor y = at::relu(b.bn1(at::conv2d(out, b.conv1, {}, stride, 1)));
    y = b.bn2(at::conv2d(y, b.conv2, {}, 1, 1));
    at::Tensor shortcut = b.shortcut_conv.defined()
                              ? b.shortcut_bn(at::conv2d(out, b.shortcut_conv, {}, stride))
                              : out;
    out = at::relu(y + shortcut);
  }
  out = at::relu(head_bn2_(at::conv2d(out, head_conv2_, {}, {2, 1}, 1)));     // [B, 32, 10, T]
  return out.reshape({out.size(0), out.size(1) * out.size(2), out.size(3)});  // [B, 320, T]
}

// CAMDenseTDNNLayer.forward: x [B, c_in, T] -> [B, growth, T]
at::Tensor Campplus::dense_layer(const DenseLayer& l, const at::Tensor& x, int64_t dilation) const {
  at::Tensor h = at::conv1d(at::relu(l.nonlinear1(x)), l.linear1);  // [B, bn, T]
  h = at::relu(l.nonlinear2(h));
  // CAMLayer: local conv gated by a context of the global mean plus 100-frame segment means
  at::Tensor y =
      at::conv1d(h, l.linear_local, at::Tensor(), at::IntArrayRef{1}, at::IntArrayRef{dilation},
                 at::IntArrayRef{dilation});  // [B, growth, T]
  const int64_t T = h.size(-1), seg_len = 100;
  at::Tensor seg =
      at::avg_pool1d(h, {seg_len}, {seg_len}, {0}, /*ceil_mode=*/true);  // [B, bn, ceil(T/100)]
  seg = seg.unsqueeze(-1)
            .expand({seg.size(0), seg.size(1), seg.size(2), seg_len})
            .reshape({seg.size(0), seg.size(1), -1})
            .narrow(-1, 0, T);  // [B, bn, T]
  at::Tensor context = h.mean(-1, /*keepdim=*/true) + seg;
  context = at::relu(at::conv1d(context, l.cam_linear1_w, l.cam_linear1_b));
  at::Tensor gate = at::sigmoid(at::conv1d(context, l.cam_linear2_w, l.cam_linear2_b));
  return y * gate;
}

at::Tensor Campplus::forward(const at::Tensor& feats) const {
  at::Tensor x = head(feats.permute({0, 2, 1}));  // [B, 320, T]
  x = at::relu(tdnn_bn_(at::conv1d(x, tdnn_linear_, at::Tensor(), at::IntArrayRef{2},
                                   at::IntArrayRef{2})));  // [B, init, T']
  const int64_t growth = config_.growth_rate;
  for (const DenseBlock& block : blocks_) {
    // The dense concatenation [x, y1, y2, ...] is written into one preallocated buffer; each layer
    // reads the prefix of channels that exists so far (same values as torch.cat per layer).
    const int64_t c_total = block.in_channels + static_cast<int64_t>(block.layers.size()) * growth;
    at::Tensor buf = at::empty({x.size(0), c_total, x.size(2)}, x.options());
    buf.narrow(1, 0, block.in_channels).copy_(x);
    int64_t c = block.in_channels;
    for (const DenseLayer& l : block.layers) {
      buf.narrow(1, c, growth).copy_(dense_layer(l, buf.narrow(1, 0, c), block.dilation));
      c += growth;
    }
    x = at::conv1d(at::relu(block.transit_bn(buf)), block.transit_linear);  // TransitLayer
  }
  x = at::relu(out_bn_(x));  // [B, C, T']
  // StatsPool: mean and unbiased std over time -> [B, 2C]; DenseLayer on the vector
  at::Tensor stats = at::cat({x.mean(-1), x.std(-1, /*unbiased=*/true)}, -1);
  at::Tensor emb = at::conv1d(stats.unsqueeze(-1), dense_linear_).squeeze(-1);  // [B, 192]
  return dense_bn_(emb);
}

}  // namespace chatterbox
