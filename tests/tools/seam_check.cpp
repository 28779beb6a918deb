// chatterbox-seam-check: how seamless is streamed S3Gen audio?
//
//   chatterbox-seam-check --model DIR [--tokens N] [--seed S] [--sweep] [--json]
//                         [--min-context-snr DB]
//
// Decodes one speech-token sequence offline (one pass, finalize) and streamed in each stitch
// mode with the same randomness (flow noise by absolute mel frame, HiFT draws by absolute
// sample), then compares each stream with the offline audio:
//   snr_db        10 log10(sum offline^2 / sum (streamed - offline)^2) over the whole utterance
//   jump_ratio    mean over chunk boundaries b of |x[b] - x[b-1]|, divided by the median
//                 sample-to-sample jump of the same signal elsewhere (1 = a boundary looks like
//                 any other sample; a click is >> 1)
//   boundary_logmel_l1  mean |log-mel(streamed) - log-mel(offline)| over the mel frames within
//                 40 ms of a boundary, and the same away from boundaries (for scale)
// The tokens are random codec ids (random-weight models make noise-like audio anyway, so only
// the comparison with offline discriminates). vocoder_snr_db is the SNR when the chunks are
// vocoded from the one-pass mel: the stitching alone, with the flow's missing future factored
// out. --sweep measures context mode against the left context and look-ahead sizes.
// --min-context-snr makes the program fail (exit 1) unless context > overlap-add > none in
// vocoder SNR with context at or above the floor, and context below both others in log-mel
// distance near boundaries.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "../parity/tap_recorder.h"
#include "common/error.h"
#include "model.h"
#include "stream/chunk_decoder.h"
#include "stream/chunk_plan.h"
#include "voice/mel.h"

using namespace chatterbox;

