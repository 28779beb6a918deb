// The CFM Euler samplers (with classifier-free guidance, and mean-flow): see cfm_solver.h.
#include "s3gen/cfm_solver.h"

#include "common/error.h"

#include <ATen/ATen.h>

#include <cmath>

namespace chatterbox {

at::Tensor cfm_t_span(int64_t n_timesteps, bool cosine, c10::TensorOptions options) {
  // As the reference: fp32 linspace, then 1 - cos(t * 0.5 * pi) in fp32.
  at::Tensor t = at::linspace(0.0, 1.0, n_timesteps + 1, options.dtype(at::kFloat));
  if (cosine) t = 1 - at::cos((t * 0.5) * M_PI);
  return t;
}

at::Tensor solve_euler_cfg(const ConditionalDecoder& estimator, const at::Tensor& z, const at::Tensor& mask,
                           const at::Tensor& mu, const at::Tensor& spks, const at::Tensor& cond,
                           const at::Tensor& t_span, double cfg_rate, CfmStepTrace* step0,
                           at::Tensor* x_after_each_step, const std::atomic<bool>* cancel) {
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
  at::Tensor trace_steps;
  if (x_after_each_step) trace_steps = at::empty({n_steps, z.size(1), frames}, opts);

  for (int64_t k = 0; k < n_steps; ++k) {
    if (cancel && cancel->load(std::memory_order_relaxed)) throw Error(ErrorKind::kCancelled, "flow cancelled");
    const float t = t_values[k];
    const float dt = t_values[k + 1] - t;
    x_in.copy_(x.expand({2, x.size(1), frames}));
    t_in.fill_(t);
    at::Tensor dxdt = estimator.forward(x_in, mask_in, mu_in, t_in, spks_in, cond_in);  // [2, 80, F]
    if (k == 0 && step0) {
      step0->x_in = x_in.clone();
      step0->mask_in = mask_in.clone();
      step0->mu_in = mu_in.clone();
      step0->t_in = t_in.clone();
      step0->spks_in = spks_in.clone();
      step0->cond_in = cond_in.clone();
      step0->dxdt_out = dxdt.clone();
    }
    // v = (1 + gamma) v_c - gamma v_u;  x += dt * v
    at::Tensor v = dxdt.narrow(0, 0, 1).mul(1.0 + cfg_rate).sub_(dxdt.narrow(0, 1, 1), cfg_rate);
    x.add_(v.mul_(dt));
    if (x_after_each_step) trace_steps[k].copy_(x[0]);
  }
  if (x_after_each_step) *x_after_each_step = trace_steps;
  return x;
}

at::Tensor solve_meanflow_euler(const ConditionalDecoder& estimator, const at::Tensor& z, const at::Tensor& mask,
                                const at::Tensor& mu, const at::Tensor& spks, const at::Tensor& cond,
                                const at::Tensor& t_span, CfmStepTrace* step0, at::Tensor* x_after_each_step,
                                std::vector<CfmStepRecord>* steps, const std::atomic<bool>* cancel) {
  if (!estimator.meanflow()) throw Error(ErrorKind::kInternal, "solve_meanflow_euler: not a mean-flow estimator");
  const int64_t frames = z.size(2);
  const int64_t n_steps = t_span.size(0) - 1;
  const auto opts = z.options();
  // Host copies of the grid: r - t is formed in fp32 like the reference's tensor subtraction.
  at::Tensor t_host = t_span.to(at::kCPU, at::kFloat).contiguous();
  const float* t_values = t_host.data_ptr<float>();

  at::Tensor x = z.clone();  // [1, 80, F]
  at::Tensor trace_steps;
  if (x_after_each_step) trace_steps = at::empty({n_steps, z.size(1), frames}, opts);
  if (steps) steps->clear();

  for (int64_t k = 0; k < n_steps; ++k) {
    if (cancel && cancel->load(std::memory_order_relaxed)) throw Error(ErrorKind::kCancelled, "flow cancelled");
    const float t = t_values[k];
    const float r = t_values[k + 1];
    at::Tensor t_in = at::full({1}, t, opts);
    at::Tensor r_in = at::full({1}, r, opts);
    at::Tensor dxdt = estimator.forward(x, mask, mu, t_in, spks, cond, r_in);  // [1, 80, F]
    if (k == 0 && step0) {
      step0->x_in = x.clone();
      step0->mask_in = mask.clone();
      step0->mu_in = mu.clone();
      step0->t_in = t_in;
      step0->r_in = r_in;
      step0->spks_in = spks.clone();
      step0->cond_in = cond.clone();
      step0->dxdt_out = dxdt.clone();
    }
    if (steps) steps->push_back({t_in, r_in, dxdt.clone()});
    // x = x + (r - t) * dxdt: the product first, then the sum (no fused multiply-add).
    x.add_(dxdt.mul_(r - t));
    if (x_after_each_step) trace_steps[k].copy_(x[0]);
  }
  if (x_after_each_step) *x_after_each_step = trace_steps;
  return x;
}

}  // namespace chatterbox
