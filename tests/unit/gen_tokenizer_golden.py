#!/usr/bin/env python3
"""Golden ids for the tokenizer unit test, from the real HF `tokenizers` library.

  python3 tests/unit/gen_tokenizer_golden.py TOKENIZER_JSON > tests/unit/data/tokenizer_golden.json

TOKENIZER_JSON is the file chatterbox-make-test-model writes (identical for every seed). Each
text is encoded the way chatterbox's EnTokenizer.text_to_tokens does it: spaces replaced by
"[SPACE]", then Tokenizer.encode(...).ids. Needs `pip install tokenizers`.
"""
import json
import random
import sys

from tokenizers import Tokenizer

TEXTS = [
    "Hello world.",
    "The quick brown fox jumps over the lazy dog.",
    "Wait,  what.",
    "He said \"hi\" - then 'left'.",
    "Numbers: 3.14, 2024, 1_000_000 and 42nd!",
    "Ünïcode café naïve résumé façade.",
    "Emoji 😀 and CJK 漢字 and Greek αβγ and Cyrillic жук.",
    "Combining e\u0301 and a\u0308 marks.",
    "tabs\tand\u00a0nbsp\u3000ideographic\u2003em space.",
    "[SPACE][SPACE]double",
    "literal [START] and [STOP] and [UNK] tokens",
    "[SPA CE] [SPACE [SPACEX",
    "under_score __init__ snake_case",
    "!!!??? ... ,,, ;;; --- '''",
    "Information communication education imagination.",
    "walking talking thinking laughing together",
    "aaaaaaaaaaaaaaaaaaaa bbbbbbbbbb thththththth",
    "Mixed\u200dzero\u200cwidth joiners.",
    "Ⓐ circled letters and ½ fractions and ² superscripts.",
    "",
    " ",
    "x",
]


def main():
    tok = Tokenizer.from_file(sys.argv[1])
    rng = random.Random(7)
    alphabet = ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:!?'\"-_()[]"
                "éüßø漢😀\t\u00a0\u0301")
    texts = list(TEXTS)
    for _ in range(200):
        n = rng.randint(1, 60)
        texts.append("".join(rng.choice(alphabet) for _ in range(n)))
    words = ["the", "there", "their", "thing", "nothing", "station", "[SPACE]", "[START]", "ing", "tion"]
    for _ in range(100):
        texts.append(" ".join(rng.choice(words) for _ in range(rng.randint(1, 12))))
    cases = [{"text": t, "ids": tok.encode(t.replace(" ", "[SPACE]")).ids} for t in texts]
    json.dump(cases, sys.stdout, ensure_ascii=False, indent=0)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
