/* gst-chatterbox: Chatterbox text-to-speech for GStreamer.
 * SPDX-License-Identifier: MIT
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <algorithm>
#include <type_traits>

#include "gstchatterboxttsprivate.h"
#include "gstchatterboxttsproperties.h"

using chatterbox::ElementSettings;

namespace {

const ElementSettings kDefaults;

const GParamFlags kReadWrite = GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
const GParamFlags kReady = GParamFlags(kReadWrite | GST_PARAM_MUTABLE_READY);
const GParamFlags kPlaying = GParamFlags(kReadWrite | GST_PARAM_MUTABLE_PLAYING);

/* GValue <-> field, by field type. Strings: NULL and "" are the same (unset). */
void value_to(const GValue* v, double& f) { f = g_value_get_double(v); }
void value_to(const GValue* v, guint& f) { f = g_value_get_uint(v); }
void value_to(const GValue* v, gint64& f) { f = g_value_get_int64(v); }
void value_to(const GValue* v, gboolean& f) { f = g_value_get_boolean(v); }
void value_to(const GValue* v, std::string& f) {
  const gchar* s = g_value_get_string(v);
  f = s ? s : "";
}
template <typename E, std::enable_if_t<std::is_enum_v<E>, int> = 0>
void value_to(const GValue* v, E& f) {
  f = E(g_value_get_enum(v));
}

void value_from(double f, GValue* v) { g_value_set_double(v, f); }
void value_from(guint f, GValue* v) { g_value_set_uint(v, f); }
void value_from(gint64 f, GValue* v) { g_value_set_int64(v, f); }
void value_from(gboolean f, GValue* v) { g_value_set_boolean(v, f); }
void value_from(const std::string& f, GValue* v) {
  g_value_set_string(v, f.empty() ? NULL : f.c_str());
}
template <typename E, std::enable_if_t<std::is_enum_v<E>, int> = 0>
void value_from(E f, GValue* v) {
  g_value_set_enum(v, f);
}

template <auto Field>
void set_field(ElementSettings& s, const GValue* v) {
  value_to(v, s.*Field);
}
template <auto Field>
void get_field(const ElementSettings& s, GValue* v) {
  value_from(s.*Field, v);
}
#define FIELD(name) set_field<&ElementSettings::name>, get_field<&ElementSettings::name>

/* NULL selects the default device; the value read back is never NULL. */
void set_device(ElementSettings& s, const GValue* v) {
  const gchar* d = g_value_get_string(v);
  s.device = d ? d : kDefaults.device;
}
void get_device(const ElementSettings& s, GValue* v) { g_value_set_string(v, s.device.c_str()); }

/* What else a change of the property does, once the object lock is released. */
enum PropertyEffect {
  kNoEffect,
  kPostLatency, /* a changed value posts a latency message (when upstream is live) */
  kWakeQueue,   /* a larger text queue may let a blocked chain function continue */
};

struct PropertyDef {
  GParamSpec* (*spec)();
  void (*set)(ElementSettings&, const GValue*);
  void (*get)(const ElementSettings&, GValue*);
  PropertyEffect effect = kNoEffect;
};