namespace {

struct Streamed {
  std::vector<float> audio;
  std::vector<int64_t> boundaries;  // sample index of each chunk start after the first
};

// offline_mel defined: skip the flow and vocode the one-pass mel in the same chunks, which
// measures the vocoder's stitching alone.
Streamed stream(const LoadedModel& model, const std::vector<int64_t>& tokens,
                const ChunkSchedule& schedule, int cfm_steps, uint64_t seed,
                const at::Tensor& offline_mel = at::Tensor()) {
  ChunkPlanner planner(schedule);
  ChunkDecoder decoder(model.s3gen->flow(), model.s3gen->hift(), model.builtin_voice,
                       planner.schedule(), cfm_steps, seed);
  Streamed out;
  ChunkPlan plan;
  // All tokens exist from the start, but chunk decisions depend only on token counts, so the
  // schedule is the one a live T3 stream would get.
  while (planner.next(int(tokens.size()), /*done=*/true, plan)) {
    std::vector<float> chunk =
        offline_mel.defined()
            ? decoder.vocode(plan, offline_mel.slice(2, 2 * int64_t(plan.window_begin),
                                                     2 * int64_t(plan.emit_end)))
            : decoder.decode(plan, tokens);
    if (!out.audio.empty() && !chunk.empty()) out.boundaries.push_back(int64_t(out.audio.size()));
    out.audio.insert(out.audio.end(), chunk.begin(), chunk.end());
    if (plan.last) break;
  }
  return out;
}

struct Metrics {
  double vocoder_snr_db = 0;  // the same chunks vocoded from the one-pass mel
  double snr_db = 0, jump_ratio = 0, boundary_logmel_l1 = 0, interior_logmel_l1 = 0;
  int64_t length_diff = 0;
};

double snr_db(const std::vector<float>& reference, const std::vector<float>& x) {
  const size_t n = std::min(reference.size(), x.size());
  double signal = 0, noise = 0;
  for (size_t i = 0; i < n; ++i) {
    signal += double(reference[i]) * reference[i];
    noise += double(x[i] - reference[i]) * (x[i] - reference[i]);
  }
  return noise > 0 ? 10.0 * std::log10(signal / noise) : 200.0;
}

Metrics measure(const std::vector<float>& offline, const Streamed& s, const S3GenMel& mel) {
  Metrics m;
  m.length_diff = int64_t(s.audio.size()) - int64_t(offline.size());
  const size_t n = std::min(offline.size(), s.audio.size());
  m.snr_db = snr_db(offline, s.audio);

  std::vector<double> jumps;
  for (size_t i = 1; i < s.audio.size(); ++i)
    jumps.push_back(std::fabs(double(s.audio[i]) - s.audio[i - 1]));
  std::vector<double> sorted = jumps;
  std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
  const double median = std::max(sorted[sorted.size() / 2], 1e-12);
  double sum = 0;
  for (int64_t b : s.boundaries) sum += jumps[size_t(b - 1)] / median;
  m.jump_ratio = s.boundaries.empty() ? 1.0 : sum / double(s.boundaries.size());

  at::Tensor a =
      at::from_blob(const_cast<float*>(offline.data()), {1, int64_t(n)}, at::kFloat).clone();
  at::Tensor b =
      at::from_blob(const_cast<float*>(s.audio.data()), {1, int64_t(n)}, at::kFloat).clone();
  at::Tensor diff = (mel(b) - mel(a)).abs().mean(1)[0];  // [F] per-frame mean |log-mel difference|
  at::Tensor near = at::zeros({diff.size(0)}, at::kBool);
  for (int64_t boundary : s.boundaries) {
    const int64_t f = boundary / 480;
    near.slice(0, std::max<int64_t>(0, f - 2), std::min<int64_t>(diff.size(0), f + 2)).fill_(true);
  }
  m.boundary_logmel_l1 =
      near.any().item<bool>() ? diff.masked_select(near).mean().item<double>() : 0.0;
  at::Tensor far = near.logical_not();
  m.interior_logmel_l1 =
      far.any().item<bool>() ? diff.masked_select(far).mean().item<double>() : 0.0;
  return m;
}

const char* mode_name(StitchMode mode) {
  switch (mode) {
    case StitchMode::kNone:
      return "none";
    case StitchMode::kOverlapAdd:
      return "overlap-add";
    case StitchMode::kContext:
      return "context";
  }
  return "?";
}

void print(const char* mode, const ChunkSchedule& s, const Metrics& m, size_t chunks) {
  std::printf(
      "{\"mode\":\"%s\",\"first_chunk\":%d,\"chunk\":%d,\"left_context\":%d,\"lookahead\":%d,"
      "\"overlap\":%d,"
      "\"chunks\":%zu,\"snr_db\":%.2f,\"vocoder_snr_db\":%.2f,\"jump_ratio\":%.3f,\"boundary_"
      "logmel_l1\":%.4f,\"interior_logmel_l1\":%.4f,"
      "\"length_diff\":%lld}\n",
      mode, s.first_chunk_tokens, s.chunk_tokens, s.left_context_tokens, s.lookahead_tokens,
      s.overlap_tokens, chunks, m.snr_db, m.vocoder_snr_db, m.jump_ratio, m.boundary_logmel_l1,
      m.interior_logmel_l1, (long long)m.length_diff);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_dir;
  int n_tokens = 150, cfm_steps = 0;  // 0: the model's own (English 10, Turbo 2)
  uint64_t seed = 1234;
  bool sweep = false;
  double min_context_snr = NAN;
  ChunkSchedule defaults;  // the engine's defaults, unless overridden here
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--model" && i + 1 < argc)
      model_dir = argv[++i];
    else if (a == "--tokens" && i + 1 < argc)
      n_tokens = std::atoi(argv[++i]);
    else if (a == "--seed" && i + 1 < argc)
      seed = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--cfm-steps" && i + 1 < argc)
      cfm_steps = std::atoi(argv[++i]);
    else if (a == "--sweep")
      sweep = true;
    else if (a == "--left-context" && i + 1 < argc)
      defaults.left_context_tokens = std::atoi(argv[++i]);
    else if (a == "--overlap" && i + 1 < argc)
      defaults.overlap_tokens = std::atoi(argv[++i]);
    else if (a == "--lookahead" && i + 1 < argc)
      defaults.lookahead_tokens = std::atoi(argv[++i]);
    else if (a == "--first-chunk" && i + 1 < argc)
      defaults.first_chunk_tokens = std::atoi(argv[++i]);
    else if (a == "--chunk" && i + 1 < argc)
      defaults.chunk_tokens = defaults.max_chunk_tokens = std::atoi(argv[++i]);
    else if (a == "--min-context-snr" && i + 1 < argc)
      min_context_snr = std::atof(argv[++i]);
    else {
      std::fprintf(
          stderr,
          "usage: %s --model DIR [--tokens N] [--seed S] [--cfm-steps N] [--sweep] "
          "[--min-context-snr DB]\n"
          "       [--left-context N] [--lookahead N] [--overlap N] [--first-chunk N] [--chunk N]\n",
          argv[0]);
      return 2;
    }
  }
  try {
    c10::InferenceMode inference_mode;
    EngineConfig config;
    config.model_dir = model_dir;
    config.device = "cpu";
    auto model = load_model(config);
    at::Generator gen = at::detail::createCPUGenerator(seed);
    at::Tensor ids =
        at::randint(0, model->s3gen->flow().config().vocab_size, {n_tokens}, gen, at::kLong);
    std::vector<int64_t> tokens(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + n_tokens);

    ChunkDecoder offline_decoder(model->s3gen->flow(), model->s3gen->hift(), model->builtin_voice,
                                 defaults, cfm_steps, seed);
    parity::TapRecorder offline_taps;
    const std::vector<float> offline = offline_decoder.decode_offline(tokens, offline_taps.tap());
    const at::Tensor offline_mel = offline_taps.values.at("output_mel").at(-1);
    S3GenMel mel(at::TensorOptions().dtype(at::kFloat));

    double snr[3] = {0, 0, 0}, logmel[3] = {0, 0, 0};
    for (StitchMode mode : {StitchMode::kNone, StitchMode::kOverlapAdd, StitchMode::kContext}) {
      ChunkSchedule s = defaults;
      s.stitch_mode = mode;
      Streamed st = stream(*model, tokens, s, cfm_steps, seed);
      Metrics m = measure(offline, st, mel);
      m.vocoder_snr_db =
          snr_db(offline, stream(*model, tokens, s, cfm_steps, seed, offline_mel).audio);
      snr[int(mode)] = m.vocoder_snr_db;
      logmel[int(mode)] = m.boundary_logmel_l1;
      print(mode_name(mode), ChunkPlanner(s).schedule(), m, st.boundaries.size() + 1);
    }
    if (sweep) {
      for (int lookahead : {3, 5, 8, 12}) {
        for (int left : {0, 5, 10, 25, 50, 100, 1000}) {
          ChunkSchedule s = defaults;
          s.stitch_mode = StitchMode::kContext;
          s.left_context_tokens = left;
          s.lookahead_tokens = lookahead;
          Streamed st = stream(*model, tokens, s, cfm_steps, seed);
          print("context", s, measure(offline, st, mel), st.boundaries.size() + 1);
        }
      }
    }
    if (!std::isnan(min_context_snr)) {
      // Stitching is judged with the flow held fixed (vocoder_snr_db): on random weights the
      // waveform SNR of the whole path saturates near 15 dB in every mode, because the HiFT
      // harmonic phase integrates F0 and the random F0 head turns a 37 dB mel difference into a
      // drifting phase. The flow half is judged by the log-mel distance near boundaries.
      const int none = int(StitchMode::kNone), ola = int(StitchMode::kOverlapAdd),
                ctx = int(StitchMode::kContext);
      const bool snr_ok =
          snr[ctx] > snr[ola] && snr[ola] > snr[none] && snr[ctx] >= min_context_snr;
      // overlap-add and none decode each chunk's flow alone, so their order in log-mel depends on
      // the tokens; context must beat both.
      const bool mel_ok = logmel[ctx] < logmel[ola] && logmel[ctx] < logmel[none];
      std::printf(
          "%s: vocoder SNR context %.2f dB > overlap-add %.2f dB > none %.2f dB, context floor "
          "%.2f dB\n",
          snr_ok ? "PASS" : "FAIL", snr[ctx], snr[ola], snr[none], min_context_snr);
      std::printf("%s: boundary log-mel L1 context %.4f < overlap-add %.4f, none %.4f\n",
                  mel_ok ? "PASS" : "FAIL", logmel[ctx], logmel[ola], logmel[none]);
      return snr_ok && mel_ok ? 0 : 1;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "chatterbox-seam-check: %s\n", e.what());
    return 1;
  }
  return 0;
}
