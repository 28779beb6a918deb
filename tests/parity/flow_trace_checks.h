// The flow's intermediates compared under the oracle's fixture names, shared by the English
// (s3gen_flow) and mean-flow (s3gen_meanflow_flow) checks: encoder, CFM inputs and the first
// step's estimator inputs. Each check adds what only its solver records.
#pragma once

#include <string>

#include "parity.h"
#include "tap_recorder.h"

namespace parity {

// `rec` recorded FlowModel::inference's tap (a name it lacks compares as undefined: a failure).
inline void compare_flow_trace(Context& ctx, const std::string& fx, TapRecorder& rec) {
  ctx.compare(fx, "encoder_mask", rec.values["encoder_mask"][-1]);
  for (const char* key : {"spk_embed_projected", "encoder_out", "encoder_proj_out", "cfm.mu",
                          "cfm.mask", "cfm.spks", "cfm.cond", "cfm.noise_z", "cfm.t_span"}) {
    ctx.compare(fx, key, rec.values[key][-1], kModelOutput);
  }
  // The fixture's cfm.step0.<input> is the tap's cfm.step.<input> at index (step) 0.
  for (const char* input : {"x_in", "mask_in", "mu_in", "t_in", "spks_in", "cond_in"}) {
    const std::string name(input);
    ctx.compare(fx, "cfm.step0." + name, rec.values["cfm.step." + name][0], kModelOutput);
  }
}

}  // namespace parity
