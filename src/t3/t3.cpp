// T3Model and T3Session (see t3.h).
#include "t3/t3.h"

#include <c10/core/InferenceMode.h>

#include <algorithm>

#include "common/error.h"
#include "t3/small_linear.h"

namespace chatterbox {
namespace {

void check_ids(const at::Tensor& ids, int64_t vocab, const char* what) {
  if (ids.numel() == 0) return;
  const int64_t lo = ids.min().item<int64_t>(), hi = ids.max().item<int64_t>();
  if (lo < 0 || hi >= vocab)
    throw Error(ErrorKind::kInvalidInput, std::string("T3: ") + what + " id out of range [0, " +
                                              std::to_string(vocab) +
                                              "): " + std::to_string(lo < 0 ? lo : hi));
}

}  // namespace

// ------------------------------------------------------------------------------------------
// Loading
// ------------------------------------------------------------------------------------------

std::shared_ptr<const T3Model> T3Model::load(std::shared_ptr<const SafetensorsFile> file,
                                             const T3Config& c, c10::TensorOptions options,
                                             const T3LoadOptions& load_options) {
  c10::InferenceMode guard;
  auto m = std::make_shared<T3Model>();
  m->config_ = c;
  m->options_ = options;
  const int64_t D = c.hidden_size;
  WeightReader r(std::move(file), options);
  {
    WeightReader cr = r.scoped("cond_enc.");
    m->cond_enc_.load(cr, c);
  }
  {
    WeightReader tr = r.scoped("tfmr.");
    m->tfmr_.load(tr, c, load_options);
  }
  // Every tensor is a private copy (owned()), so the caller may drop the file mapping after
  // load and keep only the model's memory resident.
  const at::ScalarType dt = options.dtype().toScalarType();
  m->text_emb_ = owned(r.take("text_emb.weight", {c.text_tokens_dict_size, D}), dt);
  m->speech_emb_ = owned(r.take("speech_emb.weight", {c.speech_tokens_dict_size, D}), dt);
  m->text_pos_emb_ = owned(r.take("text_pos_emb.emb.weight", {c.text_pos_rows(), D}), dt);
  m->speech_pos_emb_ = owned(r.take("speech_pos_emb.emb.weight", {c.speech_pos_rows(), D}), dt);
  m->text_head_ = owned(r.take("text_head.weight", {c.text_tokens_dict_size, D}), dt);
  m->speech_head_ = make_linear_weight(r.take("speech_head.weight", {c.speech_tokens_dict_size, D}),
                                       load_options);
  r.finish();
  if (m->multilingual()) {
    for (const auto& lh : AlignmentStreamAnalyzer::kAlignedHeads)
      if (lh.first >= c.num_hidden_layers || lh.second >= c.num_attention_heads)
        throw Error(ErrorKind::kModelFile,
                    "multilingual T3 (text vocabulary " + std::to_string(kMultilingualTextVocab) +
                        "): the alignment control reads layer " + std::to_string(lh.first) +
                        " head " + std::to_string(lh.second) + ", this backbone has " +
                        std::to_string(c.num_hidden_layers) + " layers of " +
                        std::to_string(c.num_attention_heads) + " heads");
  }
  return m;
}

// ------------------------------------------------------------------------------------------
// Embeddings, conditioning, heads
// ------------------------------------------------------------------------------------------

at::Tensor T3Model::text_embeddings(const at::Tensor& tokens, bool zero_tokens) const {
  // text_emb(tokens) (zeroed for the unconditional row) + text_pos_emb(arange(T))
  const int64_t T = tokens.size(1);
  at::Tensor pos = text_pos_emb_.narrow(0, 0, T).unsqueeze(0);  // [1, T, D]
  if (zero_tokens)
    return at::zeros({tokens.size(0), T, config_.hidden_size}, text_emb_.options()) + pos;
  return at::embedding(text_emb_, tokens) + pos;
}

at::Tensor T3Model::speech_embeddings(const at::Tensor& tokens, int64_t start_position) const {
  const int64_t T = tokens.size(1);
  if (start_position + T > config_.speech_pos_rows())
    throw Error(ErrorKind::kInvalidInput, "T3: speech position " +
                                              std::to_string(start_position + T - 1) +
                                              " beyond the learned table (" +
                                              std::to_string(config_.speech_pos_rows()) + " rows)");
  at::Tensor pos = speech_pos_emb_.narrow(0, start_position, T).unsqueeze(0);  // [1, T, D]
  return at::embedding(speech_emb_, tokens) + pos;
}

at::Tensor T3Model::speech_logits(const at::Tensor& hidden) const {
  return small_linear(hidden, speech_head_);
}

at::Tensor T3Model::cond_embedding(const at::Tensor& speaker_emb,
                                   const at::Tensor& prompt_tokens_in, float exaggeration,
                                   const TensorTap& tap) const {
  c10::InferenceMode guard;
  if (!speaker_emb.defined() || speaker_emb.numel() != config_.speaker_embed_size)
    throw Error(
        ErrorKind::kInvalidInput,
        "T3: speaker_emb must have " + std::to_string(config_.speaker_embed_size) + " values");
  at::Tensor spk = speaker_emb.reshape({1, config_.speaker_embed_size}).to(options_);
  at::Tensor prompt_emb;
  if (prompt_tokens_in.defined() && prompt_tokens_in.numel() > 0) {
    at::Tensor prompt_tokens = prompt_tokens_in.reshape({1, -1}).to(options_.device(), at::kLong);
    check_ids(prompt_tokens, config_.speech_tokens_dict_size, "speech prompt token");
    // T3.prepare_conditioning: speech_emb(tokens) + speech_pos_emb(tokens) (positions from 0)
    prompt_emb = speech_embeddings(prompt_tokens, 0);
  }
  if (tap && prompt_emb.defined()) tap("prompt_speech_emb", -1, prompt_emb);
  at::Tensor emotion = at::full({1}, exaggeration, options_);
  return cond_enc_.forward(spk, prompt_emb, emotion, tap);
}

at::Tensor T3Model::cond_embedding(const VoiceConditioning& cond, float exaggeration) const {
  return cond_embedding(cond.speaker_emb, cond.cond_prompt_speech_tokens, exaggeration);
}

// ------------------------------------------------------------------------------------------
// Teacher-forced forward (T3.forward)
// ------------------------------------------------------------------------------------------

T3ForwardOutput T3Model::forward(const at::Tensor& cond_emb, const at::Tensor& text_tokens_in,
                                 const at::Tensor& speech_tokens_in, const TensorTap& tap) const {
  c10::InferenceMode guard;
  at::Tensor text_tokens = text_tokens_in.to(options_.device(), at::kLong);
  at::Tensor speech_tokens = speech_tokens_in.to(options_.device(), at::kLong);
  check_ids(text_tokens, config_.text_tokens_dict_size, "text token");
  check_ids(speech_tokens, config_.speech_tokens_dict_size, "speech token");
  const int64_t B = text_tokens.size(0), Tt = text_tokens.size(1), Ts = speech_tokens.size(1);
  if (Tt > config_.text_pos_rows())
    throw Error(ErrorKind::kInvalidInput, "T3: too many text tokens");
  at::Tensor cond = cond_emb.to(options_).expand({B, -1, -1});
  const int64_t Lc = cond.size(1);
  // prepare_input_embeds: [cond | text_emb + text_pos | speech_emb + speech_pos]  [B, Lc+Tt+Ts, D]
  at::Tensor embeds =
      at::cat({cond, text_embeddings(text_tokens), speech_embeddings(speech_tokens, 0)}, 1);
  const int64_t total = embeds.size(1);
  KvCache cache(config_.num_hidden_layers, B, config_.num_attention_heads, total, config_.head_dim,
                options_);
  at::Tensor hidden = tfmr_.forward(embeds, cache, tap);  // [B, total, D]
  T3ForwardOutput out;
  out.hidden_states = hidden;
  out.text_logits = at::linear(hidden.narrow(1, Lc, Tt), text_head_);
  out.speech_logits = speech_logits(hidden.narrow(1, Lc + Tt, Ts));
  return out;
}

// ------------------------------------------------------------------------------------------
// Session (T3.inference)
// ------------------------------------------------------------------------------------------

T3Session::T3Session(std::shared_ptr<const T3Model> model, const VoiceConditioning& cond,
                     float exaggeration, const std::vector<int64_t>& text_tokens,
                     const T3SamplingParams& params)
    : model_(std::move(model)), sampler_(params) {
  c10::InferenceMode guard;
  const T3Config& c = model_->config();
  const c10::TensorOptions& opt = model_->options();
  if (text_tokens.empty()) throw Error(ErrorKind::kInvalidInput, "T3: empty text token sequence");
  if (int64_t(text_tokens.size()) > c.text_pos_rows())
    throw Error(ErrorKind::kInvalidInput, "T3: " + std::to_string(text_tokens.size()) +
                                              " text tokens, at most " +
                                              std::to_string(c.text_pos_rows()));
  if (params.max_new_tokens >= c.speech_pos_rows())
    throw Error(ErrorKind::kInvalidInput,
                "T3: max_new_tokens must be below " + std::to_string(c.speech_pos_rows()));
  rows_ = params.cfg_weight > 0 ? 2 : 1;

  at::Tensor text = at::tensor(text_tokens, at::kLong).unsqueeze(0).to(opt.device());  // [1, Tt]
  check_ids(text, c.text_tokens_dict_size, "text token");
  at::Tensor cond_emb = model_->cond_embedding(cond, exaggeration);  // [1, Lc, D]
  at::Tensor text_emb = model_->text_embeddings(text);               // [1, Tt, D]
  if (rows_ == 2)
    text_emb = at::cat({text_emb, model_->text_embeddings(text, /*zero_tokens=*/true)}, 0);
  at::Tensor bos =
      model_
          ->speech_embeddings(at::full({1, 1}, c.start_speech_token,
                                       at::TensorOptions(opt.device()).dtype(at::kLong)),
                              0)
          .expand({rows_, 1, -1});  // [B, 1, D]
  at::Tensor input_embeds =
      at::cat({cond_emb.expand({rows_, -1, -1}), text_emb, bos}, 1);  // [B, Lc+Tt+1, D]
  // T3.inference appends the BOS embedding once more (position 0 again) before the prefill.
  prefill_embeds_ = at::cat({input_embeds, bos}, 1);  // [B, Lc+Tt+2, D]
  prefill_len_ = prefill_embeds_.size(1);
  input_embeds_for_tap_ = input_embeds;
  cache_ = KvCache(c.num_hidden_layers, rows_, c.num_attention_heads,
                   prefill_len_ + params.max_new_tokens, c.head_dim, opt);
  history_.push_back(c.start_speech_token);
  if (model_->multilingual() && params.alignment_control) {
    // T3.inference: text_tokens_slice = (len_cond, len_cond + text length).
    const int64_t Lc = cond_emb.size(1);
    analyzer_ = std::make_unique<AlignmentStreamAnalyzer>(
        Lc, Lc + int64_t(text_tokens.size()), c.stop_speech_token, 2 + params.max_new_tokens);
    capture_.heads.assign(AlignmentStreamAnalyzer::kAlignedHeads.begin(),
                          AlignmentStreamAnalyzer::kAlignedHeads.end());
  }
}

void T3Session::prefill() {
  if (prefilled_) return;
  c10::InferenceMode guard;
  if (tap_) {
    tap_("input_embeds", -1, input_embeds_for_tap_);
    tap_("prefill_embeds_with_bos", -1, prefill_embeds_);
  }
  input_embeds_for_tap_ = at::Tensor();
  at::Tensor hidden = model_->backbone().forward(prefill_embeds_, cache_, tap_,
                                                 analyzer_ ? &capture_ : nullptr);  // [B, P, D]
  if (tap_) tap_("prefill_final_hidden", -1, hidden);
  last_logits_ = model_->speech_logits(hidden.select(1, prefill_len_ - 1));  // [B, V]
  prefill_embeds_ = at::Tensor();
  prefilled_ = true;
}

int64_t T3Session::step() { return advance(nullptr); }

int64_t T3Session::step_forced(int64_t token) { return advance(&token); }

int64_t T3Session::advance(const int64_t* forced) {
  if (finished_)
    throw Error(ErrorKind::kInternal, "T3Session::step() after the utterance finished");
  c10::InferenceMode guard;
  const T3Config& c = model_->config();
  if (!prefilled_) prefill();
  if (pending_ >= 0) {
    // Feed the last emitted token to every row: speech_emb(tok) + speech_pos_emb(k) for the
    // k-th generated token (k = 1, 2, ...); RoPE positions continue after the prefill.
    at::Tensor tok = at::full({rows_, 1}, pending_,
                              at::TensorOptions(model_->options().device()).dtype(at::kLong));
    at::Tensor x = model_->speech_embeddings(tok, int64_t(generated_.size()));  // [B, 1, D]
    at::Tensor hidden =
        model_->backbone().forward(x, cache_, {}, analyzer_ ? &capture_ : nullptr);  // [B, 1, D]
    last_logits_ = model_->speech_logits(hidden.select(1, 0));                       // [B, V]
  }
  const int64_t step = int64_t(generated_.size());
  std::function<void(at::Tensor&)> alignment_control;
  if (analyzer_) {
    alignment_control = [&](at::Tensor& logits) {
      if (tap_) tap_("analyzer.aligned_attn", step, at::stack(capture_.maps, 0));
      // The last token fed in: start of speech at the first step.
      analysis_.push_back(analyzer_->step(capture_.maps, logits, history_.back()));
      capture_.maps.clear();  // drops the attention probabilities of the last forward
      if (tap_) tap_("step_logits_after_analyzer", step, logits[0]);
    };
  }
  at::Tensor probs = sampler_.probabilities(last_logits_, history_, step, tap_, alignment_control);
  const int64_t drawn = sampler_.draw(probs);
  if (tap_) tap_("sampled_token", step, at::scalar_tensor(drawn, at::kLong));
  const int64_t token = forced ? *forced : drawn;
  if (token < 0 || token >= c.speech_tokens_dict_size)
    throw Error(ErrorKind::kInvalidInput,
                "T3: forced token out of range: " + std::to_string(token));
  generated_.push_back(token);
  history_.push_back(token);
  pending_ = token;
  if (token == c.stop_speech_token ||
      int64_t(generated_.size()) >= sampler_.params().max_new_tokens)
    finished_ = true;
  return token;
}

std::vector<int64_t> t3_tokens_for_s3gen(const std::vector<int64_t>& raw,
                                         int64_t start_speech_token, int64_t stop_speech_token) {
  auto begin = raw.begin();
  auto start = std::find(raw.begin(), raw.end(), start_speech_token);
  if (start != raw.end()) begin = start + 1;
  auto end = std::find(begin, raw.end(), stop_speech_token);
  std::vector<int64_t> out;
  for (auto it = begin; it != end; ++it)
    if (*it >= 0 && *it < start_speech_token) out.push_back(*it);
  return out;
}

}  // namespace chatterbox
