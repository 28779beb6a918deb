/* gst-chatterbox: Chatterbox text-to-speech for GStreamer.
 * SPDX-License-Identifier: MIT
 */

/**
 * SECTION:element-chatterboxtts
 * @title: chatterboxtts
 *
 * Synthesizes speech from UTF-8 text with Resemble AI's Chatterbox model (T3 text-to-token
 * Llama plus S3Gen flow-matching decoder and HiFT vocoder), run with libtorch.
 *
 * Text arrives on the sink pad as `text/x-raw, format=utf8` (or `pango-markup`, whose tags are
 * stripped). The sink pad only queues text (at most #GstChatterboxTts:max-queued-text
 * utterances); synthesis runs in the source pad's streaming thread, which pushes audio chunk
 * by chunk while the model is still generating, so the first audio leaves long before the
 * utterance is complete.
 *
 * * **Timed text** (buffers with a PTS in a TIME segment, e.g. from subparse): each buffer,
 *   or each buffer list, is spoken starting at its PTS. #GstChatterboxTts:overflow decides
 *   what happens when the audio is longer than the text's duration.
 * * **Untimed text** (no PTS, or a BYTES segment from filesrc/fdsrc): bytes are accumulated
 *   (even when cut inside a UTF-8 sequence), split into sentences, and each sentence is
 *   spoken right after the previous audio. A trailing partial sentence waits for more text,
 *   a newline, GAP, SEGMENT_DONE or EOS. A BYTES segment becomes a TIME segment at 0.
 * * **Source mode**: when the sink pad is not linked, the #GstChatterboxTts:text property is
 *   spoken and followed by EOS.
 *
 * Output is mono `F32LE` or `S16LE` at any rate from 8 to 192 kHz; the model's native
 * 24000 Hz F32 is preferred, other formats go through a #GstAudioConverter. Timestamps and
 * offsets come from sample counts. A flush (FLUSH_START) stops the current utterance within
 * one model step and drops queued text ("barge-in").
 *
 * The model loads in NULL→READY (shared between elements using the same model and device);
 * a missing or damaged model makes that state change fail with an error naming the file.
 *
 * ## Messages
 *
 * With #GstChatterboxTts:post-messages, one element message named
 * `chatterboxtts/synthesized-audio` is posted per utterance, with the fields:
 *
 * * `content` (string): the text spoken.
 * * `pts` (guint64): the timestamp of the utterance's first sample.
 * * `input-duration` (guint64): the duration of the timed text, or GST_CLOCK_TIME_NONE.
 * * `actual-duration` (guint64): the duration of the audio pushed.
 * * `samples` (guint64): samples pushed, at the output rate.
 * * `text-tokens` (gint), `speech-tokens` (gint): token counts of the utterance.
 * * `first-chunk-latency` (guint64): nanoseconds from the text's arrival on the sink pad to
 *   its first audio buffer leaving the source pad.
 * * `rtf` (gdouble): the engine's real-time factor (compute time / audio time; < 1 is faster
 *   than real time).
 * * `voice` (string): the voice file used, or "" for the model's built-in voice.
 *
 * ## Custom event
 *
 * A serialized downstream custom event whose structure is named `chatterbox-voice`, with a
 * string field `voice` (a file path, or "" for the built-in voice), sets
 * #GstChatterboxTts:voice from that point of the stream on. Text before the event is spoken
 * with the previous voice.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 filesrc location=script.txt ! chatterboxtts model-path=/models/chatterbox ! audioconvert ! wavenc ! filesink location=out.wav
 * ]| Reads a text file, speaks it sentence by sentence and writes a WAV file.
 * |[
 * gst-launch-1.0 chatterboxtts text="Hello from GStreamer." voice=me.wav ! audioconvert ! autoaudiosink
 * ]| Source mode: speaks one sentence in the voice of me.wav, then stops.
 * |[
 * gst-launch-1.0 filesrc location=subs.srt ! subparse ! chatterboxtts overflow=clip ! audioconvert ! wavenc ! filesink location=dub.wav
 * ]| Speaks subtitles at their timestamps, each cut to its cue's duration.
 * |[
 * gst-launch-1.0 fdsrc ! text/x-raw,format=utf8 ! queue ! chatterboxtts ! queue max-size-time=5000000000 ! audioconvert ! autoaudiosink
 * ]| Speaks each line typed on standard input. The queue before the element keeps upstream
 * unblocked; the one after it lets generation run ahead of playback.
 *
 * Since: 0.1
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstchatterboxtts.h"

#include <gst/audio/audio.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "chatterboxtext.h"
#include "chatterboxvoicefile.h"
#include "common/error.h"
#include "gstchatterboxenums.h"

GST_DEBUG_CATEGORY_STATIC(gst_chatterbox_tts_debug);
#define GST_CAT_DEFAULT gst_chatterbox_tts_debug

/* Defaults are the original ChatterboxTTS.generate() defaults (see chatterbox::SynthesisParams;
 * the element tests check that both agree). */
#define DEFAULT_MODEL_PATH NULL
#define DEFAULT_DEVICE "auto"
#define DEFAULT_VOICE NULL
#define DEFAULT_EXAGGERATION 0.5
#define DEFAULT_CFG_WEIGHT 0.5
#define DEFAULT_TEMPERATURE 0.8
#define DEFAULT_TOP_P 1.0
#define DEFAULT_MIN_P 0.05
#define DEFAULT_REPETITION_PENALTY 1.2
#define DEFAULT_SEED -1
#define DEFAULT_MAX_TOKENS 1000
#define DEFAULT_TEXT NULL
/* Streaming knobs have no counterpart in the original API: their defaults are the engine's. */
static const chatterbox::SynthesisParams kEngineDefaults;
#define DEFAULT_FIRST_CHUNK_SIZE ((guint)kEngineDefaults.first_chunk_tokens)
#define DEFAULT_CHUNK_SIZE ((guint)kEngineDefaults.chunk_tokens)
#define DEFAULT_MAX_CHUNK_SIZE ((guint)kEngineDefaults.max_chunk_tokens)
#define DEFAULT_STITCH_MODE GST_CHATTERBOX_TTS_STITCH_CONTEXT
#define DEFAULT_OVERLAP ((guint)kEngineDefaults.overlap_tokens)
#define DEFAULT_CFM_STEPS ((guint)kEngineDefaults.cfm_steps)
#define DEFAULT_QUEUE_DEPTH ((guint)kEngineDefaults.queue_depth)
#define DEFAULT_OVERFLOW GST_CHATTERBOX_TTS_OVERFLOW_SHIFT
#define DEFAULT_LATENCY 1000
#define DEFAULT_POST_MESSAGES TRUE
#define DEFAULT_MAX_QUEUED_TEXT 32

enum {
  PROP_0,
  PROP_MODEL_PATH,
  PROP_DEVICE,
  PROP_VOICE,
  PROP_EXAGGERATION,
  PROP_CFG_WEIGHT,
  PROP_TEMPERATURE,
  PROP_TOP_P,
  PROP_MIN_P,
  PROP_REPETITION_PENALTY,
  PROP_SEED,
  PROP_MAX_TOKENS,
  PROP_TEXT,
  PROP_FIRST_CHUNK_SIZE,
  PROP_CHUNK_SIZE,
  PROP_MAX_CHUNK_SIZE,
  PROP_STITCH_MODE,
  PROP_OVERLAP,
  PROP_CFM_STEPS,
  PROP_QUEUE_DEPTH,
  PROP_OVERFLOW,
  PROP_LATENCY,
  PROP_POST_MESSAGES,
  PROP_MAX_QUEUED_TEXT,
};

#define SINK_CAPS "text/x-raw, format = (string) { utf8, pango-markup }"
#define SRC_CAPS                                                                     \
  "audio/x-raw, format = (string) { F32LE, S16LE }, rate = (int) [ 8000, 192000 ], " \
  "channels = (int) 1, layout = (string) interleaved"

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(SINK_CAPS));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(SRC_CAPS));

/* Longest untimed text kept waiting for a sentence end before it is spoken anyway. */
static const size_t kMaxPendingBytes = 2000;
/* Name of the custom downstream event that switches the voice mid-stream. */
static const char* const kVoiceEventName = "chatterbox-voice";
static const char* const kMessageName = "chatterboxtts/synthesized-audio";
/* Internal flow return: the error was already posted on the bus. */
#define FLOW_ERROR_POSTED GST_FLOW_CUSTOM_ERROR

namespace {

/* Property values. Protected by the object lock. */
struct Settings {
  std::string model_path;
  std::string device = DEFAULT_DEVICE;
  std::string voice;
  double exaggeration = DEFAULT_EXAGGERATION;
  double cfg_weight = DEFAULT_CFG_WEIGHT;
  double temperature = DEFAULT_TEMPERATURE;
  double top_p = DEFAULT_TOP_P;
  double min_p = DEFAULT_MIN_P;
  double repetition_penalty = DEFAULT_REPETITION_PENALTY;
  gint64 seed = DEFAULT_SEED;
  guint max_tokens = DEFAULT_MAX_TOKENS;
  std::string text;
  guint first_chunk_size = DEFAULT_FIRST_CHUNK_SIZE;
  guint chunk_size = DEFAULT_CHUNK_SIZE;
  guint max_chunk_size = DEFAULT_MAX_CHUNK_SIZE;
  GstChatterboxTtsStitchMode stitch_mode = DEFAULT_STITCH_MODE;
  guint overlap = DEFAULT_OVERLAP;
  guint cfm_steps = DEFAULT_CFM_STEPS;
  guint queue_depth = DEFAULT_QUEUE_DEPTH;
  GstChatterboxTtsOverflow overflow = DEFAULT_OVERFLOW;
  guint latency_ms = DEFAULT_LATENCY;
  gboolean post_messages = DEFAULT_POST_MESSAGES;
  guint max_queued_text = DEFAULT_MAX_QUEUED_TEXT;
};

/* One entry of the queue between the sink pad and the source pad task: a piece of text to
 * speak, or a serialized event that must leave after the audio queued before it. */
struct QueueItem {
  GstEvent* event = nullptr; /* owned; null for text */
  std::string text;
  GstClockTime pts = GST_CLOCK_TIME_NONE;       /* start of a timed group, else NONE */
  GstClockTime group_end = GST_CLOCK_TIME_NONE; /* pts + duration of the timed group */
  gint64 arrival_us = 0;                        /* g_get_monotonic_time() at the sink pad */
  std::shared_ptr<GstBuffer> meta_source;       /* timed input buffer whose metas we copy */
};

std::shared_ptr<GstBuffer> share_buffer(GstBuffer* buffer) {
  if (!buffer) return nullptr;
  return std::shared_ptr<GstBuffer>(gst_buffer_ref(buffer), gst_buffer_unref);
}

/* Copies the metas of the text buffer that carry no tags (so they do not describe the text's
 * bytes or format) onto an audio chunk, as awspolly does. */
void copy_untagged_metas(GstBuffer* from, GstBuffer* to) {
  gpointer state = NULL;
  while (GstMeta* meta = gst_buffer_iterate_meta(from, &state)) {
    const GstMetaInfo* info = meta->info;
    const gchar* const* tags = gst_meta_api_type_get_tags(info->api);
    if ((tags && tags[0]) || !info->transform_func) continue;
    GstMetaTransformCopy copy = {FALSE, 0, (gsize)-1};
    info->transform_func(to, meta, from, _gst_meta_transform_copy, &copy);
  }
}

/* Converts the engine's 24 kHz F32 mono into the negotiated format with a GstAudioConverter,
 * and makes each utterance produce exactly round(samples * out_rate / 24000) samples: the
 * resampler's tail is drained with zeros at the end of the utterance. */
class OutputConverter {
 public:
  ~OutputConverter() { clear(); }

