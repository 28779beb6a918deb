// One utterance of text as the splitter prepared it. No torch: the engine API and the text front
// end both use it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace chatterbox {

// The text (for logs and messages) and the model's text ids for it, normalised and tokenised
// once by the splitter so that starting the utterance does not do it again.
struct TextUtterance {
  std::string text;
  // Without start/stop ids. Only valid for the model (and synthesizer) that split the text and
  // for `language`; empty: start() computes them from `text`.
  std::vector<int64_t> token_ids;
  // The language `token_ids` were made for (ISO 639-1, as split_for() was given it). start()
  // tokenises again when the utterance is spoken in another language.
  std::string language;
};

}  // namespace chatterbox
