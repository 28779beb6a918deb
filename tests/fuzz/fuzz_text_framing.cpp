// Fuzz target: the element's text framing (gst/chatterboxtext.h), what the sink pad does with
// arbitrary bytes. Input = a flags byte (bit 0: pango-markup; the rest seeds where the input is
// cut) followed by the bytes. The bytes are decoded whole and again cut into pieces (inside
// UTF-8 sequences, tags and entities alike); both results must be the same valid UTF-8 without
// NUL, and the sentence boundary must lie inside the text on a character boundary.
#include <glib.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "chatterboxtext.h"

std::vector<std::string> fuzz_seeds() {
  return {
      std::string("\x00", 1) + "Hello world. How are you?\nNext line",
      std::string("\x01", 1) + "<b>Hel</b>lo &amp; <span foreground=\"red\">world</span> &lt;3.",
      std::string("\x03", 1) + "Bad &bogus; &#xZZ; &#0; &#x1F600; <i unclosed\n< lonely >",
      std::string("\x02", 1) +
          "h\xc3\xa9llo w\xc3\xb6rld. \xe6\x97\xa5\xe6\x9c\xac\xe3\x80\x82\xe2\x80\xa6 \xff\xfe",
  };
}

namespace {

void check_text(const std::string& text) {
  if (!g_utf8_validate(text.data(), static_cast<gssize>(text.size()), nullptr)) std::abort();
  if (text.find('\0') != std::string::npos) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool markup = data[0] & 1;
  uint32_t cut_seed = data[0] >> 1;
  const char* bytes = reinterpret_cast<const char*>(data + 1);
  const size_t n = size - 1;

  chatterbox::TextDecoder whole;
  const std::string all = whole.push(bytes, n, markup, true).text;
  check_text(all);

  chatterbox::TextDecoder pieces;
  std::string joined;
  for (size_t at = 0; at < n;) {
    cut_seed = cut_seed * 1103515245u + 12345u;
    const size_t len = std::min<size_t>(n - at, 1 + (cut_seed >> 16) % 9);
    joined += pieces.push(bytes + at, len, markup, false).text;
    at += len;
  }
  joined += pieces.push("", 0, markup, true).text;
  check_text(joined);
  // Where the input is cut must not change the text, with or without markup.
  if (joined != all) std::abort();
  if (pieces.has_pending()) std::abort();

  const size_t end = chatterbox::complete_sentences_end(all, 64);
  if (end > all.size()) std::abort();
  if (end < all.size() && (static_cast<uint8_t>(all[end]) & 0xC0) == 0x80) std::abort();
  (void)chatterbox::is_blank(all);
  check_text(chatterbox::strip_pango_markup(all));
  return 0;
}