  bool configure(const GstAudioInfo& out) {
    clear();
    gst_audio_info_set_format(&in_info_, GST_AUDIO_FORMAT_F32LE, chatterbox::kSampleRate, 1,
                              nullptr);
    out_info_ = out;
    GstStructure* config =
        gst_structure_new("GstAudioConverterConfig", GST_AUDIO_CONVERTER_OPT_DITHER_METHOD,
                          GST_TYPE_AUDIO_DITHER_METHOD, GST_AUDIO_DITHER_NONE,
                          GST_AUDIO_CONVERTER_OPT_NOISE_SHAPING_METHOD,
                          GST_TYPE_AUDIO_NOISE_SHAPING_METHOD, GST_AUDIO_NOISE_SHAPING_NONE, NULL);
    /* No dither: the same seed must give byte-identical S16 output. */
    converter_ =
        gst_audio_converter_new(GST_AUDIO_CONVERTER_FLAG_NONE, &in_info_, &out_info_, config);
    if (!converter_) return false;
    passthrough_ = gst_audio_converter_is_passthrough(converter_);
    return true;
  }

  void clear() {
    if (converter_) gst_audio_converter_free(converter_);
    converter_ = nullptr;
    in_total_ = out_total_ = 0;
  }

  int rate() const { return GST_AUDIO_INFO_RATE(&out_info_); }
  int bpf() const { return GST_AUDIO_INFO_BPF(&out_info_); }

  /* Frames the converter holds back, in output frames (for the latency query). */
  GstClockTime latency() const {
    if (!converter_ || passthrough_) return 0;
    return gst_util_uint64_scale_int_ceil(gst_audio_converter_get_max_latency(converter_),
                                          GST_SECOND, chatterbox::kSampleRate);
  }

  /* [S] 24 kHz floats in, bytes of the output format appended to `out`. */
  void process(const float* in, size_t frames, std::vector<guint8>& out) {
    in_total_ += frames;
    if (passthrough_) {
      const guint8* b = reinterpret_cast<const guint8*>(in);
      out.insert(out.end(), b, b + frames * sizeof(float));
      out_total_ += frames;
      return;
    }
    run(in, frames, out);
  }

  /* Ends the utterance: emits the resampler's remaining output, exactly up to the expected
   * length, and resets the converter for the next utterance. */
  void drain(std::vector<guint8>& out) {
    if (!passthrough_ && converter_) {
      guint64 expected =
          gst_util_uint64_scale_int_round(in_total_, rate(), chatterbox::kSampleRate);
      size_t block = gst_audio_converter_get_max_latency(converter_) + 64;
      std::vector<float> zeros(block, 0.0f);
      /* Each round yields about block * ratio frames; the bound only guards a broken converter. */
      for (int round = 0; out_total_ < expected && round < 64; ++round)
        run(zeros.data(), zeros.size(), out);
      if (out_total_ > expected) {
        guint64 extra = std::min<guint64>(out_total_ - expected, out.size() / bpf());
        out.resize(out.size() - extra * bpf());
      }
      gst_audio_converter_reset(converter_);
    }
    in_total_ = out_total_ = 0;
  }

  /* Drops any state of an unfinished utterance (flush, clip). */
  void reset() {
    if (converter_) gst_audio_converter_reset(converter_);
    in_total_ = out_total_ = 0;
  }

 private:
  void run(const float* in, size_t frames, std::vector<guint8>& out) {
    gsize out_frames = gst_audio_converter_get_out_frames(converter_, frames);
    size_t offset = out.size();
    out.resize(offset + out_frames * bpf());
    gpointer in_planes[1] = {const_cast<float*>(in)};
    gpointer out_planes[1] = {out.data() + offset};
    if (!gst_audio_converter_samples(converter_, GST_AUDIO_CONVERTER_FLAG_NONE, in_planes, frames,
                                     out_planes, out_frames)) {
      out.resize(offset);
      throw chatterbox::Error(chatterbox::ErrorKind::kInternal, "audio conversion failed");
    }
    out_total_ += out_frames;
  }

  GstAudioInfo in_info_{};
  GstAudioInfo out_info_{};
  GstAudioConverter* converter_ = nullptr;
  bool passthrough_ = false;
  guint64 in_total_ = 0;  /* 24 kHz frames fed in this utterance */
  guint64 out_total_ = 0; /* output frames produced in this utterance */
};

std::mutex factory_mutex;
chatterbox::SynthesizerFactory synthesizer_factory;

std::shared_ptr<chatterbox::Synthesizer> make_synthesizer(const chatterbox::EngineConfig& config) {
  chatterbox::SynthesizerFactory factory;
  {
    std::lock_guard<std::mutex> lock(factory_mutex);
    factory = synthesizer_factory;
  }
  if (factory) return factory(config);
  return chatterbox::Engine::load(config);
}

bool valid_device(const std::string& device) {
  if (device == "auto" || device == "cpu" || device == "cuda") return true;
  if (device.compare(0, 5, "cuda:") != 0 || device.size() == 5) return false;
  return device.find_first_not_of("0123456789", 5) == std::string::npos;
}

/* Identifies a voice file version, so a replaced file is decoded again. */
std::string voice_cache_key(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return path;
  return path + "|" + std::to_string((long long)st.st_mtime) + "|" +
         std::to_string((long long)st.st_size);
}

}  // namespace

/* C++ state of the element, new'ed in _init and deleted in _finalize so that constructors and
 * destructors run. Lock order: stream lock, then object lock or queue_lock (never both). */
struct GstChatterboxTtsPrivate {
  /* Protected by the object lock. */
  Settings settings;
  GstClockTime first_chunk_estimate = 0; /* measured time to first audio, for live latency */

  /* Set in NULL->READY, cleared in READY->NULL; the streaming threads only run in between. */
  std::shared_ptr<chatterbox::Synthesizer> synth;

  /* Sink side, protected by the sink pad's stream lock. */
  chatterbox::TextDecoder decoder;
  std::string pending; /* untimed text waiting for a sentence end */
  gint64 pending_arrival_us = 0;
  bool markup = false; /* input caps say pango-markup */
  bool in_time = true; /* input segment is TIME (else all input is untimed) */

  /* The queue between sink and source pad, protected by queue_lock. */
  std::mutex queue_lock;
  std::condition_variable queue_cond;
  std::deque<QueueItem> queue;
  size_t queued_text = 0;
  bool flushing = true;
  GstFlowReturn srcresult = GST_FLOW_FLUSHING;
  std::shared_ptr<chatterbox::Utterance> current; /* in flight, for cancel() on flush */

  /* Serializes (re)starting the source pad task with its deactivation, so that a FLUSH_STOP
   * racing a state change never starts a task on a pad that is going inactive. */
  std::mutex task_lock;

  /* Source side, used by the source pad task only (or while it is stopped/paused). */
  GstSegment segment;
  bool have_segment = false; /* a segment event was received */
  bool segment_pushed = false;
  GstClockTime position = GST_CLOCK_TIME_NONE; /* end of the last output, segment time */
  guint64 offset = 0;                          /* output samples pushed since start/flush */
  bool discont = true;
  bool negotiated = false;
  GstAudioInfo out_info;
  OutputConverter converter;
  std::string voice_path; /* voice of the last utterance */
  std::shared_ptr<const chatterbox::Voice> voice;
  std::map<std::string, std::shared_ptr<const chatterbox::Voice>> voice_cache;

  /* Read by queries from any thread. */
  std::atomic<guint64> query_position{GST_CLOCK_TIME_NONE};
  std::atomic<guint64> converter_latency{0};
  /* Upstream's latency answer (without ours), for the live deadline. */
  std::atomic<bool> upstream_known{false};
  std::atomic<bool> upstream_live{false};
  std::atomic<guint64> upstream_min{0};
  guint64 dropped = 0; /* output frames dropped as late (task only) */
};

struct _GstChatterboxTts {
  GstElement parent;

  GstPad* sinkpad;
  GstPad* srcpad;
  GstChatterboxTtsPrivate* priv;
};

