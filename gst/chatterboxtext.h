// Text handling of the chatterboxtts sink pad: turning arbitrarily cut byte streams into
// validated UTF-8 (optionally with Pango markup stripped), and deciding which part of an
// untimed stream forms complete sentences that can be spoken now. GLib only, no GStreamer
// objects, so the rules are easy to test.
#pragma once

#include <cstddef>
#include <string>

namespace chatterbox {

// Decodes a byte stream cut at arbitrary places (even inside a UTF-8 sequence, a markup tag or
// an entity). Not thread-safe: one per sink pad, used under the stream lock.
class TextDecoder {
 public:
  struct Result {
    std::string text;          // valid UTF-8, markup removed when requested
    size_t invalid_bytes = 0;  // bytes that were not UTF-8 and were dropped
  };

  // Appends `size` bytes. An incomplete sequence (or tag/entity) at the end is kept for the
  // next call; with `final` it is flushed (an incomplete UTF-8 sequence counts as invalid).
  Result push(const char* data, size_t size, bool markup, bool final);
  // Forgets any partial input (flush, new stream).
  void reset();
  bool has_pending() const { return !utf8_tail_.empty() || !markup_tail_.empty(); }

 private:
  std::string utf8_tail_;    // bytes of an incomplete UTF-8 sequence
  std::string markup_tail_;  // text from an unclosed '<' or '&'
};

// Removes Pango markup tags and resolves the entities &amp; &lt; &gt; &quot; &apos; &#N; &#xN;.
// Unknown entities are kept as written, and so is a '<' that no '>' closes on its line within
// 256 bytes (a stray '<' is text, not the start of a tag that swallows the rest).
std::string strip_pango_markup(const std::string& text);

// The byte offset in `text` up to which the text forms complete sentences (by the engine's
// sentence rules, text/sentence_rules.h: the text so far ends where the stream pauses, so a
// terminator at its very end ends a sentence), or 0 when there is none.
// Text longer than `max_pending` bytes without such a boundary is cut at its last whitespace
// so that pending text stays bounded.
size_t complete_sentences_end(const std::string& text, size_t max_pending);

// True when `text` holds nothing but whitespace.
bool is_blank(const std::string& text);

}  // namespace chatterbox
