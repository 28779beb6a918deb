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

#include <ATen/Tensor.h>
#include <c10/core/TensorOptions.h>

#include <atomic>
#include <cstdint>

#include "common/tensor_tap.h"
#include "s3gen/cfm_estimator.h"

namespace chatterbox {

// The time grid: linspace(0, 1, n + 1), warped by 1 - cos(pi/2 t) when `cosine`. [n + 1], fp32.
at::Tensor cfm_t_span(int64_t n_timesteps, bool cosine, c10::TensorOptions options);

// Runs the Euler loop from z. z, mu, cond [1, 80, F]; mask [1, 1, F]; spks [1, 80];
// t_span [n + 1]. Returns x [1, 80, F]. `cancel` (if given) is polled before every step: when
// set, throws Error(kCancelled), so a flush waits for one step at most.
// tap, index k = the step: the estimator's inputs and output "cfm.step.{x,mask,mu,t,spks,cond}_in"
// and "cfm.step.dxdt_out" (x, mu, cond, dxdt [2, 80, F], mask [2, 1, F], t [2], spks [2, 80]: row
// 0 conditional, row 1 unconditional), then "cfm.x_after_each_step" [80, F] (x after the step).
at::Tensor solve_euler_cfg(const ConditionalDecoder& estimator, const at::Tensor& z,
                           const at::Tensor& mask, const at::Tensor& mu, const at::Tensor& spks,
                           const at::Tensor& cond, const at::Tensor& t_span, double cfg_rate,
                           const TensorTap& tap = {}, const std::atomic<bool>* cancel = nullptr);

// The mean-flow loop from z, same shapes, cancellation and tap names as solve_euler_cfg, plus
// "cfm.step.r_in" (the step's end time); every estimator input and output is a batch of 1. The
// estimator must be a mean-flow one, t_span linear (cfm_t_span(n, false)).
at::Tensor solve_meanflow_euler(const ConditionalDecoder& estimator, const at::Tensor& z,
                                const at::Tensor& mask, const at::Tensor& mu,
                                const at::Tensor& spks, const at::Tensor& cond,
                                const at::Tensor& t_span, const TensorTap& tap = {},
                                const std::atomic<bool>* cancel = nullptr);

}  // namespace chatterbox