#define gst_chatterbox_tts_parent_class parent_class
G_DEFINE_TYPE(GstChatterboxTts, gst_chatterbox_tts, GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE(chatterboxtts, "chatterboxtts", GST_RANK_NONE,
                                      GST_TYPE_CHATTERBOX_TTS,
                                      GST_DEBUG_CATEGORY_INIT(gst_chatterbox_tts_debug,
                                                              "chatterboxtts", 0,
                                                              "Chatterbox text-to-speech"));

static void gst_chatterbox_tts_dispose(GObject* object);
static gboolean stop_task(GstChatterboxTts* self);
static void gst_chatterbox_tts_finalize(GObject* object);
static void gst_chatterbox_tts_set_property(GObject* object, guint prop_id, const GValue* value,
                                            GParamSpec* pspec);
static void gst_chatterbox_tts_get_property(GObject* object, guint prop_id, GValue* value,
                                            GParamSpec* pspec);
static GstStateChangeReturn gst_chatterbox_tts_change_state(GstElement* element,
                                                            GstStateChange transition);
static GstFlowReturn gst_chatterbox_tts_chain(GstPad* pad, GstObject* parent, GstBuffer* buffer);
static GstFlowReturn gst_chatterbox_tts_chain_list(GstPad* pad, GstObject* parent,
                                                   GstBufferList* list);
static gboolean gst_chatterbox_tts_sink_event(GstPad* pad, GstObject* parent, GstEvent* event);
static gboolean gst_chatterbox_tts_src_query(GstPad* pad, GstObject* parent, GstQuery* query);
static gboolean gst_chatterbox_tts_src_activate_mode(GstPad* pad, GstObject* parent,
                                                     GstPadMode mode, gboolean active);
static void gst_chatterbox_tts_loop(GstChatterboxTts* self);

void gst_chatterbox_tts_set_synthesizer_factory(chatterbox::SynthesizerFactory factory) {
  std::lock_guard<std::mutex> lock(factory_mutex);
  synthesizer_factory = std::move(factory);
}

static void gst_chatterbox_tts_class_init(GstChatterboxTtsClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  const GParamFlags rw = (GParamFlags)(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  const GParamFlags ready = (GParamFlags)(rw | GST_PARAM_MUTABLE_READY);
  const GParamFlags playing = (GParamFlags)(rw | GST_PARAM_MUTABLE_PLAYING);

  gobject_class->dispose = gst_chatterbox_tts_dispose;
  gobject_class->finalize = gst_chatterbox_tts_finalize;
  gobject_class->set_property = gst_chatterbox_tts_set_property;
  gobject_class->get_property = gst_chatterbox_tts_get_property;

  /**
   * GstChatterboxTts:model-path:
   *
   * Directory holding the Chatterbox model files as published on Hugging Face
   * (t3_cfg.safetensors, s3gen.safetensors, ve.safetensors, tokenizer.json, conds.pt).
   * NULL searches $CHATTERBOX_MODEL_DIR, then the Hugging Face cache. Read in NULL→READY.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_MODEL_PATH,
      g_param_spec_string(
          "model-path", "Model path",
          "Directory with the Chatterbox model files (NULL: $CHATTERBOX_MODEL_DIR, then the "
          "Hugging Face cache)",
          DEFAULT_MODEL_PATH, ready));

  /**
   * GstChatterboxTts:device:
   *
   * Where the model runs: `auto` (the first CUDA device when available, else the CPU),
   * `cpu`, `cuda` or `cuda:N`. Read in NULL→READY.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_DEVICE,
      g_param_spec_string("device", "Device", "Compute device: auto, cpu, cuda or cuda:N",
                          DEFAULT_DEVICE, ready));

  /**
   * GstChatterboxTts:voice:
   *
   * Reference recording of the voice to clone: any audio file GStreamer can decode (a few
   * seconds of clean speech; the first 10 s are used), or saved conditioning ending in `.pt`
   * or `.safetensors`. NULL or "" uses the model's built-in voice. Checked in NULL→READY
   * when already set; a change while playing applies from the next utterance.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_VOICE,
      g_param_spec_string(
          "voice", "Voice",
          "Audio file (or .pt/.safetensors conditioning) of the voice to clone; NULL: built-in "
          "voice",
          DEFAULT_VOICE, playing));

  /**
   * GstChatterboxTts:exaggeration:
   *
   * Emotion intensity. Higher values give more expressive and usually faster speech.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_EXAGGERATION,
      g_param_spec_double("exaggeration", "Exaggeration", "Emotion exaggeration (0.5 is neutral)",
                          0.0, 2.0, DEFAULT_EXAGGERATION, playing));

  /**
   * GstChatterboxTts:cfg-weight:
   *
   * Classifier-free guidance weight; 0 disables guidance (and halves the T3 work). Around
   * 0.3 suits fast reference speakers.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_CFG_WEIGHT,
      g_param_spec_double("cfg-weight", "CFG weight", "Classifier-free guidance weight (0: off)",
                          0.0, 1.0, DEFAULT_CFG_WEIGHT, playing));

  /**
   * GstChatterboxTts:temperature:
   *
   * Sampling temperature of the speech tokens.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_TEMPERATURE,
      g_param_spec_double("temperature", "Temperature", "Sampling temperature", 0.05, 5.0,
                          DEFAULT_TEMPERATURE, playing));

  /**
   * GstChatterboxTts:top-p:
   *
   * Nucleus sampling: keep the most likely tokens whose probabilities sum to this (1: off).
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_TOP_P,
      g_param_spec_double("top-p", "Top p", "Nucleus sampling threshold (1.0: off)", 0.0, 1.0,
                          DEFAULT_TOP_P, playing));

  /**
   * GstChatterboxTts:min-p:
   *
   * Drop tokens less likely than this fraction of the most likely one (0: off).
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_MIN_P,
      g_param_spec_double("min-p", "Min p",
                          "Minimum probability relative to the best token (0.0: off)", 0.0, 1.0,
                          DEFAULT_MIN_P, playing));

  /**
   * GstChatterboxTts:repetition-penalty:
   *
   * Penalty on speech tokens already generated in the utterance (1: off).
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_REPETITION_PENALTY,
      g_param_spec_double("repetition-penalty", "Repetition penalty",
                          "Penalty for repeated speech tokens (1.0: off)", 1.0, 10.0,
                          DEFAULT_REPETITION_PENALTY, playing));

  /**
   * GstChatterboxTts:seed:
   *
   * Random seed, applied at the start of every utterance so that the same text and
   * settings give identical audio. -1 picks a random seed each time.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_SEED,
      g_param_spec_int64("seed", "Seed", "Random seed per utterance (-1: random)", -1, G_MAXINT64,
                         DEFAULT_SEED, playing));

  /**
   * GstChatterboxTts:max-tokens:
   *
   * Safety cap on speech tokens per utterance (25 tokens per second of audio).
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_MAX_TOKENS,
      g_param_spec_uint("max-tokens", "Max tokens",
                        "Maximum speech tokens per utterance (25 per second)", 1, 100000,
                        DEFAULT_MAX_TOKENS, playing));

  /**
   * GstChatterboxTts:text:
   *
   * Text spoken in source mode, that is when the sink pad is not linked; the element then
   * sends EOS. Read when the element goes to PAUSED.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_TEXT,
      g_param_spec_string("text", "Text",
                          "Text to speak when the sink pad is not linked (source mode)",
                          DEFAULT_TEXT, ready));

  /**
   * GstChatterboxTts:first-chunk-size:
   *
   * Speech tokens in the first streamed chunk of an utterance (40 ms each). Smaller values
   * give audio sooner.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_FIRST_CHUNK_SIZE,
      g_param_spec_uint("first-chunk-size", "First chunk size",
                        "Speech tokens in the first chunk of an utterance", 1, 1000,
                        DEFAULT_FIRST_CHUNK_SIZE, playing));

  /**
   * GstChatterboxTts:chunk-size:
   *
   * Speech tokens in the following chunks; they double up to
   * #GstChatterboxTts:max-chunk-size.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_CHUNK_SIZE,
      g_param_spec_uint("chunk-size", "Chunk size", "Speech tokens per chunk after the first", 1,
                        1000, DEFAULT_CHUNK_SIZE, playing));

  /**
   * GstChatterboxTts:max-chunk-size:
   *
   * Largest chunk, in speech tokens (values below #GstChatterboxTts:chunk-size count as
   * chunk-size).
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_MAX_CHUNK_SIZE,
      g_param_spec_uint("max-chunk-size", "Max chunk size", "Largest chunk in speech tokens", 1,
                        1000, DEFAULT_MAX_CHUNK_SIZE, playing));

  /**
   * GstChatterboxTts:stitch-mode:
   *
   * How streamed chunks are joined.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_STITCH_MODE,
      g_param_spec_enum("stitch-mode", "Stitch mode", "How streamed chunks are joined",
                        GST_TYPE_CHATTERBOX_TTS_STITCH_MODE, DEFAULT_STITCH_MODE, playing));

  /**
   * GstChatterboxTts:overlap:
   *
   * Tokens decoded twice at each chunk boundary in `overlap-add` stitch mode.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_OVERLAP,
      g_param_spec_uint("overlap", "Overlap",
                        "Tokens decoded twice per chunk boundary (stitch-mode=overlap-add)", 0, 100,
                        DEFAULT_OVERLAP, playing));

  /**
   * GstChatterboxTts:cfm-steps:
   *
   * Euler steps of the S3Gen flow-matching decoder (fewer is faster, rougher).
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_CFM_STEPS,
      g_param_spec_uint("cfm-steps", "CFM steps", "Flow-matching Euler steps", 1, 100,
                        DEFAULT_CFM_STEPS, playing));

  /**
   * GstChatterboxTts:queue-depth:
   *
   * Chunks buffered between the token generator and the vocoder stage of the engine.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_QUEUE_DEPTH,
      g_param_spec_uint("queue-depth", "Queue depth",
                        "Chunks buffered between the engine's T3 and S3Gen stages", 1, 64,
                        DEFAULT_QUEUE_DEPTH, playing));

  /**
   * GstChatterboxTts:overflow:
   *
   * What to do when the audio of timed text lasts longer than the text's duration, or
   * would start before the previous audio has ended.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_OVERFLOW,
      g_param_spec_enum("overflow", "Overflow", "Handling of audio longer than its timed text",
                        GST_TYPE_CHATTERBOX_TTS_OVERFLOW, DEFAULT_OVERFLOW, playing));

  /**
   * GstChatterboxTts:latency:
   *
   * Processing budget in milliseconds, added to the latency reported downstream when
   * upstream is live (together with the longest time to first audio measured so far).
   * Changing it posts a latency message.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_LATENCY,
      g_param_spec_uint("latency", "Latency",
                        "Processing latency in ms added when upstream is live", 0, G_MAXUINT / 1000,
                        DEFAULT_LATENCY, playing));

  /**
   * GstChatterboxTts:post-messages:
   *
   * Post a `chatterboxtts/synthesized-audio` element message per utterance (see the element
   * description for its fields).
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_POST_MESSAGES,
      g_param_spec_boolean("post-messages", "Post messages",
                           "Post a statistics element message per utterance", DEFAULT_POST_MESSAGES,
                           playing));

  /**
   * GstChatterboxTts:max-queued-text:
   *
   * Utterances that may wait between the sink pad and the synthesizer; when full, the sink
   * pad blocks upstream.
   *
   * Since: 0.1
   */
  g_object_class_install_property(gobject_class, PROP_MAX_QUEUED_TEXT,
                                  g_param_spec_uint("max-queued-text", "Max queued text",
                                                    "Utterances queued before the sink pad blocks",
                                                    1, 100000, DEFAULT_MAX_QUEUED_TEXT, playing));

  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(
      element_class, "Chatterbox text-to-speech", "Converter/Text/Audio",
      "Synthesizes speech from UTF-8 text with the Chatterbox neural TTS model (libtorch)",
      "gst-chatterbox developers");

  element_class->change_state = GST_DEBUG_FUNCPTR(gst_chatterbox_tts_change_state);

  gst_type_mark_as_plugin_api(GST_TYPE_CHATTERBOX_TTS_OVERFLOW, (GstPluginAPIFlags)0);
  gst_type_mark_as_plugin_api(GST_TYPE_CHATTERBOX_TTS_STITCH_MODE, (GstPluginAPIFlags)0);
}

static void gst_chatterbox_tts_init(GstChatterboxTts* self) {
  self->priv = new GstChatterboxTtsPrivate();
  gst_segment_init(&self->priv->segment, GST_FORMAT_TIME);
  gst_audio_info_init(&self->priv->out_info);

  self->sinkpad = gst_pad_new_from_static_template(&sink_template, "sink");
  gst_pad_set_chain_function(self->sinkpad, GST_DEBUG_FUNCPTR(gst_chatterbox_tts_chain));
  gst_pad_set_chain_list_function(self->sinkpad, GST_DEBUG_FUNCPTR(gst_chatterbox_tts_chain_list));
  gst_pad_set_event_function(self->sinkpad, GST_DEBUG_FUNCPTR(gst_chatterbox_tts_sink_event));
  gst_element_add_pad(GST_ELEMENT(self), self->sinkpad);

  self->srcpad = gst_pad_new_from_static_template(&src_template, "src");
  gst_pad_set_query_function(self->srcpad, GST_DEBUG_FUNCPTR(gst_chatterbox_tts_src_query));
  gst_pad_set_activatemode_function(self->srcpad,
                                    GST_DEBUG_FUNCPTR(gst_chatterbox_tts_src_activate_mode));
  gst_pad_use_fixed_caps(self->srcpad);
  gst_element_add_pad(GST_ELEMENT(self), self->srcpad);
}

/* A task left running would wait on the private state finalize destroys: stop it while the
 * pads still exist (normally there is none: NULL stops it). */
static void gst_chatterbox_tts_dispose(GObject* object) {
  GstChatterboxTts* self = GST_CHATTERBOX_TTS(object);
  if (self->srcpad && gst_pad_get_task_state(self->srcpad) != GST_TASK_STOPPED) {
    GST_WARNING_OBJECT(self, "source pad task still present at dispose, stopping it");
    stop_task(self);
  }
  G_OBJECT_CLASS(parent_class)->dispose(object);
  /* The parent removed (and released) the pads. */
  self->sinkpad = self->srcpad = NULL;
}

static void gst_chatterbox_tts_finalize(GObject* object) {
  GstChatterboxTts* self = GST_CHATTERBOX_TTS(object);
  for (QueueItem& item : self->priv->queue)
    if (item.event) gst_event_unref(item.event);
  delete self->priv;
  self->priv = nullptr;
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

/* ------------------------------------------------------------------------------------------
 * Errors: every exception stops at the entry point that called into C++ and becomes a
 * GStreamer error. These helpers post it; the caller returns ERROR/FAILURE.
 */

static void post_engine_error(GstChatterboxTts* self, const chatterbox::Error& e,
                              const char* what) {
  using chatterbox::ErrorKind;
  switch (e.kind()) {
    case ErrorKind::kModelFile:
      GST_ELEMENT_ERROR(self, LIBRARY, INIT, ("%s: %s", what, e.what()),
                        ("model file error (%s)", chatterbox::error_kind_name(e.kind())));
      break;
    case ErrorKind::kIo:
      GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ, ("%s: %s", what, e.what()), (NULL));
      break;
    case ErrorKind::kDevice:
      GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("%s: %s", what, e.what()), (NULL));
      break;
    case ErrorKind::kInvalidInput:
      GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("%s: %s", what, e.what()), (NULL));
      break;
    default:
      GST_ELEMENT_ERROR(self, STREAM, FAILED, ("%s: %s", what, e.what()),
                        ("engine error (%s)", chatterbox::error_kind_name(e.kind())));
      break;
  }
}

