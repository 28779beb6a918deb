// T3Sampler (see sampler.h).
#include "t3/sampler.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/error.h"

namespace chatterbox {

void T3SamplingParams::validate() const {
  auto bad = [](const std::string& what) {
    throw Error(ErrorKind::kInvalidInput, "T3 sampling: " + what);
  };
  if (!std::isfinite(cfg_weight) || cfg_weight < 0) bad("cfg_weight must be >= 0");
  if (!(temperature > 0) || !std::isfinite(temperature)) bad("temperature must be > 0");
  if (!(top_p >= 0 && top_p <= 1)) bad("top_p must be in [0, 1]");
  if (!(min_p >= 0 && min_p <= 1)) bad("min_p must be in [0, 1]");
  if (!(repetition_penalty > 0) || !std::isfinite(repetition_penalty))
    bad("repetition_penalty must be > 0");
  if (max_new_tokens < 1) bad("max_new_tokens must be >= 1");
}

T3Sampler::T3Sampler(const T3SamplingParams& params)
    : params_(params), generator_(at::make_generator<at::CPUGeneratorImpl>(params.seed)) {
  params_.validate();
}

at::Tensor T3Sampler::probabilities(const at::Tensor& raw_in, const std::vector<int64_t>& history,
                                    int64_t step, const TensorTap& tap,
                                    const std::function<void(at::Tensor&)>& edit_after_cfg) const {
  const bool tapping = static_cast<bool>(tap);
  at::Tensor raw = raw_in.to(at::kCPU, at::kFloat);  // [B, V]
  if (tapping) tap("step_logits_raw", step, raw);

  // CFG: cond + cfg * (cond - uncond), with cfg as a float32 scalar like the reference's tensor.
  at::Tensor logits = raw.narrow(0, 0, 1);  // [1, V]
  if (raw.size(0) > 1) {
    at::Tensor uncond = raw.narrow(0, 1, 1);
    at::Tensor cfg = at::scalar_tensor(params_.cfg_weight, raw.options());
    logits = logits + cfg * (logits - uncond);
  } else {
    logits = logits.clone();
  }
  if (tapping) tap("step_logits_cfg", step, logits[0]);
  if (edit_after_cfg) edit_after_cfg(logits);

  // RepetitionPenaltyLogitsProcessor: score = gather(ids); where(score < 0, score * p, score / p);
  // scatter back. Each distinct id once.
  if (!history.empty()) {
    at::Tensor ids = at::tensor(history, at::kLong).unsqueeze(0);  // [1, N]
    at::Tensor score = at::gather(logits, 1, ids);
    const double p = params_.repetition_penalty;
    score = at::where(score < 0, score * p, score / p);
    logits = logits.scatter(1, ids, score);
  }
  if (tapping) tap("step_logits_after_rep_penalty", step, logits[0]);

  if (params_.temperature != 1.0f) logits = logits / double(params_.temperature);
  if (tapping) tap("step_logits_after_temperature", step, logits[0]);

  const float neg_inf = -std::numeric_limits<float>::infinity();
  {
    // MinPLogitsWarper: remove ids with prob < min_p * max prob; the top-1 id always stays.
    at::Tensor probs = at::softmax(logits, -1);
    at::Tensor top_probs = std::get<0>(probs.max(-1, /*keepdim=*/true));
    at::Tensor scaled_min_p = top_probs * double(params_.min_p);
    at::Tensor remove = probs < scaled_min_p;
    at::Tensor sorted_indices = at::argsort(logits, -1, /*descending=*/true);
    at::Tensor sorted_remove = at::gather(remove, -1, sorted_indices);
    sorted_remove.narrow(-1, 0, 1).fill_(false);
    remove = sorted_remove.scatter(1, sorted_indices, sorted_remove);
    logits = logits.masked_fill(remove, neg_inf);
  }
  if (tapping) tap("step_logits_after_min_p", step, logits[0]);

  {
    // TopPLogitsWarper: sort ascending; drop ids whose cumulative prob <= 1 - top_p; the
    // highest-logit id always stays.
    auto sorted = at::sort(logits, -1, /*descending=*/false);
    at::Tensor sorted_logits = std::get<0>(sorted), sorted_indices = std::get<1>(sorted);
    at::Tensor cumulative = sorted_logits.softmax(-1).cumsum(-1);
    at::Tensor sorted_remove = cumulative <= (1.0 - double(params_.top_p));
    sorted_remove.narrow(-1, sorted_remove.size(-1) - 1, 1).fill_(false);
    at::Tensor remove = sorted_remove.scatter(1, sorted_indices, sorted_remove);
    logits = logits.masked_fill(remove, neg_inf);
  }
  if (tapping) tap("step_logits_after_top_p", step, logits[0]);

  at::Tensor probs = at::softmax(logits, -1)[0];  // [V]
  if (tapping) tap("step_probs", step, probs);
  return probs;
}

int64_t T3Sampler::draw(const at::Tensor& probs) {
  return at::multinomial(probs, 1, /*replacement=*/false, generator_).item<int64_t>();
}

}  // namespace chatterbox