/* Every property; its id is its index + 1. Append new properties at the end. */
const PropertyDef kProperties[] = {
    /**
     * GstChatterboxTts:model-path:
     *
     * Directory holding the Chatterbox model files as published on Hugging Face
     * (t3_cfg.safetensors, s3gen.safetensors, ve.safetensors, tokenizer.json, conds.pt).
     * NULL searches $CHATTERBOX_MODEL_DIR, then the Hugging Face cache. Read in NULL→READY.
     *
     * Since: 0.1
     */
    {[] {
       return g_param_spec_string(
           "model-path", "Model path",
           "Directory with the Chatterbox model files (NULL: $CHATTERBOX_MODEL_DIR, then the "
           "Hugging Face cache)",
           NULL, kReady);
     },
     FIELD(model_path)},
    /**
     * GstChatterboxTts:device:
     *
     * Where the model runs: `auto` (the first CUDA device when available, else the CPU),
     * `cpu`, `cuda` or `cuda:N`. Read in NULL→READY.
     *
     * Since: 0.1
     */
    {[] {
       return g_param_spec_string("device", "Device", "Compute device: auto, cpu, cuda or cuda:N",
                                  kDefaults.device.c_str(), kReady);
     },
     set_device, get_device},
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
    {[] {
       return g_param_spec_string(
           "voice", "Voice",
           "Audio file (or .pt/.safetensors conditioning) of the voice to clone; NULL: built-in "
           "voice",
           NULL, kPlaying);
     },
     FIELD(voice)},
    /**
     * GstChatterboxTts:exaggeration:
     *
     * Emotion intensity. Higher values give more expressive and usually faster speech.
     *
     * Since: 0.1
     */
    {[] {
       return g_param_spec_double("exaggeration", "Exaggeration",
                                  "Emotion exaggeration (0.5 is neutral)", 0.0, 2.0,
                                  kDefaults.exaggeration, kPlaying);
     },
     FIELD(exaggeration)},
    /**
     * GstChatterboxTts:cfg-weight:
     *
     * Classifier-free guidance weight; 0 disables guidance (and halves the T3 work). Around
     * 0.3 suits fast reference speakers.
     *
     * Since: 0.1
     */
    {[] {
       return g_param_spec_double("cfg-weight", "CFG weight",
                                  "Classifier-free guidance weight (0: off)", 0.0, 1.0,
                                  kDefaults.cfg_weight, kPlaying);
     },
     FIELD(cfg_weight)},
    /**
     * GstChatterboxTts:temperature:
     *
     * Sampling temperature of the speech tokens.
     *
     * Since: 0.1
     */
    {[] {
       return g_param_spec_double("temperature", "Temperature", "Sampling temperature", 0.05, 5.0,
                                  kDefaults.temperature, kPlaying);
     },
     FIELD(temperature)},
    /**
     * GstChatterboxTts:top-p:
     *
     * Nucleus sampling: keep the most likely tokens whose probabilities sum to this (1: off).
     * -1 takes the model's default: 1.0 (off) for English, 0.95 for Turbo.
     *
     * Since: 0.1
     */
    {[] {
       return g_param_spec_double("top-p", "Top p",
                                  "Nucleus sampling threshold (1.0: off; -1: the model's default, "
                                  "English 1.0, Turbo 0.95)",
                                  -1.0, 1.0, kDefaults.top_p, kPlaying);
     },
     FIELD(top_p)},
    /**
     * GstChatterboxTts:min-p:
     *
     * Drop tokens less likely than this fraction of the most likely one (0: off).
     *
     * Since: 0.1
     */
    {[] {
       return g_param_spec_double("min-p", "Min p",
                                  "Minimum probability relative to the best token (0.0: off)", 0.0,
                                  1.0, kDefaults.min_p, kPlaying);
     },
     FIELD(min_p)},
    /**
     * GstChatterboxTts:repetition-penalty:
     *
     * Penalty on speech tokens already generated in the utterance (1: off). -1 takes the
     * model's default: 1.2 for English and Turbo, 2.0 for the multilingual model.
     *
     * Since: 0.1
     */
    {[] {
       return g_param_spec_double("repetition-penalty", "Repetition penalty",
                                  "Penalty for repeated speech tokens (1.0: off; -1: the model's "
                                  "default, English and Turbo 1.2, multilingual 2.0)",
                                  -1.0, 10.0, kDefaults.repetition_penalty, kPlaying);
     },
     FIELD(repetition_penalty)},
    /**
     * GstChatterboxTts:seed:
     *
     * Random seed, applied at the start of every utterance so that the same text and
     * settings give identical audio. -1 picks a random seed each time.
     *
     * Since: 0.1
     */
    {[] {
       return g_param_spec_int64("seed", "Seed", "Random seed per utterance (-1: random)", -1,
                                 G_MAXINT64, kDefaults.seed, kPlaying);
     },
     FIELD(seed)},
    /**
     * GstChatterboxTts:max-tokens:
     *
     * Safety cap on speech tokens per utterance (25 tokens per second of audio).
     *
     * Since: 0.1
     */
    {[] {
       return g_param_spec_uint("max-tokens", "Max tokens",
                                "Maximum speech tokens per utterance (25 per second)", 1, 100000,
                                kDefaults.max_tokens, kPlaying);
     },
     FIELD(max_tokens)},
    /**
     * GstChatterboxTts:text:
     *
     * Text spoken in source mode, that is when the sink pad is not linked; the element then
     * sends EOS. Read when the element goes to PAUSED.
     *
     * Since: 0.1
     */
    {[] {
       return g_param_spec_string("text", "Text",
                                  "Text to speak when the sink pad is not linked (source mode)",
                                  NULL, kReady);
     },
     FIELD(text)},
    /**
     * GstChatterboxTts:first-chunk-size:
     *
     * Speech tokens in the first streamed chunk of an utterance (40 ms each). Smaller values
     * give audio sooner.
     *
     * Since: 0.1
     */
    {[] {
       return g_param_spec_uint("first-chunk-size", "First chunk size",
                                "Speech tokens in the first chunk of an utterance", 1, 1000,
                                kDefaults.first_chunk_size, kPlaying);
     },
     FIELD(first_chunk_size)},
    /**
     * GstChatterboxTts:chunk-size:
     *
     * Speech tokens in the following chunks; they double up to
     * #GstChatterboxTts:max-chunk-size.
     *
     * Since: 0.1
     */
    {[] {
       return g_param_spec_uint("chunk-size", "Chunk size",
                                "Speech tokens per chunk after the first", 1, 1000,
                                kDefaults.chunk_size, kPlaying);
     },
     FIELD(chunk_size)},
    /**
     * GstChatterboxTts:max-chunk-size:
     *
     * Largest chunk, in speech tokens (values below #GstChatterboxTts:chunk-size count as
     * chunk-size).
     *
     * Since: 0.1
     */
    {[] {
       return g_param_spec_uint("max-chunk-size", "Max chunk size",
                                "Largest chunk in speech tokens", 1, 1000, kDefaults.max_chunk_size,
                                kPlaying);
     },
     FIELD(max_chunk_size)},
    /**
     * GstChatterboxTts:stitch-mode:
     *
     * How streamed chunks are joined.
     *
     * Since: 0.1
     */
    {[] {
       return g_param_spec_enum("stitch-mode", "Stitch mode", "How streamed chunks are joined",
                                GST_TYPE_CHATTERBOX_TTS_STITCH_MODE, kDefaults.stitch_mode,
                                kPlaying);
     },
     FIELD(stitch_mode)},
    /**
     * GstChatterboxTts:overlap:
     *
     * Tokens decoded twice at each chunk boundary in `overlap-add` stitch mode.
     *
     * Since: 0.1
     */
    {[] {
       return g_param_spec_uint("overlap", "Overlap",
                                "Tokens decoded twice per chunk boundary (stitch-mode=overlap-add)",
                                0, 100, kDefaults.overlap, kPlaying);
     },
     FIELD(overlap)},
    /**
     * GstChatterboxTts:cfm-steps:
     *
     * Euler steps of the S3Gen flow-matching decoder (fewer is faster, rougher). 0 takes the
     * model's own: 10 for English, 2 for Turbo (its mean-flow decoder is distilled for 2).
     *
     * Since: 0.1
     */
    {[] {
       return g_param_spec_uint("cfm-steps", "CFM steps",
                                "Flow-matching Euler steps (0: the model's, English 10, Turbo 2)",
                                0, 100, kDefaults.cfm_steps, kPlaying);
     },
     FIELD(cfm_steps)},
    /**
     * GstChatterboxTts:queue-depth:
     *
     * Chunks buffered between the token generator and the vocoder stage of the engine.
     *
     * Since: 0.1
     */
    {[] {
       return g_param_spec_uint("queue-depth", "Queue depth",
                                "Chunks buffered between the engine's T3 and S3Gen stages", 1, 64,
                                kDefaults.queue_depth, kPlaying);
     },
     FIELD(queue_depth)},
    /**
     * GstChatterboxTts:overflow:
     *
     * What to do when the audio of timed text lasts longer than the text's duration, or
     * would start before the previous audio has ended.
     *
     * Since: 0.1
     */
    {[] {
       return g_param_spec_enum("overflow", "Overflow",
                                "Handling of audio longer than its timed text",
                                GST_TYPE_CHATTERBOX_TTS_OVERFLOW, kDefaults.overflow, kPlaying);
     },
     FIELD(overflow)},
    /**
     * GstChatterboxTts:latency:
     *
     * Processing budget in milliseconds, added to the latency reported downstream when
     * upstream is live; audio not ready within it is dropped as late. When measurement shows
     * the value cannot be met, the element warns with the value that would work and reports
     * (and uses) that instead, until this property is set again. Changing it posts a latency
     * message when upstream is live.
     *
     * Since: 0.1
     */
    {[] {
       return g_param_spec_uint("latency", "Latency",
                                "Processing latency in ms added when upstream is live", 0,
                                G_MAXUINT / 1000, kDefaults.latency_ms, kPlaying);
     },
     FIELD(latency_ms), kPostLatency},
    /**
     * GstChatterboxTts:post-messages:
     *
     * Post a `chatterboxtts/synthesized-audio` element message per utterance (see the element
     * description for its fields).
     *
     * Since: 0.1
     */
    {[] {
       return g_param_spec_boolean("post-messages", "Post messages",
                                   "Post a statistics element message per utterance",
                                   kDefaults.post_messages, kPlaying);
     },
     FIELD(post_messages)},
    /**
     * GstChatterboxTts:max-queued-text:
     *
     * Utterances that may wait between the sink pad and the synthesizer; when full, the sink
     * pad blocks upstream.
     *
     * Since: 0.1
     */
    {[] {
       return g_param_spec_uint("max-queued-text", "Max queued text",
                                "Utterances queued before the sink pad blocks", 1, 100000,
                                kDefaults.max_queued_text, kPlaying);
     },
     FIELD(max_queued_text), kWakeQueue},
    /**
     * GstChatterboxTts:top-k:
     *
     * Keep only the k most likely speech tokens before sampling. 0 takes the model's default
     * (Turbo 1000). The English model has no top-k step: a value set for it is ignored with a
     * warning.
     *
     * Since: 0.2
     */
    {[] {
       return g_param_spec_uint("top-k", "Top k",
                                "Sample among the k most likely speech tokens (0: the model's "
                                "default, Turbo 1000; not used by English)",
                                0, 100000, kDefaults.top_k, kPlaying);
     },
     FIELD(top_k)},
    /**
     * GstChatterboxTts:model-variant:
     *
     * Which Chatterbox model was loaded from the model directory: `english`, `turbo`, `nano` or
     * `multilingual` (recognised from the files). NULL until the element reaches READY.
     *
     * Since: 0.2
     */
    {[] {
       return g_param_spec_string(
           "model-variant", "Model variant",
           "The loaded model: english, turbo, nano or multilingual (NULL before READY); read-only",
           NULL, GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
     },
     nullptr, get_field<&ElementSettings::model_variant>},
    /**
     * GstChatterboxTts:t3-precision:
     *
     * How the speech-token generator stores its matrices. fp32 reproduces the original model
     * exactly; bf16 and int8 read half and a quarter of the bytes per token, which is what
     * limits a CPU (measured effect and speed: docs/benchmarks.md). Read in NULL→READY.
     *
     * Since: 0.2
     */
    {[] {
       return g_param_spec_enum("t3-precision", "T3 precision",
                                "Storage of the speech-token generator's weights",
                                GST_TYPE_CHATTERBOX_TTS_PRECISION, kDefaults.t3_precision, kReady);
     },
     FIELD(t3_precision)},
    /**
     * GstChatterboxTts:n-threads:
     *
     * Threads the engine's two stages (speech-token generator and vocoder, which run side by
     * side) use together: the generator gets half, the vocoder the rest, each at least one,
     * so that on N cores n-threads=N never oversubscribes them. 0 keeps libtorch's default
     * in each stage. Applies from the next utterance.
     *
     * Since: 0.2
     */
    {[] {
       return g_param_spec_uint("n-threads", "Threads",
                                "Threads of the engine's two stages together (0: libtorch's "
                                "default in each)",
                                0, 1024, kDefaults.n_threads, kPlaying);
     },
     FIELD(n_threads)},
    /**
     * GstChatterboxTts:language:
     *
     * ISO 639-1 code of the language of the text. The multilingual model speaks 23 (ar da de
     * el en es fi fr he hi it ja ko ms nl no pl pt ru sv sw tr zh); the English and Turbo models
     * only `en`. An unsupported code is an error (listing the supported ones) when the next
     * utterance starts. A change while playing applies from the next utterance; a
     * GST_TAG_LANGUAGE_CODE tag in the text stream sets it from that point of the stream.
     *
     * Since: 0.3
     */
    {[] {
       return g_param_spec_string("language", "Language",
                                  "ISO 639-1 code of the text's language (multilingual model: 23 "
                                  "languages; English and Turbo: en only)",
                                  kDefaults.language.c_str(), kPlaying);
     },
     FIELD(language)},
};

constexpr guint kNumProperties = G_N_ELEMENTS(kProperties);

void gst_chatterbox_tts_set_property(GObject* object, guint prop_id, const GValue* value,
                                     GParamSpec* pspec) {
  if (prop_id == 0 || prop_id > kNumProperties) {
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    return;
  }
  GstChatterboxTts* self = GST_CHATTERBOX_TTS(object);
  const PropertyDef& prop = kProperties[prop_id - 1];
  if (!prop.set) {  // read-only: GObject refuses the write before it gets here
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    return;
  }
  bool changed = true;
  GST_OBJECT_LOCK(self);
  if (prop.effect == kPostLatency) {
    GValue old = G_VALUE_INIT;
    g_value_init(&old, G_PARAM_SPEC_VALUE_TYPE(pspec));
    prop.get(self->priv->settings, &old);
    changed = g_param_values_cmp(pspec, &old, value) != 0;
    g_value_unset(&old);
  }
  prop.set(self->priv->settings, value);
  /* The user's new value replaces what measurement had raised the latency to. */
  if (prop.effect == kPostLatency && changed) self->priv->latency_needed = 0;
  GST_OBJECT_UNLOCK(self);

  if (prop.effect == kWakeQueue) self->priv->queue.wake();
  if (prop.effect == kPostLatency && changed) gst_chatterbox_tts_post_latency(self);
}

void gst_chatterbox_tts_get_property(GObject* object, guint prop_id, GValue* value,
                                     GParamSpec* pspec) {
  if (prop_id == 0 || prop_id > kNumProperties) {
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    return;
  }
  GstChatterboxTts* self = GST_CHATTERBOX_TTS(object);
  GST_OBJECT_LOCK(self);
  kProperties[prop_id - 1].get(self->priv->settings, value);
  GST_OBJECT_UNLOCK(self);
}

}  // namespace

