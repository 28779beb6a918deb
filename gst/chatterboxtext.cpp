// Text handling of the chatterboxtts sink pad (see chatterboxtext.h).
#include "chatterboxtext.h"

#include <glib.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "text/sentence_rules.h"

namespace chatterbox {

namespace {

// Longest entity we wait for (&#x10FFFF; is 10 bytes); a longer '&' run is literal text.
constexpr size_t kMaxEntityLength = 12;
// Longest tag; a '<' that no '>' closes within this many bytes, or before a line break, is
// literal text. Without the bound a stray '<' would hold back all later text until EOS.
constexpr size_t kMaxTagLength = 256;

// Where the tag starting at the '<' at `lt` ends ('>'), or npos when that '<' starts no tag:
// nothing closes it before a line break or within kMaxTagLength.
size_t tag_end(const std::string& text, size_t lt) {
  size_t close = text.find_first_of(">\n", lt);
  if (close == std::string::npos || text[close] != '>' || close - lt >= kMaxTagLength)
    return std::string::npos;
  return close;
}

// Where an unfinished tag or entity starts in `text`, or npos. Called on the text that has
// arrived so far; the tail from that point waits for more input. It must cut where
// strip_pango_markup, reading the whole text left to right, would start a tag or an entity,
// so that the text is the same wherever the input was cut:
// - a tag may hold further '<', so the EARLIEST '<' that is still open decides: after the last
//   '>' or line break (which closes or rules out every '<' before it), and near enough to the
//   end that its '>' could still come within kMaxTagLength;
// - an entity name holds no '&' (nor '>'), so only the last '&' can be unfinished: no ';' after
//   it yet, no '>' (which would also make it part of a tag's text), and its ';' could still come
//   within kMaxEntityLength.
size_t unfinished_markup_start(const std::string& text) {
  size_t from = text.find_last_of(">\n");
  from = from == std::string::npos ? 0 : from + 1;
  if (text.size() >= kMaxTagLength) from = std::max(from, text.size() - kMaxTagLength + 1);
  const size_t lt = text.find('<', from);
  size_t amp = text.rfind('&');
  if (amp != std::string::npos &&
      (text.find_first_of(";>", amp) != std::string::npos || text.size() - amp > kMaxEntityLength))
    amp = std::string::npos;
  return std::min(lt, amp);
}

void append_unichar(std::string& out, gunichar c) {
  char buf[6];
  int n = g_unichar_to_utf8(c, buf);
  out.append(buf, n);
}

}  // namespace

TextDecoder::Result TextDecoder::push(const char* data, size_t size, bool markup, bool final) {
  Result result;
  std::string bytes;
  bytes.swap(utf8_tail_);
  bytes.append(data, size);

  // Validate character by character: drop invalid bytes one at a time (so the rest of a
  // damaged sequence is re-examined) and keep an incomplete sequence at the very end.
  std::string text;
  text.reserve(bytes.size());
  const char* p = bytes.data();
  const char* end = p + bytes.size();
  while (p < end) {
    gunichar c = g_utf8_get_char_validated(p, end - p);
    // GLib also says "incomplete" (-2) for a sequence that holds a NUL byte, a NUL included:
    // only a sequence that the end of the input cuts short is incomplete. (Taking a NUL for
    // the start of an incomplete sequence kept it, and all text after it, waiting forever.)
    if (c == (gunichar)-2 && std::memchr(p, '\0', end - p) != nullptr) c = (gunichar)-1;
    if (c == (gunichar)-2) {  // incomplete sequence at the end of the input
      if (final)
        result.invalid_bytes += end - p;
      else
        utf8_tail_.assign(p, end - p);
      break;
    }
    if (c == (gunichar)-1 || c == 0) {  // invalid (NUL counts: it is not text)
      ++result.invalid_bytes;
      ++p;
      continue;
    }
    const char* next = g_utf8_next_char(p);
    text.append(p, next - p);
    p = next;
  }

  if (!markup) {
    result.text = std::move(text);
    return result;
  }
  std::string all = markup_tail_ + text;
  markup_tail_.clear();
  if (!final) {
    size_t cut = unfinished_markup_start(all);
    if (cut != std::string::npos) {
      markup_tail_ = all.substr(cut);
      all.resize(cut);
    }
  }
  result.text = strip_pango_markup(all);
  return result;
}

void TextDecoder::reset() {
  utf8_tail_.clear();
  markup_tail_.clear();
}

std::string strip_pango_markup(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    char ch = text[i];
    if (ch == '<') {
      size_t close = tag_end(text, i);
      if (close != std::string::npos) {
        i = close + 1;
        continue;
      }
      // Not a tag: the '<' is text.
    }
    if (ch == '&') {
      size_t semi = text.find(';', i);
      if (semi != std::string::npos && semi - i <= kMaxEntityLength) {
        std::string name = text.substr(i + 1, semi - i - 1);
        gunichar c = 0;
        if (name == "amp")
          c = '&';
        else if (name == "lt")
          c = '<';
        else if (name == "gt")
          c = '>';
        else if (name == "quot")
          c = '"';
        else if (name == "apos")
          c = '\'';
        else if (name.size() > 1 && name[0] == '#') {
          const char* digits = name.c_str() + 1;
          int base = 10;
          if (*digits == 'x' || *digits == 'X') {
            base = 16;
            ++digits;
          }
          char* endp = nullptr;
          unsigned long v = std::strtoul(digits, &endp, base);
          if (endp && *endp == '\0' && *digits && g_unichar_validate((gunichar)v) && v != 0)
            c = (gunichar)v;
        }
        if (c != 0) {
          append_unichar(out, c);
          i = semi + 1;
          continue;
        }
      }
    }
    out.push_back(ch);
    ++i;
  }
  return out;
}

size_t complete_sentences_end(const std::string& text, size_t max_pending) {
  size_t boundary = last_sentence_end(text);
  if (text.size() - boundary > max_pending) {
    size_t space = text.find_last_of(" \t\r\n");
    if (space != std::string::npos && space > boundary)
      boundary = space + 1;
    else
      boundary = text.size();  // one enormous word: speak it rather than grow forever
  }
  return boundary;
}

bool is_blank(const std::string& text) {
  const char* p = text.c_str();
  const char* end = p + text.size();
  while (p < end) {
    if (!g_unichar_isspace(g_utf8_get_char(p))) return false;
    p = g_utf8_next_char(p);
  }
  return true;
}

}  // namespace chatterbox