static void post_voice_error(GstChatterboxTts* self, const chatterbox::VoiceFileError& e) {
  using Reason = chatterbox::VoiceFileError::Reason;
  switch (e.reason()) {
    case Reason::kNotFound:
      GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("%s", e.what()), (NULL));
      break;
    case Reason::kUnreadable:
      GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ, ("%s", e.what()), (NULL));
      break;
    case Reason::kMissingPlugin:
      GST_ELEMENT_ERROR(self, CORE, MISSING_PLUGIN, ("%s", e.what()), (NULL));
      break;
    case Reason::kNotAudio:
      GST_ELEMENT_ERROR(self, STREAM, WRONG_TYPE, ("%s", e.what()), (NULL));
      break;
    case Reason::kTimeout:
      GST_ELEMENT_ERROR(self, STREAM, DECODE, ("%s", e.what()), (NULL));
      break;
    case Reason::kSilent:
    case Reason::kTooShort:
      GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("%s", e.what()), (NULL));
      break;
  }
}

/* Posts the error of the exception being handled. Call only inside a catch block. */
static void post_current_exception(GstChatterboxTts* self, const char* what) {
  try {
    throw;
  } catch (const chatterbox::VoiceFileError& e) {
    post_voice_error(self, e);
  } catch (const chatterbox::Error& e) {
    post_engine_error(self, e, what);
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("%s: %s", what, e.what()), (NULL));
  } catch (...) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("%s: unknown exception", what), (NULL));
  }
}

/* ------------------------------------------------------------------------------------------
 * Voices
 */

/* Loads (or takes from the cache) the voice in `path`; null for the built-in voice.
 * Throws VoiceFileError or chatterbox::Error. Called from the task or in NULL->READY. */
static std::shared_ptr<const chatterbox::Voice> load_voice(GstChatterboxTts* self,
                                                           const std::string& path) {
  GstChatterboxTtsPrivate* priv = self->priv;
  if (path.empty()) return nullptr;
  std::string key = voice_cache_key(path);
  auto it = priv->voice_cache.find(key);
  if (it != priv->voice_cache.end()) return it->second;

  std::shared_ptr<const chatterbox::Voice> voice;
  if (chatterbox::is_conditioning_file(path)) {
    if (!g_file_test(path.c_str(), G_FILE_TEST_EXISTS))
      throw chatterbox::VoiceFileError(chatterbox::VoiceFileError::Reason::kNotFound,
                                       "voice file '" + path + "' does not exist");
    voice = priv->synth->voice_from_file(path);
  } else {
    chatterbox::VoiceDecodeOptions options;
    std::vector<float> samples = chatterbox::decode_voice_file(path, options);
    GST_INFO_OBJECT(self, "decoded voice %s: %zu samples", path.c_str(), samples.size());
    voice = priv->synth->voice_from_audio(samples, options.sample_rate);
  }
  priv->voice_cache[key] = voice;
  return voice;
}

/* ------------------------------------------------------------------------------------------
 * The queue between the sink pad and the source pad task
 */

/* Queues one piece of text, blocking while the queue is full. Called with the sink stream
 * lock. Returns the flow result the chain function should return. */
static GstFlowReturn queue_text(GstChatterboxTts* self, QueueItem&& item) {
  GstChatterboxTtsPrivate* priv = self->priv;
  guint max_queued;
  GST_OBJECT_LOCK(self);
  max_queued = priv->settings.max_queued_text;
  GST_OBJECT_UNLOCK(self);

  std::unique_lock<std::mutex> lock(priv->queue_lock);
  priv->queue_cond.wait(lock, [&] {
    return priv->flushing || priv->srcresult != GST_FLOW_OK || priv->queued_text < max_queued;
  });
  if (priv->flushing || priv->srcresult != GST_FLOW_OK)
    return priv->flushing ? GST_FLOW_FLUSHING : priv->srcresult;
  GST_LOG_OBJECT(self, "queueing text '%s' pts %" GST_TIME_FORMAT, item.text.c_str(),
                 GST_TIME_ARGS(item.pts));
  priv->queue.push_back(std::move(item));
  priv->queued_text++;
  priv->queue_cond.notify_all();
  return GST_FLOW_OK;
}

/* Queues a serialized event behind the text before it. Events never block. Takes ownership. */
static gboolean queue_event(GstChatterboxTts* self, GstEvent* event) {
  GstChatterboxTtsPrivate* priv = self->priv;
  std::lock_guard<std::mutex> lock(priv->queue_lock);
  if (priv->flushing) {
    GST_DEBUG_OBJECT(self, "flushing, dropping %" GST_PTR_FORMAT, event);
    gst_event_unref(event);
    return FALSE;
  }
  QueueItem item;
  item.event = event;
  priv->queue.push_back(std::move(item));
  priv->queue_cond.notify_all();
  return TRUE;
}

/* Drops everything queued. Sticky events (other than segment/EOS, which a flush resets) are
 * stored on the source pad so that they still precede later data, as queue does. */
static void clear_queue(GstChatterboxTts* self) {
  GstChatterboxTtsPrivate* priv = self->priv;
  std::deque<QueueItem> dropped;
  {
    std::lock_guard<std::mutex> lock(priv->queue_lock);
    dropped.swap(priv->queue);
    priv->queued_text = 0;
    priv->queue_cond.notify_all();
  }
  for (QueueItem& item : dropped) {
    if (!item.event) continue;
    if (GST_EVENT_IS_STICKY(item.event) && GST_EVENT_TYPE(item.event) != GST_EVENT_SEGMENT &&
        GST_EVENT_TYPE(item.event) != GST_EVENT_EOS)
      gst_pad_store_sticky_event(self->srcpad, item.event);
    gst_event_unref(item.event);
  }
}

/* Sets flushing and cancels the utterance in flight, so the task stops within one model
 * step, and wakes every waiter. */
static void set_flushing(GstChatterboxTts* self, GstFlowReturn result) {
  GstChatterboxTtsPrivate* priv = self->priv;
  std::shared_ptr<chatterbox::Utterance> current;
  {
    std::lock_guard<std::mutex> lock(priv->queue_lock);
    priv->flushing = true;
    priv->srcresult = result;
    current = priv->current;
    priv->queue_cond.notify_all();
  }
  if (current) current->cancel();
}

/* True when the source pad is active in push mode and not flushing, that is not being
 * deactivated: pre_activate() marks the pad before our activate function runs. */
static bool src_pad_running(GstChatterboxTts* self) {
  GST_OBJECT_LOCK(self->srcpad);
  bool running =
      GST_PAD_MODE(self->srcpad) == GST_PAD_MODE_PUSH && !GST_PAD_IS_FLUSHING(self->srcpad);
  GST_OBJECT_UNLOCK(self->srcpad);
  return running;
}

/* FLUSH_STOP: lets data flow again and restarts the task, but only while the source pad is
 * active. Deactivation takes task_lock after the pad is marked inactive and before stopping
 * the task, so either we start the task before (and deactivation stops it) or we see the
 * inactive pad and leave the element flushing. */
static void restart_task(GstChatterboxTts* self) {
  GstChatterboxTtsPrivate* priv = self->priv;
  std::lock_guard<std::mutex> task_lock(priv->task_lock);
  if (!src_pad_running(self)) {
    GST_DEBUG_OBJECT(self, "source pad inactive, not restarting the task");
    return;
  }
  {
    std::lock_guard<std::mutex> lock(priv->queue_lock);
    priv->flushing = false;
    priv->srcresult = GST_FLOW_OK;
    priv->current.reset();
  }
  gst_pad_start_task(self->srcpad, (GstTaskFunction)gst_chatterbox_tts_loop, self, NULL);
}

/* Stops the task and waits for its thread to leave the task function: flushing wakes it
 * (and cancels its utterance) first. */
static gboolean stop_task(GstChatterboxTts* self) {
  {
    std::lock_guard<std::mutex> task_lock(self->priv->task_lock);
    set_flushing(self, GST_FLOW_FLUSHING);
  }
  return gst_pad_stop_task(self->srcpad);
}

/* Resets the output state; the task must not be running. */
static void reset_output(GstChatterboxTts* self) {
  GstChatterboxTtsPrivate* priv = self->priv;
  priv->segment_pushed = false;
  priv->position = GST_CLOCK_TIME_NONE;
  priv->query_position = GST_CLOCK_TIME_NONE;
  priv->offset = 0;
  priv->discont = true;
  priv->converter.reset();
}

/* Resets the sink side; called with the sink stream lock or while stopped. */
static void reset_input(GstChatterboxTts* self) {
  GstChatterboxTtsPrivate* priv = self->priv;
  priv->decoder.reset();
  priv->pending.clear();
}

/* ------------------------------------------------------------------------------------------
 * Sink side: text in
 */

/* Splits `text` into utterances with the synthesizer's splitter and queues them; the first
 * one carries the timed group's PTS. Called with the sink stream lock. */
static GstFlowReturn queue_text_group(GstChatterboxTts* self, const std::string& text,
                                      GstClockTime pts, GstClockTime duration, gint64 arrival_us,
                                      bool split, GstBuffer* meta_source = nullptr) {
  if (chatterbox::is_blank(text)) {
    GST_DEBUG_OBJECT(self, "skipping blank text");
    return GST_FLOW_OK;
  }
  std::vector<std::string> pieces;
  if (split) pieces = self->priv->synth->split(text);
  if (pieces.empty()) pieces.push_back(text);
  GstClockTime group_end = GST_CLOCK_TIME_NONE;
  if (GST_CLOCK_TIME_IS_VALID(pts) && GST_CLOCK_TIME_IS_VALID(duration)) group_end = pts + duration;
  bool first = true;
  for (std::string& piece : pieces) {
    if (chatterbox::is_blank(piece)) continue;
    QueueItem item;
    item.text = std::move(piece);
    item.pts = first ? pts : GST_CLOCK_TIME_NONE;
    item.group_end = group_end;
    item.arrival_us = arrival_us;
    item.meta_source = share_buffer(meta_source);
    first = false;
    GstFlowReturn ret = queue_text(self, std::move(item));
    if (ret != GST_FLOW_OK) return ret;
  }
  return GST_FLOW_OK;
}

/* Speaks whatever untimed text is waiting, complete sentence or not (EOS, GAP, a timed
 * buffer, ...). `final` also flushes a partial UTF-8 sequence or markup tag. */
static GstFlowReturn drain_pending(GstChatterboxTts* self, bool final) {
  GstChatterboxTtsPrivate* priv = self->priv;
  if (final && priv->decoder.has_pending()) {
    chatterbox::TextDecoder::Result res = priv->decoder.push("", 0, priv->markup, true);
    if (res.invalid_bytes)
      GST_ELEMENT_WARNING(
          self, STREAM, DECODE, ("Invalid UTF-8 in text input"),
          ("%zu bytes of an incomplete sequence at the end of the text were skipped",
           res.invalid_bytes));
    priv->pending += res.text;
  }
  if (priv->pending.empty()) return GST_FLOW_OK;
  std::string text;
  text.swap(priv->pending);
  return queue_text_group(self, text, GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE,
                          priv->pending_arrival_us, true);
}

static GstFlowReturn check_flow(GstChatterboxTts* self) {
  std::lock_guard<std::mutex> lock(self->priv->queue_lock);
  if (self->priv->flushing) return GST_FLOW_FLUSHING;
  return self->priv->srcresult;
}

