#!/usr/bin/env python3
"""Golden Python str.lower() and unicodedata NFKD for the multilingual tokenizer's first step.

  python3 tests/unit/gen_mtl_unicode_golden.py > tests/unit/data/mtl_unicode_golden.json

Run with the Python whose unicodedata made src/text/unicode_tables.inc (3.11, Unicode 14). Each
entry is [text, text.lower(), unicodedata.normalize("NFKD", text.lower())]: hand-picked cases
(final sigma contexts, U+0130, Hangul, compatibility forms, combining-mark reordering) and random
strings drawn from the scripts of the 23 languages plus marks and capital sigma, seed fixed.
"""
import json
import random
import sys
import unicodedata

HAND = [
    "ΣΟΦΟΣ", "ΟΔΟΣ.", "Σ", "ΑΣ", "ΑΣΑ", "Α'Σ", "ΑΣ'", "ΑΣ'Α", "1Σ", "Α\u0301Σ\u0301", "ΣΑΣ ΣΑΣ",
    "İstanbul", "IİıI", "Straße", "ǅ ǈ ǋ", "ﬁ ﬂ ﬃ ½ ² ㎏ Ⅻ ①", "ｶﾞｷﾞ ＡＢＣ １２３",
    "한국어 문장입니다", "가각갛힣", "が ぱ ヴ ゔ", "\u1e0b\u0323 \u0071\u0307\u0323 a\u0301\u0323\u0308",
    "Ёлка ПРИВЕТ", "שָׁלוֹם", "ज़िंदगी क़", "مرحبا ﻻ ﷺ", "Ǆemal", "Å Å Ω K", "\u0345\u0301",
]

RANGES = [(0x20, 0x24F), (0x300, 0x36F), (0x370, 0x3FF), (0x400, 0x4FF), (0x590, 0x5FF),
          (0x600, 0x6FF), (0x900, 0x97F), (0x1E00, 0x1FFF), (0x2000, 0x218F), (0x2460, 0x24FF),
          (0x3000, 0x30FF), (0x3130, 0x318F), (0x3300, 0x33FF), (0x4E00, 0x4E80), (0xAC00, 0xAD00),
          (0xF900, 0xF9FF), (0xFB00, 0xFDFF), (0xFE30, 0xFFEF), (0x1D400, 0x1D7FF)]


def main():
    rng = random.Random(12)
    pool = [chr(c) for a, b in RANGES for c in range(a, b + 1)] + ["\u03a3"] * 300
    texts = list(HAND)
    for _ in range(400):
        texts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 10))))
    out = [[t, t.lower(), unicodedata.normalize("NFKD", t.lower())] for t in texts]
    json.dump({"python": sys.version.split()[0], "unicode": unicodedata.unidata_version, "cases": out},
              sys.stdout, ensure_ascii=False, indent=0)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
