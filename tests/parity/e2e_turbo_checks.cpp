// Parity of ChatterboxTurboTTS.generate end to end (fixture e2e_turbo), through the parts the
// element runs: the engine's LoadedModel (text front end, T3 session, token clean-up, Turbo's
// silence tail) and the streaming ChunkDecoder's one-pass decode, with the voice built from the
// reference recording by the Turbo VoiceBuilder. The T3 draws are teacher-forced (torch's
// generator is not reproduced), the S3Gen draws injected.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model.h"
#include "parity.h"
#include "stream/chunk_decoder.h"
#include "stream/chunk_plan.h"
#include "tap_recorder.h"
#include "voice/voice_builder.h"

namespace {
namespace fs = std::filesystem;
using namespace chatterbox;

// A model directory as the engine finds it: the oracle's weights and its tokenizer directory.
std::string assemble_model_dir(parity::Context& ctx) {
  const fs::path dir =
      fs::temp_directory_path() / ("chatterbox-parity-turbo-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const auto& from :
       {fs::path(ctx.weights_dir()), fs::path(ctx.dir()) / "fixtures" / "turbo_tokenizer"})
    for (const auto& entry : fs::directory_iterator(from))
      fs::create_symlink(fs::absolute(entry.path()), dir / entry.path().filename());
  return dir.string();
}

std::vector<int64_t> to_vector(const at::Tensor& t) {
  at::Tensor c = t.to(at::kLong).contiguous().view({-1});
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

}  // namespace

PARITY_CHECK(e2e_turbo, "fixtures/e2e_turbo.safetensors") {
  const std::string fx = "e2e_turbo";
  c10::InferenceMode guard;
  std::ifstream json_in(ctx.dir() + "/fixtures/e2e_turbo.json");
  const nlohmann::json call = nlohmann::json::parse(json_in);
  const std::string model_dir = assemble_model_dir(ctx);
  auto model = load_model({model_dir, "cpu"});
  fs::remove_all(model_dir);
  ctx.report(fx + ":variant recognised as turbo",
             model->variant() == ModelVariant::kTurbo ? 0.0 : 1.0, 0.0,
             model->variant() == ModelVariant::kTurbo);

  // Text: punc_norm + GPT-2 BPE, no start/stop ids.
  const std::vector<int64_t> ids = model->text_tokens(call.at("text").get<std::string>(), "en");
  ctx.compare(fx, "input.text_ids", at::tensor(ids, at::kLong).unsqueeze(0));

  // Voice: prepare_conditionals on the reference as loaded (the recording turbo_conds used).
  const VoiceBuilderConfig config =
      VoiceBuilderConfig::from_json(ctx.weights_config("ve"), ctx.weights_config("s3gen_meanflow"),
                                    ctx.weights_config("t3_turbo_v1"), ModelVariant::kTurbo);
  VoiceBuilder builder(ctx.weights("ve"), ctx.weights("s3gen_meanflow"), config,
                       at::TensorOptions());
  const at::Tensor ref = ctx.input("turbo_conds", "input.ref_wav_24k").reshape({-1});
  const std::vector<float> ref_samples(ref.data_ptr<float>(), ref.data_ptr<float>() + ref.numel());
  const VoiceConditioning voice = builder.build(ref_samples, 24000, 0.0f);
  ctx.compare(fx, "t3.speaker_emb", voice.speaker_emb);
  ctx.compare(fx, "t3.cond_prompt_speech_tokens", voice.cond_prompt_speech_tokens);
  ctx.compare(fx, "gen.prompt_token", voice.prompt_token);
  ctx.compare(fx, "gen.prompt_feat", voice.prompt_feat, parity::kLogMel);
  ctx.compare(fx, "gen.embedding", voice.embedding);

  // T3 with generate()'s defaults, teacher-forced with the reference's draws: the session must
  // stop exactly where the reference did, and the clean-up must keep what generate() kept.
  SynthesisParams params;
  params.seed = ctx.input(fx, "input.sampling_seed").item<int64_t>();
  const SynthesisParams resolved = params.resolve_for(model->variant());
  auto session = model->start_t3(voice, ids, resolved, uint64_t(params.seed));
  auto* turbo = dynamic_cast<T3TurboSession*>(session.get());
  const std::vector<int64_t> sampled = to_vector(ctx.input(fx, "t3_sampled_tokens"));
  size_t forced = 0;
  while (turbo && !turbo->finished() && forced < sampled.size())
    turbo->step_forced(sampled[forced++]);
  const bool stopped_there = turbo && turbo->finished() && forced == sampled.size();
  ctx.report(fx + ":t3 stops on the reference's last token", stopped_there ? 0.0 : 1.0, 0.0,
             stopped_there);
  if (!turbo) return;
  ctx.compare(fx, "t3_output_tokens", at::tensor(turbo->output_tokens(), at::kLong).unsqueeze(0));
  std::vector<int64_t> s3gen_tokens;
  for (int64_t t : turbo->tokens())
    if (t >= 0 && t < model->start_speech_token()) s3gen_tokens.push_back(t);
  for (int64_t t : model->end_of_utterance_tokens()) s3gen_tokens.push_back(t);
  ctx.compare(fx, "s3gen_input_tokens", at::tensor(s3gen_tokens, at::kLong).unsqueeze(0));

  // S3Gen through the element's decoder, one pass, with the recorded draws.
  VoiceConditioning gen_voice = voice;
  ChunkDecoder decoder(model->s3gen->flow(), model->s3gen->hift(), gen_voice, ChunkSchedule(),
                       resolved.cfm_steps,
                       FlowNoise::injected_meanflow(ctx.input(fx, "flow.noised_mels_draw"),
                                                    ctx.input(fx, "cfm.z_draw")),
                       HiftRandom::injected(ctx.input(fx, "sinegen.phase_vec_uniform"),
                                            ctx.input(fx, "sinegen.noise_randn")));
  parity::TapRecorder rec;
  const std::vector<float> wav = decoder.decode_offline(s3gen_tokens, rec.tap());
  ctx.compare(fx, "output_mel", rec.values["output_mel"][-1], parity::kModelOutput);
  ctx.compare(fx, "output_wav", at::tensor(wav).unsqueeze(0), parity::kWaveform);
  ctx.mark_used(fx, "source_module.noise_randn_unused");  // drawn by the reference, never used
}