/* Decodes one buffer's bytes, warning about (and dropping) invalid UTF-8. */
static std::string decode_buffer(GstChatterboxTts* self, GstBuffer* buffer) {
  GstMapInfo map;
  if (!gst_buffer_map(buffer, &map, GST_MAP_READ)) {
    GST_ELEMENT_WARNING(self, STREAM, DECODE, ("Could not read a text buffer"), (NULL));
    return std::string();
  }
  chatterbox::TextDecoder::Result res = self->priv->decoder.push(
      reinterpret_cast<const char*>(map.data), map.size, self->priv->markup, false);
  gst_buffer_unmap(buffer, &map);
  if (res.invalid_bytes)
    GST_ELEMENT_WARNING(self, STREAM, DECODE, ("Invalid UTF-8 in text input"),
                        ("%zu invalid bytes in buffer %" GST_PTR_FORMAT " were skipped",
                         res.invalid_bytes, buffer));
  return res.text;
}

static GstFlowReturn chain_buffer(GstChatterboxTts* self, GstBuffer* buffer) {
  GstChatterboxTtsPrivate* priv = self->priv;
  GstFlowReturn ret = check_flow(self);
  if (ret != GST_FLOW_OK) return ret;
  gint64 now = g_get_monotonic_time();
  std::string text = decode_buffer(self, buffer);
  GstClockTime pts = GST_BUFFER_PTS(buffer);
  bool timed = priv->in_time && GST_CLOCK_TIME_IS_VALID(pts);

  if (timed) {
    /* A timed buffer is a self-contained group; untimed text before it goes first. */
    ret = drain_pending(self, false);
    if (ret != GST_FLOW_OK) return ret;
    return queue_text_group(self, text, pts, GST_BUFFER_DURATION(buffer), now, true, buffer);
  }

  if (priv->pending.empty()) priv->pending_arrival_us = now;
  priv->pending += text;
  size_t end = chatterbox::complete_sentences_end(priv->pending, kMaxPendingBytes);
  if (end == 0) return GST_FLOW_OK;
  std::string complete = priv->pending.substr(0, end);
  priv->pending.erase(0, end);
  gint64 arrival = priv->pending_arrival_us;
  priv->pending_arrival_us = now;
  return queue_text_group(self, complete, GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE, arrival, true);
}

static GstFlowReturn gst_chatterbox_tts_chain(GstPad*, GstObject* parent, GstBuffer* buffer) {
  GstChatterboxTts* self = GST_CHATTERBOX_TTS(parent);
  GstFlowReturn ret;
  try {
    ret = chain_buffer(self, buffer);
  } catch (...) {
    post_current_exception(self, "Failed to process text");
    ret = GST_FLOW_ERROR;
  }
  gst_buffer_unref(buffer);
  return ret;
}

/* A buffer list (e.g. a sentence from textaccumulate) is one utterance spanning the first
 * PTS to the last end; the default handler would make one utterance per buffer. */
static GstFlowReturn chain_list(GstChatterboxTts* self, GstBufferList* list) {
  GstChatterboxTtsPrivate* priv = self->priv;
  GstFlowReturn ret = check_flow(self);
  if (ret != GST_FLOW_OK) return ret;
  gint64 now = g_get_monotonic_time();
  std::string text;
  GstClockTime first = GST_CLOCK_TIME_NONE, last_end = GST_CLOCK_TIME_NONE;
  guint n = gst_buffer_list_length(list);
  for (guint i = 0; i < n; ++i) {
    GstBuffer* buf = gst_buffer_list_get(list, i);
    std::string piece = decode_buffer(self, buf);
    if (!text.empty() && !piece.empty() && !g_ascii_isspace(text.back()) &&
        !g_ascii_isspace(piece.front()))
      text += ' '; /* list items are words: join them as words */
    text += piece;
    GstClockTime pts = GST_BUFFER_PTS(buf);
    if (GST_CLOCK_TIME_IS_VALID(pts)) {
      if (!GST_CLOCK_TIME_IS_VALID(first)) first = pts;
      GstClockTime end = pts;
      if (GST_BUFFER_DURATION_IS_VALID(buf)) end += GST_BUFFER_DURATION(buf);
      if (!GST_CLOCK_TIME_IS_VALID(last_end) || end > last_end) last_end = end;
    }
  }
  ret = drain_pending(self, false);
  if (ret != GST_FLOW_OK) return ret;
  GstClockTime duration = GST_CLOCK_TIME_NONE;
  if (!priv->in_time)
    first = GST_CLOCK_TIME_NONE;
  else if (GST_CLOCK_TIME_IS_VALID(first) && last_end > first)
    duration = last_end - first;
  return queue_text_group(self, text, first, duration, now, false,
                          n > 0 ? gst_buffer_list_get(list, 0) : nullptr);
}

static GstFlowReturn gst_chatterbox_tts_chain_list(GstPad*, GstObject* parent,
                                                   GstBufferList* list) {
  GstChatterboxTts* self = GST_CHATTERBOX_TTS(parent);
  GstFlowReturn ret;
  try {
    ret = chain_list(self, list);
  } catch (...) {
    post_current_exception(self, "Failed to process text");
    ret = GST_FLOW_ERROR;
  }
  gst_buffer_list_unref(list);
  return ret;
}

static gboolean sink_event(GstChatterboxTts* self, GstEvent* event) {
  GstChatterboxTtsPrivate* priv = self->priv;
  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_FLUSH_START: {
      /* Barge-in: stop the utterance within one model step, wake the chain function, let
       * downstream unblock our push, then wait for the task to leave its loop. */
      set_flushing(self, GST_FLOW_FLUSHING);
      gboolean res = gst_pad_push_event(self->srcpad, event);
      gst_pad_pause_task(self->srcpad);
      GST_DEBUG_OBJECT(self, "flush started, task paused");
      return res;
    }
    case GST_EVENT_FLUSH_STOP: {
      /* The stream lock is held: the chain function has returned and the task is paused. */
      clear_queue(self);
      reset_input(self);
      reset_output(self);
      gboolean res = gst_pad_push_event(self->srcpad, event);
      restart_task(self);
      return res;
    }
    case GST_EVENT_CAPS: {
      /* We have our own source caps; just note whether the text carries markup. */
      GstCaps* caps;
      gst_event_parse_caps(event, &caps);
      const gchar* format = gst_structure_get_string(gst_caps_get_structure(caps, 0), "format");
      priv->markup = g_strcmp0(format, "pango-markup") == 0;
      gst_event_unref(event);
      return TRUE;
    }
    case GST_EVENT_SEGMENT: {
      const GstSegment* segment;
      gst_event_parse_segment(event, &segment);
      drain_pending(self, false);
      priv->in_time = segment->format == GST_FORMAT_TIME;
      return queue_event(self, event);
    }
    case GST_EVENT_STREAM_START: {
      drain_pending(self, true);
      {
        /* A new stream after EOS may flow again. */
        std::lock_guard<std::mutex> lock(priv->queue_lock);
        if (priv->srcresult == GST_FLOW_EOS && !priv->flushing) priv->srcresult = GST_FLOW_OK;
      }
      return queue_event(self, event);
    }
    case GST_EVENT_EOS:
    case GST_EVENT_SEGMENT_DONE:
      drain_pending(self, true);
      return queue_event(self, event);
    case GST_EVENT_GAP:
      drain_pending(self, false);
      return queue_event(self, event);
    case GST_EVENT_CUSTOM_DOWNSTREAM:
      if (gst_event_has_name(event, kVoiceEventName))
        drain_pending(self, false); /* text so far keeps the previous voice */
      return queue_event(self, event);
    default:
      if (GST_EVENT_IS_SERIALIZED(event)) return queue_event(self, event);
      return gst_pad_push_event(self->srcpad, event);
  }
}

static gboolean gst_chatterbox_tts_sink_event(GstPad*, GstObject* parent, GstEvent* event) {
  GstChatterboxTts* self = GST_CHATTERBOX_TTS(parent);
  GST_LOG_OBJECT(self, "sink event %" GST_PTR_FORMAT, event);
  try {
    return sink_event(self, event);
  } catch (...) {
    post_current_exception(self, "Failed to handle event");
    return FALSE;
  }
}

/* ------------------------------------------------------------------------------------------
 * Source side: the streaming task
 */

/* Stream-start, caps and segment must precede the first audio. Negotiates the output format
 * (preferring the model's 24 kHz F32) and renegotiates between utterances on RECONFIGURE. */
static GstFlowReturn ensure_output(GstChatterboxTts* self) {
  GstChatterboxTtsPrivate* priv = self->priv;
  GstEvent* sticky = gst_pad_get_sticky_event(self->srcpad, GST_EVENT_STREAM_START, 0);
  if (sticky) {
    gst_event_unref(sticky);
  } else {
    gchar* stream_id = gst_pad_create_stream_id(self->srcpad, GST_ELEMENT(self), NULL);
    GstEvent* ev = gst_event_new_stream_start(stream_id);
    gst_event_set_group_id(ev, gst_util_group_id_next());
    g_free(stream_id);
    gst_pad_push_event(self->srcpad, ev);
  }

  if (!priv->negotiated || gst_pad_check_reconfigure(self->srcpad)) {
    GstCaps* templ = gst_pad_get_pad_template_caps(self->srcpad);
    GstCaps* caps = gst_pad_peer_query_caps(self->srcpad, templ);
    gst_caps_unref(templ);
    if (gst_caps_is_empty(caps)) {
      gst_caps_unref(caps);
      GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, (NULL),
                        ("downstream accepts none of %s", SRC_CAPS));
      return FLOW_ERROR_POSTED;
    }
    caps = gst_caps_truncate(caps);
    caps = gst_caps_make_writable(caps);
    GstStructure* s = gst_caps_get_structure(caps, 0);
    gst_structure_fixate_field_string(s, "format", "F32LE");
    gst_structure_fixate_field_nearest_int(s, "rate", chatterbox::kSampleRate);
    gst_structure_fixate_field_nearest_int(s, "channels", 1);
    caps = gst_caps_fixate(caps);
    GstAudioInfo info;
    if (!gst_audio_info_from_caps(&info, caps)) {
      GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, (NULL), ("invalid caps %" GST_PTR_FORMAT, caps));
      gst_caps_unref(caps);
      return FLOW_ERROR_POSTED;
    }
    if (!priv->negotiated || !gst_audio_info_is_equal(&info, &priv->out_info)) {
      GST_INFO_OBJECT(self, "output caps %" GST_PTR_FORMAT, caps);
      if (!gst_pad_set_caps(self->srcpad, caps)) {
        gst_caps_unref(caps);
        GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, (NULL), ("downstream refused caps"));
        return FLOW_ERROR_POSTED;
      }
      if (!priv->converter.configure(info)) {
        gst_caps_unref(caps);
        GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, (NULL),
                          ("no audio converter to %" GST_PTR_FORMAT, caps));
        return FLOW_ERROR_POSTED;
      }
      priv->out_info = info;
      priv->negotiated = true;
      priv->converter_latency = priv->converter.latency();
    }
    gst_caps_unref(caps);
  }

  if (!priv->segment_pushed) {
    if (!priv->have_segment) gst_segment_init(&priv->segment, GST_FORMAT_TIME);
    gst_pad_push_event(self->srcpad, gst_event_new_segment(&priv->segment));
    priv->segment_pushed = true;
  }
  if (!GST_CLOCK_TIME_IS_VALID(priv->position)) priv->position = priv->segment.start;
  return GST_FLOW_OK;
}

static void update_position(GstChatterboxTts* self, GstClockTime position) {
  self->priv->position = position;
  self->priv->segment.position = position;
  self->priv->query_position = position;
}

