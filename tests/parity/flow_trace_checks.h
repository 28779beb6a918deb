// The flow's intermediates compared under the oracle's fixture names, shared by the English
// (s3gen_flow) and mean-flow (s3gen_meanflow_flow) checks: encoder, CFM inputs and the first
// step's estimator inputs. Each check adds what only its solver records.
#pragma once

#include <string>

#include "parity.h"
#include "s3gen/flow.h"

namespace parity {

inline void compare_flow_trace(Context& ctx, const std::string& fx, const chatterbox::FlowTrace& trace) {
  ctx.compare(fx, "spk_embed_projected", trace.spk_embed_projected, kModelOutput);
  ctx.compare(fx, "encoder_out", trace.encoder_out, kModelOutput);
  ctx.compare(fx, "encoder_mask", trace.encoder_mask);
  ctx.compare(fx, "encoder_proj_out", trace.encoder_proj_out, kModelOutput);
  ctx.compare(fx, "cfm.mu", trace.cfm_mu, kModelOutput);
  ctx.compare(fx, "cfm.mask", trace.cfm_mask, kModelOutput);
  ctx.compare(fx, "cfm.spks", trace.cfm_spks, kModelOutput);
  ctx.compare(fx, "cfm.cond", trace.cfm_cond, kModelOutput);
  ctx.compare(fx, "cfm.noise_z", trace.cfm_noise_z, kModelOutput);
  ctx.compare(fx, "cfm.t_span", trace.cfm_t_span, kModelOutput);
  ctx.compare(fx, "cfm.step0.x_in", trace.step0.x_in, kModelOutput);
  ctx.compare(fx, "cfm.step0.mask_in", trace.step0.mask_in, kModelOutput);
  ctx.compare(fx, "cfm.step0.mu_in", trace.step0.mu_in, kModelOutput);
  ctx.compare(fx, "cfm.step0.t_in", trace.step0.t_in, kModelOutput);
  ctx.compare(fx, "cfm.step0.spks_in", trace.step0.spks_in, kModelOutput);
  ctx.compare(fx, "cfm.step0.cond_in", trace.step0.cond_in, kModelOutput);
}

}  // namespace parity