void gst_chatterbox_tts_install_properties(GObjectClass* gobject_class) {
  gobject_class->set_property = gst_chatterbox_tts_set_property;
  gobject_class->get_property = gst_chatterbox_tts_get_property;
  for (guint i = 0; i < kNumProperties; ++i)
    g_object_class_install_property(gobject_class, i + 1, kProperties[i].spec());
}

chatterbox::UtteranceSettings gst_chatterbox_tts_snapshot_settings(GstChatterboxTts* self) {
  chatterbox::UtteranceSettings u;
  GST_OBJECT_LOCK(self);
  const ElementSettings& s = self->priv->settings;
  u.params.exaggeration = (float)s.exaggeration;
  u.params.cfg_weight = (float)s.cfg_weight;
  u.params.temperature = (float)s.temperature;
  u.params.top_p = (float)s.top_p;
  u.params.top_k = (int)s.top_k;
  u.params.min_p = (float)s.min_p;
  u.params.repetition_penalty = (float)s.repetition_penalty;
  u.params.language = s.language.empty() ? kDefaults.language : s.language;
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
  u.params.threads = (int)s.n_threads;
  u.voice = s.voice;
  u.overflow = s.overflow;
  u.post_messages = s.post_messages;
  GST_OBJECT_UNLOCK(self);
  return u;
}
