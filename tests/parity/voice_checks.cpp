// Parity checks for voice cloning (src/voice/): audio_frontend, voice_encoder, campplus,
// s3tokenizer, s3gen_embed_ref, conds. Each component is fed the fixture's own inputs.
#include <ATen/ATen.h>

#include "parity.h"
#include "voice/mel.h"
#include "voice/resample.h"

using namespace chatterbox;

namespace {
const c10::TensorOptions kCpu = at::TensorOptions().dtype(at::kFloat);
}  // namespace

PARITY_CHECK(voice_audio_frontend) {
  const std::string f = "audio_frontend";
  at::Tensor ref24 = ctx.input(f, "ref_wav_24k");  // [1, S]
  ctx.compare(f, "ref_wav_16k", resample(ref24, 24000, 16000), parity::kModelOutput);

  S3GenMel s3gen_mel(kCpu);
  ctx.compare(f, "s3gen_mel_24k.mel_basis", s3gen_mel.mel_basis);
  ctx.compare(f, "s3gen_mel_24k.ref", s3gen_mel(ref24), parity::kLogMel);
  ctx.compare(f, "s3gen_mel_24k.tone", s3gen_mel(ctx.input(f, "tone_wav_24k")), parity::kLogMel);

  S3TokenizerLogMel tok_mel(128, kCpu);
  ctx.compare(f, "s3tok_logmel_16k.mel_filters", tok_mel.mel_filters);
  ctx.compare(f, "s3tok_logmel_16k.ref", tok_mel(ctx.input(f, "ref_wav_16k")), parity::kLogMel);
  at::Tensor tone16 = ctx.input(f, "tone_wav_16k");
  ctx.compare(f, "s3tok_logmel_16k.tone", tok_mel(tone16), parity::kLogMel);

  KaldiFbank fbank(80, kCpu);
  ctx.compare(f, "campplus_fbank_16k.ref", fbank(ctx.input(f, "ref_wav_16k")).unsqueeze(0), parity::kLogMel);

  VoiceEncoderMel ve_mel(16000, 400, 160, 400, 40, 0.0, 8000.0, 2.0, kCpu);
  ctx.compare(f, "ve_mel_16k.tone", ve_mel(tone16));
}