/* Handles an event that waited in the queue behind the text before it. */
static GstFlowReturn task_event(GstChatterboxTts* self, GstEvent* event) {
  GstChatterboxTtsPrivate* priv = self->priv;
  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_SEGMENT: {
      const GstSegment* in;
      gst_event_parse_segment(event, &in);
      if (in->format == GST_FORMAT_TIME) {
        gst_segment_copy_into(in, &priv->segment);
      } else {
        /* Untimed input (filesrc, fdsrc): our audio gets its own timeline from 0. */
        GST_DEBUG_OBJECT(self, "%s segment in, TIME segment out", gst_format_get_name(in->format));
        guint32 seqnum = gst_event_get_seqnum(event);
        gst_event_unref(event);
        gst_segment_init(&priv->segment, GST_FORMAT_TIME);
        event = gst_event_new_segment(&priv->segment);
        gst_event_set_seqnum(event, seqnum);
      }
      priv->have_segment = true;
      priv->segment_pushed = true;
      update_position(self, priv->segment.start);
      priv->discont = true;
      /* Caps must precede the segment. */
      GstFlowReturn ret = GST_FLOW_OK;
      if (!priv->negotiated) {
        priv->segment_pushed = true; /* ensure_output must not push a default one */
        ret = ensure_output(self);
      }
      if (ret != GST_FLOW_OK) {
        gst_event_unref(event);
        return ret;
      }
      gst_pad_push_event(self->srcpad, event);
      return GST_FLOW_OK;
    }
    case GST_EVENT_GAP: {
      GstFlowReturn ret = ensure_output(self);
      if (ret != GST_FLOW_OK) {
        gst_event_unref(event);
        return ret;
      }
      GstClockTime ts, duration;
      gst_event_parse_gap(event, &ts, &duration);
      if (GST_CLOCK_TIME_IS_VALID(ts) && GST_CLOCK_TIME_IS_VALID(priv->position)) {
        GstClockTime end = GST_CLOCK_TIME_IS_VALID(duration) ? ts + duration : ts;
        if (GST_CLOCK_TIME_IS_VALID(duration) && end <= priv->position) {
          GST_DEBUG_OBJECT(self, "dropping gap already covered by audio");
          gst_event_unref(event);
          return GST_FLOW_OK;
        }
        if (ts < priv->position) {
          /* Only the part after our audio is a gap. */
          guint32 seqnum = gst_event_get_seqnum(event);
          gst_event_unref(event);
          event = gst_event_new_gap(priv->position, end - priv->position);
          gst_event_set_seqnum(event, seqnum);
          ts = priv->position;
        }
        update_position(self, std::max(priv->position, end));
      }
      gst_pad_push_event(self->srcpad, event);
      return GST_FLOW_OK;
    }
    case GST_EVENT_CUSTOM_DOWNSTREAM:
      if (gst_event_has_name(event, kVoiceEventName)) {
        const gchar* voice = gst_structure_get_string(gst_event_get_structure(event), "voice");
        GST_INFO_OBJECT(self, "voice event: %s", GST_STR_NULL(voice));
        GST_OBJECT_LOCK(self);
        priv->settings.voice = voice ? voice : "";
        GST_OBJECT_UNLOCK(self);
        g_object_notify(G_OBJECT(self), "voice");
        gst_event_unref(event);
        return GST_FLOW_OK;
      }
      gst_pad_push_event(self->srcpad, event);
      return GST_FLOW_OK;
    case GST_EVENT_EOS:
      GST_DEBUG_OBJECT(self, "all text spoken, forwarding EOS");
      gst_pad_push_event(self->srcpad, event);
      return GST_FLOW_OK;
    default:
      gst_pad_push_event(self->srcpad, event);
      return GST_FLOW_OK;
  }
}

/* What one utterance needs from the properties, read once under the object lock when it
 * starts: property changes apply from the next utterance. */
struct UtteranceSettings {
  chatterbox::SynthesisParams params;
  std::string voice;
  GstChatterboxTtsOverflow overflow;
  bool post_messages;
};

static UtteranceSettings snapshot_settings(GstChatterboxTts* self) {
  UtteranceSettings u;
  GST_OBJECT_LOCK(self);
  const Settings& s = self->priv->settings;
  u.params.exaggeration = (float)s.exaggeration;
  u.params.cfg_weight = (float)s.cfg_weight;
  u.params.temperature = (float)s.temperature;
  u.params.top_p = (float)s.top_p;
  u.params.min_p = (float)s.min_p;
  u.params.repetition_penalty = (float)s.repetition_penalty;
  u.params.seed = s.seed;
  u.params.max_tokens = (int)s.max_tokens;
  u.params.cfm_steps = (int)s.cfm_steps;
  u.params.first_chunk_tokens = (int)s.first_chunk_size;
  u.params.chunk_tokens = (int)s.chunk_size;
  u.params.max_chunk_tokens = (int)std::max(s.max_chunk_size, s.chunk_size);
  switch (s.stitch_mode) {
    case GST_CHATTERBOX_TTS_STITCH_NONE:
      u.params.stitch_mode = chatterbox::StitchMode::kNone;
      break;
    case GST_CHATTERBOX_TTS_STITCH_OVERLAP_ADD:
      u.params.stitch_mode = chatterbox::StitchMode::kOverlapAdd;
      break;
    default:
      u.params.stitch_mode = chatterbox::StitchMode::kContext;
      break;
  }
  u.params.overlap_tokens = (int)s.overlap;
  u.params.queue_depth = (int)s.queue_depth;
  u.voice = s.voice;
  u.overflow = s.overflow;
  u.post_messages = s.post_messages;
  GST_OBJECT_UNLOCK(self);
  return u;
}

/* Updates the first-audio estimate used by the live latency; posts a latency message when it
 * grows, so that sinks re-configure. */
static void note_first_audio(GstChatterboxTts* self, GstClockTime ttfa) {
  bool grew = false;
  GST_OBJECT_LOCK(self);
  /* Only growth by more than 10% is worth a pipeline latency reconfiguration. */
  if (ttfa > self->priv->first_chunk_estimate + self->priv->first_chunk_estimate / 10) {
    self->priv->first_chunk_estimate = ttfa;
    grew = true;
  }
  GST_OBJECT_UNLOCK(self);
  if (grew) gst_element_post_message(GST_ELEMENT(self), gst_message_new_latency(GST_OBJECT(self)));
}

/* Asks upstream whether it is live, when no latency query has told us yet. */
static void ensure_upstream_latency(GstChatterboxTts* self) {
  GstChatterboxTtsPrivate* priv = self->priv;
  if (priv->upstream_known || !gst_pad_is_linked(self->sinkpad)) return;
  GstQuery* query = gst_query_new_latency();
  if (gst_pad_peer_query(self->sinkpad, query)) {
    gboolean live;
    GstClockTime min, max;
    gst_query_parse_latency(query, &live, &min, &max);
    priv->upstream_live = live;
    priv->upstream_min = min;
    priv->upstream_known = true;
  }
  gst_query_unref(query);
}

/* Live deadline: audio at running time rt is due at the sink at rt + upstream latency + our
 * latency. Returns how many leading frames of a chunk starting at `pts` are already past
 * that point (0 when upstream is not live or there is no running clock), and by how much. */
static guint64 late_frames(GstChatterboxTts* self, GstClockTime pts, guint64 frames, int rate,
                           GstClockTime* late_by) {
  GstChatterboxTtsPrivate* priv = self->priv;
  if (!priv->upstream_live) return 0;
  GST_OBJECT_LOCK(self);
  bool playing = GST_STATE(self) == GST_STATE_PLAYING;
  GstClock* clock =
      GST_ELEMENT_CLOCK(self) ? (GstClock*)gst_object_ref(GST_ELEMENT_CLOCK(self)) : NULL;
  GstClockTime base = GST_ELEMENT_CAST(self)->base_time;
  GstClockTime latency = priv->settings.latency_ms * GST_MSECOND;
  GST_OBJECT_UNLOCK(self);
  if (!clock) return 0;
  GstClockTime now = gst_clock_get_time(clock);
  gst_object_unref(clock);
  if (!playing || now < base) return 0;
  GstClockTime rt = gst_segment_to_running_time(&priv->segment, GST_FORMAT_TIME, pts);
  if (!GST_CLOCK_TIME_IS_VALID(rt)) return 0;
  GstClockTime deadline = rt + priv->upstream_min + latency;
  if (now - base <= deadline) return 0;
  *late_by = now - base - deadline;
  return std::min<guint64>(frames, gst_util_uint64_scale_int_ceil(*late_by, rate, GST_SECOND));
}

