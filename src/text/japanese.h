// Japanese step of the multilingual tokenizer (mtl tokenizer.py hiragana_normalize, which runs
// pykakasi): every chunk containing kanji becomes its hiragana reading, with a space in front of
// a reading that starts with "は" or "へ"; katakana and everything else stay. Here the readings
// and the chunking come from the KAKASI C library (Debian libkakasi2), whose dictionary is the
// one pykakasi grew from; the two differ on some words (docs/languages.md has the measurement).
#pragma once

#include <string>

namespace chatterbox {

// True when this build links KAKASI and its dictionaries can be read (KANWADICTPATH /
// ITAIJIDICTPATH or the Debian paths). When false, kanji_to_hiragana returns its input
// unchanged, as the reference does when pykakasi is not installed.
bool japanese_reading_available();

// The chunk replacement of hiragana_normalize on `text` (already lower-cased and NFKD'd, as the
// reference's MTLTokenizer passes it); the caller applies NFKD to the result. Characters that
// are not kanji, kana or the iteration marks pass through untouched. Thread-safe (KAKASI keeps
// global state; calls are serialised).
std::u32string kanji_to_hiragana(const std::u32string& text);

}  // namespace chatterbox
