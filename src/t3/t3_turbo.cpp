// T3TurboModel, T3TurboSampler and T3TurboSession (see t3_turbo.h).
#include "t3/t3_turbo.h"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>

#include <cmath>
#include <limits>
#include <string>

#include "common/error.h"
#include "t3/small_linear.h"

namespace chatterbox {
namespace {

void check_ids(const at::Tensor& ids, int64_t vocab, const char* what) {
  if (ids.numel() == 0) return;
  const int64_t lo = ids.min().item<int64_t>(), hi = ids.max().item<int64_t>();
  if (lo < 0 || hi >= vocab)
    throw Error(ErrorKind::kInvalidInput, std::string("T3 turbo: ") + what +
                                              " id out of range [0, " + std::to_string(vocab) +
                                              "): " + std::to_string(lo < 0 ? lo : hi));
}

}  // namespace

// ------------------------------------------------------------------------------------------
// Model
// ------------------------------------------------------------------------------------------

std::shared_ptr<const T3TurboModel> T3TurboModel::load(std::shared_ptr<const SafetensorsFile> file,
                                                       const T3TurboConfig& c,
                                                       c10::TensorOptions options,
                                                       const T3TurboLoadOptions& load_options) {
  c10::InferenceMode guard;
  auto m = std::make_shared<T3TurboModel>();
  m->config_ = c;
  m->options_ = options;
  const int64_t D = c.gpt2.hidden_size;
  const at::ScalarType dt = options.dtype().toScalarType();
  WeightReader r(std::move(file), options);
  {
    WeightReader tr = r.scoped("tfmr.");
    m->tfmr_.load(tr, c.gpt2, c.text_tokens_dict_size, load_options);
  }
  // Every tensor is a private copy (owned()), so the caller may drop the file mapping after load.
  m->spkr_enc_weight_ = owned(r.take("cond_enc.spkr_enc.weight", {D, c.speaker_embed_size}), dt);
  m->spkr_enc_bias_ = owned(r.take("cond_enc.spkr_enc.bias", {D}), dt);
  m->text_emb_ = owned(r.take("text_emb.weight", {c.text_tokens_dict_size, D}), dt);
  m->speech_emb_ = owned(r.take("speech_emb.weight", {c.speech_tokens_dict_size, D}), dt);
  m->text_head_ = owned(r.take("text_head.weight", {c.text_tokens_dict_size, D}), dt);
  m->speech_head_ = make_linear_weight(r.take("speech_head.weight", {c.speech_tokens_dict_size, D}),
                                       load_options);
  m->speech_head_bias_ = owned(r.take("speech_head.bias", {c.speech_tokens_dict_size}), dt);
  r.finish();
  return m;
}

at::Tensor T3TurboModel::text_embeddings(const at::Tensor& tokens) const {
  return at::embedding(text_emb_, tokens);
}

at::Tensor T3TurboModel::speech_embeddings(const at::Tensor& tokens) const {
  return at::embedding(speech_emb_, tokens);
}

at::Tensor T3TurboModel::speech_logits(const at::Tensor& hidden) const {
  return small_linear(hidden, speech_head_, speech_head_bias_);
}

at::Tensor T3TurboModel::cond_embedding(const at::Tensor& speaker_emb,
                                        const at::Tensor& prompt_tokens_in,
                                        const TensorTap& tap) const {
  c10::InferenceMode guard;
  if (!speaker_emb.defined() || speaker_emb.numel() != config_.speaker_embed_size)
    throw Error(ErrorKind::kInvalidInput, "T3 turbo: speaker_emb must have " +
                                              std::to_string(config_.speaker_embed_size) +
                                              " values");
  at::Tensor spk = speaker_emb.reshape({1, config_.speaker_embed_size}).to(options_);
  // T3CondEnc: spkr_enc(speaker_emb)[:, None]  [1, 1, D]
  at::Tensor spkr = at::linear(spk, spkr_enc_weight_, spkr_enc_bias_).unsqueeze(1);
  if (tap) tap("spkr_enc_out", -1, spkr);
  at::Tensor prompt_emb;
  if (prompt_tokens_in.defined() && prompt_tokens_in.numel() > 0) {
    at::Tensor prompt_tokens = prompt_tokens_in.reshape({1, -1}).to(options_.device(), at::kLong);
    check_ids(prompt_tokens, config_.speech_tokens_dict_size, "speech prompt token");
    // T3.prepare_conditioning: speech_emb(tokens), no position embedding for a GPT backbone
    prompt_emb = speech_embeddings(prompt_tokens);  // [1, Tp, D]
  }
  if (tap && prompt_emb.defined()) tap("prompt_speech_emb", -1, prompt_emb);
  if (!prompt_emb.defined()) return spkr;
  return at::cat({spkr, prompt_emb}, 1);  // [1, 1 + Tp, D]
}

at::Tensor T3TurboModel::cond_embedding(const VoiceConditioning& cond) const {
  return cond_embedding(cond.speaker_emb, cond.cond_prompt_speech_tokens);
}

int64_t T3TurboModel::decode_weight_bytes() const {
  int64_t bytes = speech_head_.bytes();
  for (const Gpt2Layer& l : tfmr_.layers)
    for (const LinearWeight* w :
         {&l.c_attn_weight, &l.attn_proj_weight, &l.c_fc_weight, &l.mlp_proj_weight})
      bytes += w->bytes();
  return bytes;
}

std::shared_ptr<const T3TurboPrefix> T3TurboModel::prefix(const VoiceConditioning& cond) const {
  c10::InferenceMode guard;
  at::Tensor cond_emb = cond_embedding(cond);  // [1, Lc, D]
  KvCache cache = tfmr_.make_cache(1, cond_emb.size(1), options_);
  tfmr_.forward(cond_emb, cache);
  auto out = std::make_shared<T3TurboPrefix>();
  out->model = this;
  out->keys = cache.keys_prefix(cond_emb.size(1));
  out->values = cache.values_prefix(cond_emb.size(1));
  return out;
}

T3TurboForwardOutput T3TurboModel::forward(const at::Tensor& cond_emb,
                                           const at::Tensor& text_tokens_in,
                                           const at::Tensor& speech_tokens_in,
                                           const TensorTap& tap) const {
  c10::InferenceMode guard;
  at::Tensor text_tokens = text_tokens_in.to(options_.device(), at::kLong);
  at::Tensor speech_tokens = speech_tokens_in.to(options_.device(), at::kLong);
  check_ids(text_tokens, config_.text_tokens_dict_size, "text token");
  check_ids(speech_tokens, config_.speech_tokens_dict_size, "speech token");
  const int64_t B = text_tokens.size(0), Tt = text_tokens.size(1), Ts = speech_tokens.size(1);
  at::Tensor cond = cond_emb.to(options_).expand({B, -1, -1});
  const int64_t Lc = cond.size(1);
  // prepare_input_embeds: [cond | text_emb | speech_emb]  [B, Lc + Tt + Ts, D]
  at::Tensor embeds =
      at::cat({cond, text_embeddings(text_tokens), speech_embeddings(speech_tokens)}, 1);
  const int64_t total = embeds.size(1);
  if (total > config_.gpt2.max_positions)
    throw Error(ErrorKind::kInvalidInput, "T3 turbo: " + std::to_string(total) +
                                              " positions, at most " +
                                              std::to_string(config_.gpt2.max_positions));
  if (tap) tap("input_embeds", -1, embeds);
  KvCache cache = tfmr_.make_cache(B, total, options_);
  at::Tensor hidden = tfmr_.forward(embeds, cache, tap);  // [B, total, D]
  T3TurboForwardOutput out;
  out.hidden_states = hidden;
  out.text_logits = at::linear(hidden.narrow(1, Lc, Tt), text_head_);
  out.speech_logits = speech_logits(hidden.narrow(1, Lc + Tt, Ts));
  return out;
}

// ------------------------------------------------------------------------------------------
// Sampler
// ------------------------------------------------------------------------------------------

void T3TurboSamplingParams::validate() const {
  auto bad = [](const std::string& what) {
    throw Error(ErrorKind::kInvalidInput, "T3 turbo sampling: " + what);
  };
  if (!(temperature >= 0) || !std::isfinite(temperature))
    bad("temperature must be >= 0 (0 = no scaling)");
  if (!(top_p >= 0 && top_p <= 1)) bad("top_p must be in [0, 1]");
  if (!(repetition_penalty > 0) || !std::isfinite(repetition_penalty))
    bad("repetition_penalty must be > 0");
  if (max_new_tokens < 0) bad("max_new_tokens must be >= 0");
}

T3TurboSampler::T3TurboSampler(const T3TurboSamplingParams& params)
    : params_(params), generator_(at::make_generator<at::CPUGeneratorImpl>(params.seed)) {
  params_.validate();
}

at::Tensor T3TurboSampler::process(const at::Tensor& raw, const std::vector<int64_t>& ids,
                                   int64_t step, const TensorTap& tap) const {
  const bool tapping = static_cast<bool>(tap);
  at::Tensor logits = raw.to(at::kCPU, at::kFloat).reshape({1, -1});  // [1, V]
  const int64_t V = logits.size(1);
  const float neg_inf = -std::numeric_limits<float>::infinity();
  if (tapping) tap("step_processor_input_ids", step, at::tensor(ids, at::kLong));

  // TemperatureLogitsWarper (only for temperature > 0 and != 1)
  if (params_.temperature > 0 && params_.temperature != 1.0f)
    logits = logits / double(params_.temperature);
  if (tapping) tap("step_logits_after_temperature", step, logits[0]);

  // TopKLogitsWarper: remove logits below the k-th largest (ties with it stay).
  if (params_.top_k > 0) {
    const int64_t k = std::min<int64_t>(params_.top_k, V);
    at::Tensor kth = std::get<0>(at::topk(logits, k, -1)).narrow(-1, k - 1, 1);  // [1, 1]
    logits = logits.masked_fill(logits < kth, neg_inf);
  }
  if (tapping) tap("step_logits_after_top_k", step, logits[0]);

  // TopPLogitsWarper: sort ascending; drop ids whose cumulative prob <= 1 - top_p; the
  // highest-logit id always stays.
  if (params_.top_p < 1.0f) {
    auto sorted = at::sort(logits, -1, /*descending=*/false);
    at::Tensor sorted_logits = std::get<0>(sorted), sorted_indices = std::get<1>(sorted);
    at::Tensor cumulative = sorted_logits.softmax(-1).cumsum(-1);
    at::Tensor sorted_remove = cumulative <= (1.0 - double(params_.top_p));
    sorted_remove.narrow(-1, V - 1, 1).fill_(false);
    at::Tensor remove = sorted_remove.scatter(1, sorted_indices, sorted_remove);
    logits = logits.masked_fill(remove, neg_inf);
  }
  if (tapping) tap("step_logits_after_top_p", step, logits[0]);

  // RepetitionPenaltyLogitsProcessor on the filtered logits: score / p if >= 0 else score * p
  // (-inf stays -inf); duplicates in `ids` write the same value.
  if (params_.repetition_penalty != 1.0f && !ids.empty()) {
    at::Tensor idx = at::tensor(ids, at::kLong).unsqueeze(0);  // [1, N]
    at::Tensor score = at::gather(logits, 1, idx);
    const double p = params_.repetition_penalty;
    score = at::where(score < 0, score * p, score / p);
    logits = logits.scatter(1, idx, score);
  }
  if (tapping) tap("step_logits_after_rep_penalty", step, logits[0]);
  return logits[0];
}

int64_t T3TurboSampler::draw(const at::Tensor& probs) {
  return at::multinomial(probs, 1, /*replacement=*/false, generator_).item<int64_t>();
}

// ------------------------------------------------------------------------------------------
// Session (T3.inference_turbo)
// ------------------------------------------------------------------------------------------

T3TurboSession::T3TurboSession(std::shared_ptr<const T3TurboModel> model,
                               const VoiceConditioning& cond,
                               const std::vector<int64_t>& text_tokens,
                               const T3TurboSamplingParams& params)
    : T3TurboSession(std::move(model), cond, nullptr, text_tokens, params) {}

T3TurboSession::T3TurboSession(std::shared_ptr<const T3TurboModel> model,
                               const VoiceConditioning& cond,
                               std::shared_ptr<const T3TurboPrefix> prefix,
                               const std::vector<int64_t>& text_tokens,
                               const T3TurboSamplingParams& params)
    : model_(std::move(model)), sampler_(params), prefix_(std::move(prefix)) {
  c10::InferenceMode guard;
  const T3TurboConfig& c = model_->config();
  const c10::TensorOptions& opt = model_->options();
  if (text_tokens.empty())
    throw Error(ErrorKind::kInvalidInput, "T3 turbo: empty text token sequence");
  if (prefix_ && prefix_->model != model_.get())
    throw Error(ErrorKind::kInternal, "T3 turbo: conditioning prefix computed with another model");
  at::Tensor text = at::tensor(text_tokens, at::kLong).unsqueeze(0).to(opt.device());  // [1, Tt]
  check_ids(text, c.text_tokens_dict_size, "text token");
  at::Tensor start =
      at::full({1, 1}, c.start_speech_token, at::TensorOptions(opt.device()).dtype(at::kLong));
  // [cond | text_emb(text) | speech_emb(start)]  [1, Lc + Tt + 1, D], or without cond after a
  // prefix
  at::Tensor text_part =
      at::cat({model_->text_embeddings(text), model_->speech_embeddings(start)}, 1);
  const int64_t prefix_len = prefix_ ? prefix_->length() : 0;
  prefill_embeds_ = prefix_ ? text_part : at::cat({model_->cond_embedding(cond), text_part}, 1);
  prefill_len_ = prefix_len + prefill_embeds_.size(1);
  // Positions fed: the prefill, then at most max_new_tokens single tokens.
  const int64_t max_len = prefill_len_ + params.max_new_tokens;
  if (max_len > c.gpt2.max_positions)
    throw Error(ErrorKind::kInvalidInput,
                "T3 turbo: conditioning + text (" + std::to_string(prefill_len_) +
                    " positions) + max_new_tokens (" + std::to_string(params.max_new_tokens) +
                    ") exceed the " + std::to_string(c.gpt2.max_positions) +
                    " positions of the model");
  cache_ = model_->backbone().make_cache(1, max_len, opt);
  if (prefix_) cache_.load_prefix(prefix_->keys, prefix_->values);
}

void T3TurboSession::prefill() {
  if (prefilled_) return;
  c10::InferenceMode guard;
  if (tap_) tap_("input_embeds", -1, prefill_embeds_);
  at::Tensor hidden = model_->backbone().forward(prefill_embeds_, cache_, tap_);  // [1, P, D]
  if (tap_) tap_("prefill_final_hidden", -1, hidden);
  last_hidden_ = hidden.select(1, hidden.size(1) - 1);  // [1, D]
  last_logits_ = model_->speech_logits(last_hidden_);   // [1, V]
  prefill_embeds_ = at::Tensor();
  prefilled_ = true;
}

int64_t T3TurboSession::step() { return advance(nullptr); }

int64_t T3TurboSession::step_forced(int64_t token) { return advance(&token); }

int64_t T3TurboSession::advance(const int64_t* forced) {
  if (finished_)
    throw Error(ErrorKind::kInternal, "T3TurboSession::step() after the utterance finished");
  c10::InferenceMode guard;
  const T3TurboConfig& c = model_->config();
  if (!prefilled_) prefill();
  if (pending_ >= 0) {
    // Feed the last emitted token alone: speech_emb(token); GPT-2 gives it the next position.
    at::Tensor tok =
        at::full({1, 1}, pending_, at::TensorOptions(model_->options().device()).dtype(at::kLong));
    at::Tensor hidden =
        model_->backbone().forward(model_->speech_embeddings(tok), cache_);  // [1, 1, D]
    last_hidden_ = hidden.select(1, 0);                                      // [1, D]
    last_logits_ = model_->speech_logits(last_hidden_);                      // [1, V]
  }
  const int64_t step = int64_t(generated_.size());
  if (tap_) {
    tap_("step_hidden_last", step, last_hidden_[0]);
    tap_("step_logits_raw", step, last_logits_[0]);
  }
  // The processors' input_ids: the start token before anything was generated, then only the
  // generated tokens.
  const std::vector<int64_t> start_ids{c.start_speech_token};
  at::Tensor processed = sampler_.process(last_logits_[0], step == 0 ? start_ids : generated_, step,
                                          tap_);  // [V]
  if ((processed == -std::numeric_limits<float>::infinity()).all().item<bool>()) {
    // inference_turbo breaks before sampling (checked after decode steps; a prefill like that
    // would make its multinomial fail, here it ends the utterance the same way).
    finished_ = true;
    return -1;
  }
  at::Tensor probs = at::softmax(processed, -1);
  if (tap_) tap_("step_probs", step, probs);
  const int64_t drawn = sampler_.draw(probs);
  if (tap_) tap_("sampled_token", step, at::scalar_tensor(drawn, at::kLong));
  const int64_t token = forced ? *forced : drawn;
  if (token < 0 || token >= c.speech_tokens_dict_size)
    throw Error(ErrorKind::kInvalidInput,
                "T3 turbo: forced token out of range: " + std::to_string(token));
  generated_.push_back(token);
  pending_ = token;
  // The prefill's token (step 0) is never checked for the stop token.
  if ((step > 0 && token == c.stop_speech_token) ||
      int64_t(generated_.size()) > sampler_.params().max_new_tokens)
    finished_ = true;
  return token;
}

std::vector<int64_t> T3TurboSession::output_tokens() const {
  std::vector<int64_t> out = generated_;
  if (!out.empty() && out.back() == model_->config().stop_speech_token) out.pop_back();
  return out;
}

}  // namespace chatterbox
