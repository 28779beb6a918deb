// chatterbox-mtl-text: prints the multilingual tokenizer's language-step output for each line of
// standard input, for comparisons with the reference's Python packages (docs/languages.md,
// docs/measure_japanese.py).
//
//   chatterbox-mtl-text LANGUAGE TOKENIZER_JSON [CANGJIE_JSON] < lines.txt
//
// Each output line is after_language_step(after_lower_nfkd(punc_norm_multilingual(line))) with
// "\n" escaped as "\\n", so input and output lines correspond one to one.
#include <cstdio>
#include <iostream>
#include <string>

#include "common/error.h"
#include "text/mtl_tokenizer.h"
#include "text/punc_norm.h"

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4) {
    std::fprintf(stderr, "usage: %s LANGUAGE TOKENIZER_JSON [CANGJIE_JSON] < lines.txt\n", argv[0]);
    return 2;
  }
  try {
    const auto tok = chatterbox::MtlTokenizer::from_files(argv[2], argc == 4 ? argv[3] : "");
    std::string line;
    while (std::getline(std::cin, line)) {
      const std::string lowered =
          chatterbox::MtlTokenizer::after_lower_nfkd(chatterbox::punc_norm_multilingual(line));
      std::string out = tok.after_language_step(lowered, argv[1]);
      for (size_t pos = 0; (pos = out.find('\n', pos)) != std::string::npos; pos += 2)
        out.replace(pos, 1, "\\n");
      std::cout << out << '\n';
    }
  } catch (const chatterbox::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
