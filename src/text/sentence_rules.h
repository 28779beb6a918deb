// Where sentences end: the one set of rules behind both the element's framing of streamed text
// (which part of the text so far can be spoken now) and the engine's splitter (long text ->
// utterances). No torch, no GStreamer: gst/ includes this header.
//
// The rules (docs/element.md "Sentences" explains each decision):
//  - Terminators . ! ? … and their CJK and other scripts' forms (。！？．｡ । ॥ ؟ ۔), in a run
//    such as "?!" or "...", followed by closing quotes and brackets (" ' ) ] } ’ ” » 」 』 ） ］
//    ｝ 】 》 〉 〕 ｣), end a sentence when whitespace or the end of the text follows. Full-width
//    CJK terminators need no space after them.
//  - A lone "." after a common abbreviation ("Dr", "e.g", "etc"), a dotted one ("p.m", "U.S")
//    or a single capital letter ("J. R. R. Tolkien") does not end a sentence when more text
//    follows; at the end of the text it does.
//  - A blank line (two newlines with only whitespace between) or U+2029 ends a sentence; so does
//    a newline followed only by whitespace up to the end of the text (a line pushed alone). A
//    single newline inside the text is a space: hard-wrapped lines join.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace chatterbox {

// Clause punctuation (, ; : dashes and CJK commas): where the splitter cuts a sentence that is
// too long for one utterance.
bool is_clause_mark(char32_t c);

// A piece of a text: code points [begin, end).
struct TextRange {
  size_t begin;
  size_t end;  // exclusive
};

// The sentences of `text`, whitespace trimmed, empty ones dropped; the text after the last
// sentence end is the last sentence (unfinished: the splitter still speaks it, the element waits
// for more).
std::vector<TextRange> sentence_ranges(const std::u32string& text);

// The byte offset in UTF-8 `text` just past its last sentence end (after closing marks, or after
// the whitespace of a line or paragraph break), or 0 when it has none.
// Throws Error(kInvalidInput) on invalid UTF-8.
size_t last_sentence_end(const std::string& text);

}  // namespace chatterbox
