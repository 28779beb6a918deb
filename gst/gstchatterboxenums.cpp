/* GType registration of the chatterboxtts enums (see gstchatterboxenums.h). */
#include "gstchatterboxenums.h"

GType gst_chatterbox_tts_overflow_get_type(void) {
  static gsize type_id = 0;
  static const GEnumValue values[] = {
      {GST_CHATTERBOX_TTS_OVERFLOW_CLIP, "Clip the audio to the text duration", "clip"},
      {GST_CHATTERBOX_TTS_OVERFLOW_OVERLAP, "Keep the text timestamps, let audio overlap",
       "overlap"},
      {GST_CHATTERBOX_TTS_OVERFLOW_SHIFT, "Shift late utterances after the previous audio",
       "shift"},
      {0, NULL, NULL},
  };
  if (g_once_init_enter(&type_id)) {
    GType tmp = g_enum_register_static("GstChatterboxTtsOverflow", values);
    g_once_init_leave(&type_id, tmp);
  }
  return (GType)type_id;
}

GType gst_chatterbox_tts_stitch_mode_get_type(void) {
  static gsize type_id = 0;
  static const GEnumValue values[] = {
      {GST_CHATTERBOX_TTS_STITCH_NONE, "Decode chunks independently", "none"},
      {GST_CHATTERBOX_TTS_STITCH_OVERLAP_ADD, "Crossfade overlapping decoded tokens",
       "overlap-add"},
      {GST_CHATTERBOX_TTS_STITCH_CONTEXT, "Re-feed previous tokens as vocoder context", "context"},
      {0, NULL, NULL},
  };
  if (g_once_init_enter(&type_id)) {
    GType tmp = g_enum_register_static("GstChatterboxTtsStitchMode", values);
    g_once_init_leave(&type_id, tmp);
  }
  return (GType)type_id;
}

GType gst_chatterbox_tts_precision_get_type(void) {
  static gsize type_id = 0;
  static const GEnumValue values[] = {
      {GST_CHATTERBOX_TTS_PRECISION_FP32, "float32 (exact)", "fp32"},
      {GST_CHATTERBOX_TTS_PRECISION_BF16, "bfloat16 (half the bytes per token)", "bf16"},
      {GST_CHATTERBOX_TTS_PRECISION_INT8, "int8 with per-row scales (a quarter of the bytes)",
       "int8"},
      {0, NULL, NULL},
  };
  if (g_once_init_enter(&type_id)) {
    GType tmp = g_enum_register_static("GstChatterboxTtsPrecision", values);
    g_once_init_leave(&type_id, tmp);
  }
  return (GType)type_id;
}