/* Speaks one queued piece of text: pushes its audio chunk by chunk as the engine produces it. */
static GstFlowReturn task_text(GstChatterboxTts* self, QueueItem& item) {
  GstChatterboxTtsPrivate* priv = self->priv;
  UtteranceSettings u = snapshot_settings(self);

  if (u.voice != priv->voice_path || (!u.voice.empty() && !priv->voice)) {
    try {
      priv->voice = load_voice(self, u.voice);
    } catch (...) {
      std::string what = "Failed to load voice '" + u.voice + "'";
      post_current_exception(self, what.c_str());
      return FLOW_ERROR_POSTED;
    }
    priv->voice_path = u.voice;
  }
  u.params.voice = priv->voice;

  GstFlowReturn ret = ensure_output(self);
  if (ret != GST_FLOW_OK) return ret;
  ensure_upstream_latency(self);

  /* Where the utterance starts (see docs/element.md, "Timestamps"). */
  GstClockTime start = priv->position;
  GstClockTime clip_end = GST_CLOCK_TIME_NONE;
  if (GST_CLOCK_TIME_IS_VALID(item.pts)) {
    start = item.pts;
    if (start < priv->position && u.overflow == GST_CHATTERBOX_TTS_OVERFLOW_SHIFT)
      start = priv->position;
  }
  if (u.overflow == GST_CHATTERBOX_TTS_OVERFLOW_CLIP) clip_end = item.group_end;
  if (start > priv->position) {
    /* A hole before timed text: tell downstream (mixers, muxers) there is nothing there. */
    gst_pad_push_event(self->srcpad, gst_event_new_gap(priv->position, start - priv->position));
  } else if (start < priv->position) {
    priv->discont = true;
  }
  update_position(self, std::max(priv->position, start));

  if (GST_CLOCK_TIME_IS_VALID(clip_end) && clip_end <= start) {
    GST_ELEMENT_WARNING(self, STREAM, FAILED, ("Text with no duration was not spoken"),
                        ("overflow=clip leaves no time for '%s' at %" GST_TIME_FORMAT,
                         item.text.c_str(), GST_TIME_ARGS(start)));
    return GST_FLOW_OK;
  }

  GST_DEBUG_OBJECT(self, "speaking '%s' at %" GST_TIME_FORMAT, item.text.c_str(),
                   GST_TIME_ARGS(start));
  const gint64 started_us = g_get_monotonic_time();
  std::shared_ptr<chatterbox::Utterance> utt(priv->synth->start(item.text, u.params));
  {
    std::lock_guard<std::mutex> lock(priv->queue_lock);
    if (priv->flushing) {
      utt->cancel();
      return GST_FLOW_FLUSHING;
    }
    priv->current = utt;
  }
  struct ClearCurrent {
    GstChatterboxTtsPrivate* priv;
    ~ClearCurrent() {
      std::lock_guard<std::mutex> lock(priv->queue_lock);
      priv->current.reset();
    }
  } clear_current{priv};

  const int rate = priv->converter.rate();
  const int bpf = priv->converter.bpf();
  guint64 clip_frames = G_MAXUINT64;
  if (GST_CLOCK_TIME_IS_VALID(clip_end))
    clip_frames = gst_util_uint64_scale_int(clip_end - start, rate, GST_SECOND);
  guint64 frames_out = 0; /* output frames of this utterance pushed so far */
  GstClockTime first_audio = GST_CLOCK_TIME_NONE;  /* text arrival -> first buffer */
  GstClockTime engine_first = GST_CLOCK_TIME_NONE; /* start() -> first buffer */
  bool clipped = false;
  bool done = false;
  chatterbox::AudioChunk chunk;
  std::vector<guint8> bytes;

  while (!done) {
    bytes.clear();
    bool last = true;
    try {
      if (utt->next(chunk)) {
        last = chunk.last;
        priv->converter.process(chunk.samples.data(), chunk.samples.size(), bytes);
      }
    } catch (const chatterbox::Error& e) {
      if (e.kind() != chatterbox::ErrorKind::kCancelled) throw;
      last = true;
    }
    if (check_flow(self) == GST_FLOW_FLUSHING) {
      priv->converter.reset();
      return GST_FLOW_FLUSHING;
    }
    if (last) {
      priv->converter.drain(bytes);
      done = true;
    }
    guint64 frames = bytes.size() / bpf;
    if (frames_out + frames > clip_frames) {
      frames = clip_frames - frames_out;
      clipped = true;
    }
    /* Live and already late: cut the late head (or the whole chunk) and tell the app. */
    GstClockTime late_by = 0;
    guint64 skip =
        frames > 0
            ? late_frames(self, start + gst_util_uint64_scale_int(frames_out, GST_SECOND, rate),
                          frames, rate, &late_by)
            : 0;
    if (skip > 0) {
      GstClockTime late_pts = start + gst_util_uint64_scale_int(frames_out, GST_SECOND, rate);
      GST_WARNING_OBJECT(self,
                         "audio at %" GST_TIME_FORMAT " is late by %" GST_TIME_FORMAT
                         ", dropping %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
                         " samples; consider "
                         "increasing the latency property",
                         GST_TIME_ARGS(late_pts), GST_TIME_ARGS(late_by), skip, frames);
      priv->dropped += skip;
      GstMessage* qos = gst_message_new_qos(
          GST_OBJECT(self), TRUE,
          gst_segment_to_running_time(&priv->segment, GST_FORMAT_TIME, late_pts),
          gst_segment_to_stream_time(&priv->segment, GST_FORMAT_TIME, late_pts), late_pts,
          gst_util_uint64_scale_int(skip, GST_SECOND, rate));
      gst_message_set_qos_values(qos, (gint64)late_by, 1.0, 1000000);
      gst_message_set_qos_stats(qos, GST_FORMAT_DEFAULT, priv->offset, priv->dropped);
      gst_element_post_message(GST_ELEMENT(self), qos);
      priv->discont = true;
      frames_out += skip;
      frames -= skip;
      update_position(self, std::max(priv->position, start + gst_util_uint64_scale_int(
                                                                 frames_out, GST_SECOND, rate)));
    }
    if (frames > 0) {
      GstBuffer* buf = gst_buffer_new_allocate(NULL, frames * bpf, NULL);
      gst_buffer_fill(buf, 0, bytes.data() + skip * bpf, frames * bpf);
      GstClockTime pts = start + gst_util_uint64_scale_int(frames_out, GST_SECOND, rate);
      GstClockTime end = start + gst_util_uint64_scale_int(frames_out + frames, GST_SECOND, rate);
      GST_BUFFER_PTS(buf) = pts;
      GST_BUFFER_DURATION(buf) = end - pts;
      if (item.meta_source) copy_untagged_metas(item.meta_source.get(), buf);
      GST_BUFFER_OFFSET(buf) = priv->offset;
      GST_BUFFER_OFFSET_END(buf) = priv->offset + frames;
      if (priv->discont) {
        GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DISCONT);
        priv->discont = false;
      }
      priv->offset += frames;
      frames_out += frames;
      update_position(self, std::max(priv->position, end));
      if (!GST_CLOCK_TIME_IS_VALID(first_audio)) {
        gint64 now = g_get_monotonic_time();
        first_audio = (now - item.arrival_us) * GST_USECOND;
        engine_first = (now - started_us) * GST_USECOND;
      }
      ret = gst_pad_push(self->srcpad, buf);
      if (ret != GST_FLOW_OK) {
        utt->cancel();
        priv->converter.reset();
        return ret;
      }
    }
    if (clipped) {
      /* Clip mode: nothing after the text's end is heard, so stop generating now. */
      GST_DEBUG_OBJECT(self, "clipped at %" GST_TIME_FORMAT, GST_TIME_ARGS(clip_end));
      utt->cancel();
      priv->converter.reset();
      done = true;
    }
  }

  /* The latency estimate leaves out time spent queued behind earlier text: that is backlog,
   * not processing latency. */
  if (GST_CLOCK_TIME_IS_VALID(engine_first)) note_first_audio(self, engine_first);
  if (u.post_messages) {
    chatterbox::UtteranceStats stats = utt->stats();
    GstClockTime duration = gst_util_uint64_scale_int(frames_out, GST_SECOND, rate);
    GstClockTime input_duration = GST_CLOCK_TIME_NONE;
    if (GST_CLOCK_TIME_IS_VALID(item.pts) && GST_CLOCK_TIME_IS_VALID(item.group_end))
      input_duration = item.group_end - item.pts;
    GstStructure* s = gst_structure_new(
        kMessageName, "content", G_TYPE_STRING, item.text.c_str(), "pts", G_TYPE_UINT64,
        (guint64)start, "input-duration", G_TYPE_UINT64, (guint64)input_duration, "actual-duration",
        G_TYPE_UINT64, (guint64)duration, "samples", G_TYPE_UINT64, frames_out, "text-tokens",
        G_TYPE_INT, stats.text_tokens, "speech-tokens", G_TYPE_INT, stats.speech_tokens,
        "first-chunk-latency", G_TYPE_UINT64, (guint64)first_audio, "rtf", G_TYPE_DOUBLE,
        stats.real_time_factor(), "voice", G_TYPE_STRING, u.voice.c_str(), NULL);
    gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
  }
  return GST_FLOW_OK;
}

static void gst_chatterbox_tts_loop(GstChatterboxTts* self) {
  GstChatterboxTtsPrivate* priv = self->priv;
  QueueItem item;
  {
    std::unique_lock<std::mutex> lock(priv->queue_lock);
    priv->queue_cond.wait(lock, [&] { return priv->flushing || !priv->queue.empty(); });
    if (priv->flushing) {
      lock.unlock();
      GST_DEBUG_OBJECT(self, "flushing, pausing task");
      gst_pad_pause_task(self->srcpad);
      return;
    }
    item = std::move(priv->queue.front());
    priv->queue.pop_front();
    if (!item.event) priv->queued_text--;
    priv->queue_cond.notify_all();
  }

  GstFlowReturn ret;
  try {
    if (item.event) {
      GstEvent* event = item.event;
      item.event = nullptr;
      ret = task_event(self, event);
    } else {
      ret = task_text(self, item);
    }
  } catch (...) {
    post_current_exception(self, "Speech synthesis failed");
    ret = FLOW_ERROR_POSTED;
  }
  if (ret == GST_FLOW_OK) return;

  bool posted = ret == FLOW_ERROR_POSTED;
  if (posted) ret = GST_FLOW_ERROR;
  {
    std::lock_guard<std::mutex> lock(priv->queue_lock);
    if (priv->flushing) {
      ret = GST_FLOW_FLUSHING;
    } else {
      priv->srcresult = ret;
    }
    priv->queue_cond.notify_all(); /* the chain function returns our result */
  }
  GST_DEBUG_OBJECT(self, "pausing task: %s", gst_flow_get_name(ret));
  gst_pad_pause_task(self->srcpad);
  if (ret == GST_FLOW_EOS) {
    gst_pad_push_event(self->srcpad, gst_event_new_eos());
  } else if (ret == GST_FLOW_NOT_LINKED || ret < GST_FLOW_EOS) {
    if (!posted) GST_ELEMENT_FLOW_ERROR(self, ret);
    gst_pad_push_event(self->srcpad, gst_event_new_eos());
  }
}

/* Queues the `text` property (source mode: nothing links the sink pad). */
static void queue_source_mode(GstChatterboxTts* self) {
  std::string text;
  GST_OBJECT_LOCK(self);
  text = self->priv->settings.text;
  GST_OBJECT_UNLOCK(self);
  GST_INFO_OBJECT(self, "source mode, speaking the text property");
  gchar* stream_id = gst_pad_create_stream_id(self->srcpad, GST_ELEMENT(self), NULL);
  GstEvent* start = gst_event_new_stream_start(stream_id);
  gst_event_set_group_id(start, gst_util_group_id_next());
  g_free(stream_id);
  queue_event(self, start);
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  queue_event(self, gst_event_new_segment(&segment));
  std::vector<std::string> pieces = self->priv->synth->split(text);
  if (pieces.empty() && !chatterbox::is_blank(text)) pieces.push_back(text);
  gint64 now = g_get_monotonic_time();
  std::lock_guard<std::mutex> lock(self->priv->queue_lock);
  /* Not queue_text(): the text property is not bounded by max-queued-text. */
  for (std::string& piece : pieces) {
    if (chatterbox::is_blank(piece)) continue;
    QueueItem item;
    item.text = std::move(piece);
    item.arrival_us = now;
    self->priv->queue.push_back(std::move(item));
    self->priv->queued_text++;
  }
  QueueItem eos;
  eos.event = gst_event_new_eos();
  self->priv->queue.push_back(std::move(eos));
  self->priv->queue_cond.notify_all();
}

static gboolean gst_chatterbox_tts_src_activate_mode(GstPad* pad, GstObject* parent,
                                                     GstPadMode mode, gboolean active) {
  GstChatterboxTts* self = GST_CHATTERBOX_TTS(parent);
  GstChatterboxTtsPrivate* priv = self->priv;
  if (mode != GST_PAD_MODE_PUSH) return FALSE;
  try {
    if (active) {
      clear_queue(self);
      reset_output(self);
      priv->have_segment = false;
      {
        std::lock_guard<std::mutex> lock(priv->queue_lock);
        priv->flushing = false;
        priv->srcresult = GST_FLOW_OK;
      }
      bool source_mode;
      GST_OBJECT_LOCK(self);
      source_mode = !priv->settings.text.empty();
      GST_OBJECT_UNLOCK(self);
      if (source_mode && !gst_pad_is_linked(self->sinkpad) && priv->synth) queue_source_mode(self);
      std::lock_guard<std::mutex> task_lock(priv->task_lock);
      return gst_pad_start_task(pad, (GstTaskFunction)gst_chatterbox_tts_loop, self, NULL);
    }
    gboolean res = stop_task(self);
    clear_queue(self);
    return res;
  } catch (...) {
    post_current_exception(self, "Failed to (de)activate");
    return FALSE;
  }
}

static gboolean src_query(GstChatterboxTts* self, GstPad* pad, GstQuery* query) {
  GstChatterboxTtsPrivate* priv = self->priv;
  switch (GST_QUERY_TYPE(query)) {
    case GST_QUERY_LATENCY: {
      /* Answerable in PAUSED before any data (transcriberbin probes it that way). */
      if (!gst_pad_is_linked(self->sinkpad)) {
        gst_query_set_latency(query, FALSE, 0, GST_CLOCK_TIME_NONE);
        return TRUE;
      }
      if (!gst_pad_peer_query(self->sinkpad, query)) return FALSE;
      gboolean live;
      GstClockTime min, max;
      gst_query_parse_latency(query, &live, &min, &max);
      priv->upstream_live = live;
      priv->upstream_min = min;
      priv->upstream_known = true;
      if (live) {
        GST_OBJECT_LOCK(self);
        GstClockTime own = priv->settings.latency_ms * GST_MSECOND + priv->first_chunk_estimate;
        GST_OBJECT_UNLOCK(self);
        own += priv->converter_latency;
        min += own;
        if (GST_CLOCK_TIME_IS_VALID(max)) max += own;
        GST_DEBUG_OBJECT(self, "live upstream, adding %" GST_TIME_FORMAT, GST_TIME_ARGS(own));
        gst_query_set_latency(query, live, min, max);
      }
      return TRUE;
    }
    case GST_QUERY_POSITION: {
      GstFormat format;
      gst_query_parse_position(query, &format, NULL);
      GstClockTime position = priv->query_position;
      if (format != GST_FORMAT_TIME || !GST_CLOCK_TIME_IS_VALID(position))
        return gst_pad_query_default(pad, GST_OBJECT(self), query);
      /* The segment belongs to the task; a torn read only skews one answer. */
      GstSegment segment = priv->segment;
      gst_query_set_position(query, GST_FORMAT_TIME,
                             gst_segment_to_stream_time(&segment, GST_FORMAT_TIME, position));
      return TRUE;
    }
    default:
      return gst_pad_query_default(pad, GST_OBJECT(self), query);
  }
}

