#include "bench_flops.h"

namespace bench {

using chatterbox::FlowConfig;
using chatterbox::HiftConfig;

FlowFlops flow_flops(const FlowConfig& c, int64_t tokens) {
  FlowFlops f;
  const double d = c.encoder_output_size, u = c.encoder_linear_units;
  auto conformer = [&](double t) {
    return 2 * (4 * t * d * d + (2 * t - 1) * d * d            // q, k, v, out; linear_pos
                + t * t * d + t * (2 * t - 1) * d + t * t * d  // ac, bd, attn v
                + 2 * t * d * u);                              // FFN
  };
  const double l = tokens, frames = 2.0 * tokens;
  f.encoder = 2 * l * c.input_size * d + 2 * l * 7 * d * d  // embed, pre-lookahead
              + c.encoder_num_blocks * conformer(l) + 2 * frames * 5 * d * d +
              2 * frames * d * d  // up conv, up_embed
              + c.encoder_num_up_blocks * conformer(frames) + 2 * frames * d * c.output_size;
  const double ch = c.estimator_channels[0];
  const double inner = c.estimator_num_heads * c.estimator_attention_head_dim;
  auto resnet = [&](double cin) { return 2 * frames * (3 * cin * ch + 3 * ch * ch + cin * ch); };
  const double transformer =
      2 * frames * (4 * ch * inner + 8 * ch * ch) + 2 * 2 * frames * frames * inner;
  const double blocks = c.estimator_n_blocks;
  double unet = resnet(c.estimator_in_channels) + resnet(2 * ch) +
                c.estimator_num_mid_blocks * resnet(ch) +
                (2 + c.estimator_num_mid_blocks) * blocks * transformer +
                3 * 2 * frames * 3 * ch * ch + 2 * frames * ch * c.output_size;
  f.cfm_step = (c.meanflow ? 1 : 2) * unet;  // CFG batch of 2; mean-flow runs without CFG
  return f;
}

// Conv/linear multiply-add FLOPs (2 per MAC) of one HiFT call on `frames` mel frames (the
// elementwise work -- Snake, STFT, sine source -- is not counted).
double hift_flops(const HiftConfig& c, int64_t frames) {
  const double f = double(frames);
  const double n_bins2 = double(c.istft_n_fft + 2);
  double flops = 0;
  const double cf = double(c.f0_cond_channels);
  flops += 2 * f * (c.f0_in_channels * cf * 3 + 4 * cf * cf * 3);  // F0 predictor
  flops += 2 * f * c.in_channels * double(c.base_channels) * 7;    // conv_pre
  double len = f;
  const size_t stages = c.upsample_rates.size();
  for (size_t i = 0; i < stages; ++i) {
    const double ch_in = double(c.base_channels >> i), ch = double(c.base_channels >> (i + 1));
    flops += 2 * len * ch_in * ch * double(c.upsample_kernel_sizes[i]);  // ups (transposed)
    len *= double(c.upsample_rates[i]);
    if (i + 1 == stages) len += 1;
    int64_t u = 1;
    for (size_t k = i + 1; k < stages; ++k) u *= c.upsample_rates[k];
    flops += 2 * len * n_bins2 * ch * double(u == 1 ? 1 : 2 * u);  // source_downs
    auto resblock = [&](int64_t kernel, size_t units) {
      return 2.0 * units * 2 * len * ch * ch * double(kernel);
    };
    flops +=
        resblock(c.source_resblock_kernel_sizes[i], c.source_resblock_dilation_sizes[i].size());
    for (size_t j = 0; j < c.resblock_kernel_sizes.size(); ++j) {
      flops += resblock(c.resblock_kernel_sizes[j], c.resblock_dilation_sizes[j].size());
    }
  }
  flops += 2 * len * double(c.base_channels >> stages) * n_bins2 * 7;  // conv_post
  return flops;
}

}  // namespace bench
