// The CFM Euler samplers (with classifier-free guidance, and mean-flow): see cfm_solver.h.
#include "s3gen/cfm_solver.h"

#include <ATen/ATen.h>

#include <cmath>

#include "common/error.h"

namespace chatterbox {

namespace {

// Reports step k's estimator inputs and output (r undefined for the CFG solver).
void tap_step(const TensorTap& tap, int64_t k, const at::Tensor& x, const at::Tensor& mask,
              const at::Tensor& mu, const at::Tensor& t, const at::Tensor& r,
              const at::Tensor& spks, const at::Tensor& cond, const at::Tensor& dxdt) {
  tap("cfm.step.x_in", k, x);
  tap("cfm.step.mask_in", k, mask);
  tap("cfm.step.mu_in", k, mu);
  tap("cfm.step.t_in", k, t);
  if (r.defined()) tap("cfm.step.r_in", k, r);
  tap("cfm.step.spks_in", k, spks);
  tap("cfm.step.cond_in", k, cond);
  tap("cfm.step.dxdt_out", k, dxdt);
}

}  // namespace

at::Tensor cfm_t_span(int64_t n_timesteps, bool cosine, c10::TensorOptions options) {
  // As the reference: fp32 linspace, then 1 - cos(t * 0.5 * pi) in fp32.
  at::Tensor t = at::linspace(0.0, 1.0, n_timesteps + 1, options.dtype(at::kFloat));
  if (cosine) t = 1 - at::cos((t * 0.5) * M_PI);
  return t;
}

at::Tensor solve_euler_cfg(const ConditionalDecoder& estimator, const at::Tensor& z,
                           const at::Tensor& mask, const at::Tensor& mu, const at::Tensor& spks,
                           const at::Tensor& cond, const at::Tensor& t_span, double cfg_rate,
                           const TensorTap& tap, const std::atomic<bool>* cancel) {
  const int64_t frames = z.size(2);
  const int64_t n_steps = t_span.size(0) - 1;
  const auto opts = z.options();

  // The CFG batch is built once: only x and t change between steps. Row 1 (unconditional)
  // keeps x, mask and t but has zero mu, spks and cond.
  at::Tensor x_in = at::empty({2, z.size(1), frames}, opts);
  at::Tensor mask_in = mask.expand({2, 1, frames}).contiguous();
  at::Tensor mu_in = at::zeros({2, mu.size(1), frames}, opts);
  mu_in[0].copy_(mu[0]);
  at::Tensor spks_in = at::zeros({2, spks.size(1)}, opts);
  spks_in[0].copy_(spks[0]);
  at::Tensor cond_in = at::zeros({2, cond.size(1), frames}, opts);
  cond_in[0].copy_(cond[0]);
  at::Tensor t_in = at::empty({2}, opts);
  // The t values on the host: the step sizes are formed in fp32 as r - t, like the reference.
  at::Tensor t_host = t_span.to(at::kCPU, at::kFloat).contiguous();
  const float* t_values = t_host.data_ptr<float>();

  at::Tensor x = z.clone();  // [1, 80, F], updated in place

  for (int64_t k = 0; k < n_steps; ++k) {
    if (cancel && cancel->load(std::memory_order_relaxed))
      throw Error(ErrorKind::kCancelled, "flow cancelled");
    const float t = t_values[k];
    const float dt = t_values[k + 1] - t;
    x_in.copy_(x.expand({2, x.size(1), frames}));
    t_in.fill_(t);
    at::Tensor dxdt =
        estimator.forward(x_in, mask_in, mu_in, t_in, spks_in, cond_in);  // [2, 80, F]
    if (tap) tap_step(tap, k, x_in, mask_in, mu_in, t_in, at::Tensor(), spks_in, cond_in, dxdt);
    // v = (1 + gamma) v_c - gamma v_u;  x += dt * v
    at::Tensor v = dxdt.narrow(0, 0, 1).mul(1.0 + cfg_rate).sub_(dxdt.narrow(0, 1, 1), cfg_rate);
    x.add_(v.mul_(dt));
    if (tap) tap("cfm.x_after_each_step", k, x[0]);
  }
  return x;
}

at::Tensor solve_meanflow_euler(const ConditionalDecoder& estimator, const at::Tensor& z,
                                const at::Tensor& mask, const at::Tensor& mu,
                                const at::Tensor& spks, const at::Tensor& cond,
                                const at::Tensor& t_span, const TensorTap& tap,
                                const std::atomic<bool>* cancel) {
  if (!estimator.meanflow())
    throw Error(ErrorKind::kInternal, "solve_meanflow_euler: not a mean-flow estimator");
  const int64_t n_steps = t_span.size(0) - 1;
  const auto opts = z.options();
  // Host copies of the grid: r - t is formed in fp32 like the reference's tensor subtraction.
  at::Tensor t_host = t_span.to(at::kCPU, at::kFloat).contiguous();
  const float* t_values = t_host.data_ptr<float>();

  at::Tensor x = z.clone();  // [1, 80, F]

  for (int64_t k = 0; k < n_steps; ++k) {
    if (cancel && cancel->load(std::memory_order_relaxed))
      throw Error(ErrorKind::kCancelled, "flow cancelled");
    const float t = t_values[k];
    const float r = t_values[k + 1];
    at::Tensor t_in = at::full({1}, t, opts);
    at::Tensor r_in = at::full({1}, r, opts);
    at::Tensor dxdt = estimator.forward(x, mask, mu, t_in, spks, cond, r_in);  // [1, 80, F]
    if (tap) tap_step(tap, k, x, mask, mu, t_in, r_in, spks, cond, dxdt);
    // x = x + (r - t) * dxdt: the product first, then the sum (no fused multiply-add).
    x.add_(dxdt.mul_(r - t));
    if (tap) tap("cfm.x_after_each_step", k, x[0]);
  }
  return x;
}

}  // namespace chatterbox