static gboolean gst_chatterbox_tts_src_query(GstPad* pad, GstObject* parent, GstQuery* query) {
  GstChatterboxTts* self = GST_CHATTERBOX_TTS(parent);
  try {
    return src_query(self, pad, query);
  } catch (...) {
    post_current_exception(self, "Failed to answer a query");
    return FALSE;
  }
}

/* ------------------------------------------------------------------------------------------
 * Lifecycle
 */

/* NULL->READY: validate the settings, load (or share) the model, load the voice if set. */
static gboolean start_engine(GstChatterboxTts* self) {
  GstChatterboxTtsPrivate* priv = self->priv;
  chatterbox::EngineConfig config;
  std::string voice;
  GST_OBJECT_LOCK(self);
  config.model_dir = priv->settings.model_path;
  config.device = priv->settings.device;
  voice = priv->settings.voice;
  GST_OBJECT_UNLOCK(self);

  if (!valid_device(config.device)) {
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS,
                      ("Invalid device '%s': use auto, cpu, cuda or cuda:N", config.device.c_str()),
                      (NULL));
    return FALSE;
  }
  if (!config.model_dir.empty() && !g_file_test(config.model_dir.c_str(), G_FILE_TEST_IS_DIR)) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND,
                      ("Model directory '%s' does not exist", config.model_dir.c_str()),
                      ("model-path must name a directory with the Chatterbox model files"));
    return FALSE;
  }

  gst_element_post_message(GST_ELEMENT(self),
                           gst_message_new_progress(GST_OBJECT(self), GST_PROGRESS_TYPE_START,
                                                    "loading", "Loading the Chatterbox model"));
  try {
    priv->synth = make_synthesizer(config);
    if (!priv->synth) throw chatterbox::Error(chatterbox::ErrorKind::kInternal, "no synthesizer");
    GST_INFO_OBJECT(self, "model: %s", priv->synth->describe().c_str());
  } catch (...) {
    gst_element_post_message(
        GST_ELEMENT(self),
        gst_message_new_progress(GST_OBJECT(self), GST_PROGRESS_TYPE_ERROR, "loading",
                                 "Loading the Chatterbox model failed"));
    std::string what = "Failed to load the Chatterbox model";
    if (!config.model_dir.empty()) what += " from '" + config.model_dir + "'";
    post_current_exception(self, what.c_str());
    priv->synth.reset();
    return FALSE;
  }
  gst_element_post_message(GST_ELEMENT(self),
                           gst_message_new_progress(GST_OBJECT(self), GST_PROGRESS_TYPE_COMPLETE,
                                                    "loading", "Chatterbox model loaded"));

  /* A voice set already is checked now, so a bad file fails here rather than mid-stream. */
  try {
    priv->voice_path.clear();
    priv->voice = load_voice(self, voice);
    priv->voice_path = voice;
  } catch (...) {
    std::string what = "Failed to load voice '" + voice + "'";
    post_current_exception(self, what.c_str());
    priv->synth.reset();
    priv->voice.reset();
    priv->voice_cache.clear();
    return FALSE;
  }
  return TRUE;
}

static GstStateChangeReturn gst_chatterbox_tts_change_state(GstElement* element,
                                                            GstStateChange transition) {
  GstChatterboxTts* self = GST_CHATTERBOX_TTS(element);
  GstChatterboxTtsPrivate* priv = self->priv;

  switch (transition) {
    case GST_STATE_CHANGE_NULL_TO_READY: {
      gboolean started = FALSE;
      try {
        started = start_engine(self);
      } catch (...) {
        post_current_exception(self, "Failed to start");
      }
      if (!started) return GST_STATE_CHANGE_FAILURE;
      break;
    }
    case GST_STATE_CHANGE_READY_TO_PAUSED:
      priv->upstream_known = false;
      priv->upstream_live = false;
      priv->dropped = 0;
      reset_input(self);
      priv->markup = false;
      priv->in_time = true;
      priv->negotiated = false;
      break;
    default:
      break;
  }

  GstStateChangeReturn ret = GST_ELEMENT_CLASS(parent_class)->change_state(element, transition);
  if (ret == GST_STATE_CHANGE_FAILURE) return ret;

  switch (transition) {
    case GST_STATE_CHANGE_PAUSED_TO_READY:
      /* Both pads are inactive now, so nothing can start the task again: make sure it is
       * stopped whatever raced the deactivation. */
      stop_task(self);
      reset_input(self);
      priv->converter.clear();
      priv->negotiated = false;
      break;
    case GST_STATE_CHANGE_READY_TO_NULL:
      priv->synth.reset();
      priv->voice.reset();
      priv->voice_path.clear();
      priv->voice_cache.clear();
      break;
    default:
      break;
  }
  return ret;
}

/* ------------------------------------------------------------------------------------------
 * Properties (all under the object lock; the task snapshots them per utterance)
 */

static void set_string(std::string& dst, const GValue* value) {
  const gchar* s = g_value_get_string(value);
  dst = s ? s : "";
}

static void gst_chatterbox_tts_set_property(GObject* object, guint prop_id, const GValue* value,
                                            GParamSpec* pspec) {
  GstChatterboxTts* self = GST_CHATTERBOX_TTS(object);
  Settings& s = self->priv->settings;
  bool latency_changed = false;

  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_MODEL_PATH:
      set_string(s.model_path, value);
      break;
    case PROP_DEVICE: {
      const gchar* d = g_value_get_string(value);
      s.device = d ? d : DEFAULT_DEVICE;
      break;
    }
    case PROP_VOICE:
      set_string(s.voice, value);
      break;
    case PROP_EXAGGERATION:
      s.exaggeration = g_value_get_double(value);
      break;
    case PROP_CFG_WEIGHT:
      s.cfg_weight = g_value_get_double(value);
      break;
    case PROP_TEMPERATURE:
      s.temperature = g_value_get_double(value);
      break;
    case PROP_TOP_P:
      s.top_p = g_value_get_double(value);
      break;
    case PROP_MIN_P:
      s.min_p = g_value_get_double(value);
      break;
    case PROP_REPETITION_PENALTY:
      s.repetition_penalty = g_value_get_double(value);
      break;
    case PROP_SEED:
      s.seed = g_value_get_int64(value);
      break;
    case PROP_MAX_TOKENS:
      s.max_tokens = g_value_get_uint(value);
      break;
    case PROP_TEXT:
      set_string(s.text, value);
      break;
    case PROP_FIRST_CHUNK_SIZE:
      s.first_chunk_size = g_value_get_uint(value);
      break;
    case PROP_CHUNK_SIZE:
      s.chunk_size = g_value_get_uint(value);
      break;
    case PROP_MAX_CHUNK_SIZE:
      s.max_chunk_size = g_value_get_uint(value);
      break;
    case PROP_STITCH_MODE:
      s.stitch_mode = (GstChatterboxTtsStitchMode)g_value_get_enum(value);
      break;
    case PROP_OVERLAP:
      s.overlap = g_value_get_uint(value);
      break;
    case PROP_CFM_STEPS:
      s.cfm_steps = g_value_get_uint(value);
      break;
    case PROP_QUEUE_DEPTH:
      s.queue_depth = g_value_get_uint(value);
      break;
    case PROP_OVERFLOW:
      s.overflow = (GstChatterboxTtsOverflow)g_value_get_enum(value);
      break;
    case PROP_LATENCY: {
      guint latency = g_value_get_uint(value);
      latency_changed = latency != s.latency_ms;
      s.latency_ms = latency;
      break;
    }
    case PROP_POST_MESSAGES:
      s.post_messages = g_value_get_boolean(value);
      break;
    case PROP_MAX_QUEUED_TEXT:
      s.max_queued_text = g_value_get_uint(value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);

  if (prop_id == PROP_MAX_QUEUED_TEXT) {
    /* A larger queue may let a blocked chain function continue. */
    std::lock_guard<std::mutex> lock(self->priv->queue_lock);
    self->priv->queue_cond.notify_all();
  }
  if (latency_changed)
    gst_element_post_message(GST_ELEMENT(self), gst_message_new_latency(GST_OBJECT(self)));
}

static void gst_chatterbox_tts_get_property(GObject* object, guint prop_id, GValue* value,
                                            GParamSpec* pspec) {
  GstChatterboxTts* self = GST_CHATTERBOX_TTS(object);
  const Settings& s = self->priv->settings;

  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_MODEL_PATH:
      g_value_set_string(value, s.model_path.empty() ? NULL : s.model_path.c_str());
      break;
    case PROP_DEVICE:
      g_value_set_string(value, s.device.c_str());
      break;
    case PROP_VOICE:
      g_value_set_string(value, s.voice.empty() ? NULL : s.voice.c_str());
      break;
    case PROP_EXAGGERATION:
      g_value_set_double(value, s.exaggeration);
      break;
    case PROP_CFG_WEIGHT:
      g_value_set_double(value, s.cfg_weight);
      break;
    case PROP_TEMPERATURE:
      g_value_set_double(value, s.temperature);
      break;
    case PROP_TOP_P:
      g_value_set_double(value, s.top_p);
      break;
    case PROP_MIN_P:
      g_value_set_double(value, s.min_p);
      break;
    case PROP_REPETITION_PENALTY:
      g_value_set_double(value, s.repetition_penalty);
      break;
    case PROP_SEED:
      g_value_set_int64(value, s.seed);
      break;
    case PROP_MAX_TOKENS:
      g_value_set_uint(value, s.max_tokens);
      break;
    case PROP_TEXT:
      g_value_set_string(value, s.text.empty() ? NULL : s.text.c_str());
      break;
    case PROP_FIRST_CHUNK_SIZE:
      g_value_set_uint(value, s.first_chunk_size);
      break;
    case PROP_CHUNK_SIZE:
      g_value_set_uint(value, s.chunk_size);
      break;
    case PROP_MAX_CHUNK_SIZE:
      g_value_set_uint(value, s.max_chunk_size);
      break;
    case PROP_STITCH_MODE:
      g_value_set_enum(value, s.stitch_mode);
      break;
    case PROP_OVERLAP:
      g_value_set_uint(value, s.overlap);
      break;
    case PROP_CFM_STEPS:
      g_value_set_uint(value, s.cfm_steps);
      break;
    case PROP_QUEUE_DEPTH:
      g_value_set_uint(value, s.queue_depth);
      break;
    case PROP_OVERFLOW:
      g_value_set_enum(value, s.overflow);
      break;
    case PROP_LATENCY:
      g_value_set_uint(value, s.latency_ms);
      break;
    case PROP_POST_MESSAGES:
      g_value_set_boolean(value, s.post_messages);
      break;
    case PROP_MAX_QUEUED_TEXT:
      g_value_set_uint(value, s.max_queued_text);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}
