/* Enumerations of the chatterboxtts element, registered as GTypes so gst-inspect and the
 * documentation list their values. Values are stable API: never renumber them. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/**
 * GstChatterboxTtsOverflow:
 * @GST_CHATTERBOX_TTS_OVERFLOW_CLIP: cut the audio at the end of the text buffer's duration
 *   (and stop generating early to save compute)
 * @GST_CHATTERBOX_TTS_OVERFLOW_OVERLAP: keep the text timestamps even when the audio of the
 *   previous utterance is still playing (overlapping buffers, for audiomixer)
 * @GST_CHATTERBOX_TTS_OVERFLOW_SHIFT: move an utterance later so it starts after the previous
 *   audio ends
 *
 * What to do when synthesized audio outlasts the duration of its timed text. Same nicks and
 * values as GstAwsOverflow / GstElevenLabsOverflow; 3 is left free for a future `compress`.
 *
 * Since: 0.1
 */
typedef enum {
  GST_CHATTERBOX_TTS_OVERFLOW_CLIP = 0,
  GST_CHATTERBOX_TTS_OVERFLOW_OVERLAP = 1,
  GST_CHATTERBOX_TTS_OVERFLOW_SHIFT = 2,
} GstChatterboxTtsOverflow;

/**
 * GstChatterboxTtsStitchMode:
 * @GST_CHATTERBOX_TTS_STITCH_NONE: decode every chunk on its own (fastest, audible joins)
 * @GST_CHATTERBOX_TTS_STITCH_OVERLAP_ADD: decode `overlap` tokens twice per boundary and
 *   crossfade them
 * @GST_CHATTERBOX_TTS_STITCH_CONTEXT: re-feed previous tokens to S3Gen as left context and
 *   keep only the new audio (best quality)
 *
 * How streamed chunks are joined. Maps onto chatterbox::StitchMode.
 *
 * Since: 0.1
 */
typedef enum {
  GST_CHATTERBOX_TTS_STITCH_NONE = 0,
  GST_CHATTERBOX_TTS_STITCH_OVERLAP_ADD = 1,
  GST_CHATTERBOX_TTS_STITCH_CONTEXT = 2,
} GstChatterboxTtsStitchMode;

/**
 * GstChatterboxTtsPrecision:
 * @GST_CHATTERBOX_TTS_PRECISION_FP32: float32 weights (exact)
 * @GST_CHATTERBOX_TTS_PRECISION_BF16: bfloat16 weights, half the memory traffic per token
 * @GST_CHATTERBOX_TTS_PRECISION_INT8: int8 weights with a scale per row, a quarter of it
 *
 * How the speech-token generator (T3) stores its matrices; arithmetic stays float32. Each token
 * reads every weight once, so on a CPU the token rate follows the bytes read. Maps onto
 * chatterbox::EngineConfig::t3_precision.
 *
 * Since: 0.2
 */
typedef enum {
  GST_CHATTERBOX_TTS_PRECISION_FP32 = 0,
  GST_CHATTERBOX_TTS_PRECISION_BF16 = 1,
  GST_CHATTERBOX_TTS_PRECISION_INT8 = 2,
} GstChatterboxTtsPrecision;

#define GST_TYPE_CHATTERBOX_TTS_OVERFLOW (gst_chatterbox_tts_overflow_get_type())
GType gst_chatterbox_tts_overflow_get_type(void);

#define GST_TYPE_CHATTERBOX_TTS_STITCH_MODE (gst_chatterbox_tts_stitch_mode_get_type())
GType gst_chatterbox_tts_stitch_mode_get_type(void);

#define GST_TYPE_CHATTERBOX_TTS_PRECISION (gst_chatterbox_tts_precision_get_type())
GType gst_chatterbox_tts_precision_get_type(void);

G_END_DECLS
