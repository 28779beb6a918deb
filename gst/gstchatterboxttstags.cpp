/* gst-chatterbox: Chatterbox text-to-speech for GStreamer.
 * SPDX-License-Identifier: MIT
 */

/* Tags of chatterboxtts, in the source pad task: which of the text stream's tags reach the
 * audio stream, and the element's own stream tags (merged with upstream's, as decoders do). */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/tag/tag.h>

#include <string>

#include "gstchatterboxttsprivate.h"

/* Tags that describe the text (its language, its title, its format) rather than the speech
 * made from it. */
static const char* const kTextTags[] = {
    GST_TAG_LANGUAGE_CODE,    GST_TAG_LANGUAGE_NAME,   GST_TAG_TITLE,
    GST_TAG_TITLE_SORTNAME,   GST_TAG_SUBTITLE_CODEC,  GST_TAG_CODEC,
    GST_TAG_CONTAINER_FORMAT, GST_TAG_ENCODER,         GST_TAG_ENCODER_VERSION,
    GST_TAG_BITRATE,          GST_TAG_NOMINAL_BITRATE, GST_TAG_MINIMUM_BITRATE,
    GST_TAG_MAXIMUM_BITRATE,
};

/* A copy of `tags` without the text-only tags. */
static GstTagList* filter_text_tags(const GstTagList* tags) {
  GstTagList* kept = gst_tag_list_copy(tags);
  for (const char* tag : kTextTags) gst_tag_list_remove_tag(kept, tag);
  return kept;
}

/* The element's own stream tags: which model speaks. */
static GstTagList* own_tags(GstChatterboxTts* self) {
  std::string encoder = "chatterboxtts";
  if (self->priv->synth)
    encoder += std::string(" (Chatterbox ") +
               chatterbox::model_variant_name(self->priv->synth->variant()) + ")";
  GstTagList* tags = gst_tag_list_new(GST_TAG_ENCODER, encoder.c_str(), NULL);
  gst_tag_list_set_scope(tags, GST_TAG_SCOPE_STREAM);
  return tags;
}

void gst_chatterbox_tts_push_stream_tags(GstChatterboxTts* self) {
  GstChatterboxTtsPrivate* priv = self->priv;
  if (!priv->tags_pending) return;
  /* Sticky order: tags after the segment. */
  GstEvent* segment = gst_pad_get_sticky_event(self->srcpad, GST_EVENT_SEGMENT, 0);
  if (!segment) return;
  gst_event_unref(segment);
  GstTagList* tags = own_tags(self);
  if (priv->upstream_tags) gst_tag_list_insert(tags, priv->upstream_tags, GST_TAG_MERGE_KEEP);
  GST_DEBUG_OBJECT(self, "stream tags %" GST_PTR_FORMAT, tags);
  priv->tags_pending = false;
  gst_pad_push_event(self->srcpad, gst_event_new_tag(tags));
}

void gst_chatterbox_tts_reset_tags(GstChatterboxTts* self) {
  GstChatterboxTtsPrivate* priv = self->priv;
  if (priv->upstream_tags) gst_tag_list_unref(priv->upstream_tags);
  priv->upstream_tags = nullptr;
  priv->tags_pending = true;
}

gchar* gst_chatterbox_tts_tag_language(GstEvent* event) {
  GstTagList* tags = nullptr;
  gst_event_parse_tag(event, &tags);
  gchar* code = nullptr;
  if (!tags || !gst_tag_list_get_string(tags, GST_TAG_LANGUAGE_CODE, &code)) return nullptr;
  /* The tag may hold an ISO 639-2 code ("fra") or a name: the model takes ISO 639-1. */
  const gchar* iso1 = gst_tag_get_language_code_iso_639_1(code);
  if (iso1) {
    g_free(code);
    return g_strdup(iso1);
  }
  return code; /* unknown to GStreamer: passed on, the model says whether it speaks it */
}

GstFlowReturn gst_chatterbox_tts_tag_event(GstChatterboxTts* self, GstEvent* event) {
  GstChatterboxTtsPrivate* priv = self->priv;
  /* A language tag switches the language from this point of the text stream on; the tag
   * itself describes the text and stays off the audio. */
  if (gchar* language = gst_chatterbox_tts_tag_language(event)) {
    GST_INFO_OBJECT(self, "language tag: %s", language);
    GST_OBJECT_LOCK(self);
    priv->settings.language = language;
    GST_OBJECT_UNLOCK(self);
    g_free(language);
    g_object_notify(G_OBJECT(self), "language");
  }
  GstTagList* in;
  gst_event_parse_tag(event, &in);
  GstTagList* kept = filter_text_tags(in);
  const GstTagScope scope = gst_tag_list_get_scope(in);
  guint32 seqnum = gst_event_get_seqnum(event);
  gst_event_unref(event);

  if (scope == GST_TAG_SCOPE_GLOBAL) {
    if (gst_tag_list_is_empty(kept)) {
      gst_tag_list_unref(kept);
      return GST_FLOW_OK;
    }
    GstEvent* out = gst_event_new_tag(kept);
    gst_event_set_seqnum(out, seqnum);
    gst_pad_push_event(self->srcpad, out);
    return GST_FLOW_OK;
  }
  /* Stream tags replace upstream's previous ones and go out merged with ours, now if the
   * stream has begun, else after the segment. */
  if (priv->upstream_tags) gst_tag_list_unref(priv->upstream_tags);
  priv->upstream_tags = kept;
  priv->tags_pending = true;
  gst_chatterbox_tts_push_stream_tags(self);
  return GST_FLOW_OK;
}
