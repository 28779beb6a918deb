// The CFM samplers of CausalConditionalCFM.forward (chatterbox/models/s3gen/flow_matching.py).
//
// English (ConditionalCFM.solve_euler): explicit Euler with classifier-free guidance on the
// cosine t grid.
//   x = z; for k in 0..n-1: t = t_k, dt = t_{k+1} - t_k
//     [v_c ; v_u] = estimator([x ; x], [mask ; mask], [mu ; 0], [t ; t], [spks ; 0], [cond ; 0])
//     x += dt * ((1 + gamma) v_c - gamma v_u)
//
// Mean-flow (Turbo, CausalConditionalCFM.basic_euler): the estimator predicts the average
// velocity between a start time t and an end time r; batch 1, no CFG (the model was distilled
// from CFG outputs), linear t grid.
//   x = z; for k in 0..n-1: t = t_k, r = t_{k+1}
//     x += (r - t) * estimator(x, mask, mu, t, spks, cond, r)
#pragma once

#include <atomic>

#include <ATen/Tensor.h>
#include <c10/core/TensorOptions.h>

#include <cstdint>
#include <vector>

#include "s3gen/cfm_estimator.h"

namespace chatterbox {

// The estimator's inputs and output of one Euler step (oracle keys cfm.step0.*). The batch B
// is 2 with CFG (conditional, unconditional), 1 for mean-flow.
struct CfmStepTrace {
  at::Tensor x_in;      // [B, 80, F]
  at::Tensor mask_in;   // [B, 1, F]
  at::Tensor mu_in;     // [B, 80, F]
  at::Tensor t_in;      // [B]
  at::Tensor r_in;      // [B] (mean-flow only)
  at::Tensor spks_in;   // [B, 80]
  at::Tensor cond_in;   // [B, 80, F]
  at::Tensor dxdt_out;  // [B, 80, F]
};

// One mean-flow step's times and estimator output (oracle keys cfm.step{k}.t / .r / .dxdt_out).
struct CfmStepRecord {
  at::Tensor t;         // [1]
  at::Tensor r;         // [1]
  at::Tensor dxdt_out;  // [1, 80, F]
};

// The time grid: linspace(0, 1, n + 1), warped by 1 - cos(pi/2 t) when `cosine`. [n + 1], fp32.
at::Tensor cfm_t_span(int64_t n_timesteps, bool cosine, c10::TensorOptions options);

// Runs the Euler loop from z. z, mu, cond [1, 80, F]; mask [1, 1, F]; spks [1, 80];
// t_span [n + 1]. Returns x [1, 80, F]. `step0` (if given) receives the first step's estimator
// inputs/outputs, `x_after_each_step` (if given) [n, 80, F]. `cancel` (if given) is polled
// before every step: when set, throws Error(kCancelled), so a flush waits for one step at most.
at::Tensor solve_euler_cfg(const ConditionalDecoder& estimator, const at::Tensor& z, const at::Tensor& mask,
                           const at::Tensor& mu, const at::Tensor& spks, const at::Tensor& cond,
                           const at::Tensor& t_span, double cfg_rate, CfmStepTrace* step0 = nullptr,
                           at::Tensor* x_after_each_step = nullptr, const std::atomic<bool>* cancel = nullptr);

// The mean-flow loop from z, same shapes, trace and cancellation as solve_euler_cfg (step0 is
// a batch of 1 with r_in); `steps` (if given) receives every step's (t, r, dxdt). The estimator
// must be a mean-flow one, t_span linear (cfm_t_span(n, false)).
at::Tensor solve_meanflow_euler(const ConditionalDecoder& estimator, const at::Tensor& z, const at::Tensor& mask,
                                const at::Tensor& mu, const at::Tensor& spks, const at::Tensor& cond,
                                const at::Tensor& t_span, CfmStepTrace* step0 = nullptr,
                                at::Tensor* x_after_each_step = nullptr, std::vector<CfmStepRecord>* steps = nullptr,
                                const std::atomic<bool>* cancel = nullptr);

}  // namespace chatterbox
