#!/usr/bin/env python3
"""How often the Japanese language step of this port (KAKASI) differs from the reference's
(pykakasi 2.3.0, which made the oracle's fixtures). Result: docs/languages.md.

  pip install pykakasi==2.3.0
  python3 docs/measure_japanese.py build/tests/tools/chatterbox-mtl-text \\
      ../shared/oracle-mtl/fixtures/mtl_tokenizer.json [CORPUS.txt ...]

CORPUS defaults to what a Debian 12 system carries in Japanese: the vim tutor
(/usr/share/vim/vim90/tutor/tutor.ja.utf-8), the gnupg help text and the Japanese manual pages
(/usr/share/man/ja, roff request lines dropped): real prose. Sentences are cut at 。！？ and kept when they contain kanji. The
reference side is re-implemented here from the reference's description (punc_norm, str.lower,
NFKD, pykakasi chunks: kanji chunk -> hiragana with a space before は/へ, others kept, NFKD); the
port side is the chatterbox-mtl-text tool (the C++ code). The tokenizer is grapheme-level, so
differing code points of the language-step output stand for differing tokens.
"""
import difflib
import glob
import gzip
import re
import subprocess
import sys
import unicodedata

import pykakasi

DEFAULT_CORPUS = (["/usr/share/vim/vim90/tutor/tutor.ja.utf-8", "/usr/share/gnupg/help.ja.txt"] +
                  sorted(glob.glob("/usr/share/man/ja/man*/*.gz")))

REPLACEMENTS = [("...", ", "), ("\u2026", ", "), (":", ","), (" - ", ", "), (";", ", "),
                ("\u2014", "-"), ("\u2013", "-"), (" ,", ","), ("\u201c", '"'), ("\u201d", '"'),
                ("\u2018", "'"), ("\u2019", "'")]
ENDERS = tuple(".!?-,\u3001\uff0c\u3002\uff1f\uff01")


def punc_norm(text):
    if not text:
        return "You need to add some text for me to talk."
    if text[0].islower():
        text = text[0].upper() + text[1:]
    text = " ".join(text.split())
    for old, new in REPLACEMENTS:
        text = text.replace(old, new)
    text = text.rstrip(" ")
    return text if text.endswith(ENDERS) else text + "."


def is_kanji(c):
    return 0x4E00 <= ord(c) <= 0x9FFF


def reference_step(kks, text):
    text = unicodedata.normalize("NFKD", punc_norm(text).lower())
    out = []
    for chunk in kks.convert(text):
        orig, hira = chunk["orig"], chunk["hira"]
        if any(is_kanji(c) for c in orig):
            out.append((" " + hira) if hira[:1] in ("は", "へ") else hira)
        else:
            out.append(orig)
    return unicodedata.normalize("NFKD", "".join(out))


def sentences(paths):
    seen, out = set(), []
    for path in paths:
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8", errors="replace") as f:
            for line in f:
                if path.endswith(".gz") and line.startswith((".", "'")):
                    continue  # roff requests
                for s in re.findall(r"[^。！？!?]+[。！？!?]?", line.strip()):
                    s = s.strip()
                    if any(is_kanji(c) for c in s) and s not in seen:
                        seen.add(s)
                        out.append(s)
    return out


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    tool, tokenizer = sys.argv[1], sys.argv[2]
    corpus = sentences(sys.argv[3:] or DEFAULT_CORPUS)
    ours = subprocess.run([tool, "ja", tokenizer], input="\n".join(corpus) + "\n", capture_output=True,
                          text=True, check=True).stdout.split("\n")[:len(corpus)]
    kks = pykakasi.kakasi()
    same, chars, diff_chars, examples = 0, 0, 0, []
    for sentence, port in zip(corpus, ours):
        ref = reference_step(kks, sentence)
        chars += len(ref)
        if port == ref:
            same += 1
            continue
        m = difflib.SequenceMatcher(a=ref, b=port, autojunk=False)
        diff_chars += sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in m.get_opcodes() if tag != "equal")
        if len(examples) < 12:
            examples.append((sentence, ref, port))
    n = len(corpus)
    print(f"sentences with kanji: {n}")
    print(f"identical language-step output: {same} ({100.0 * same / n:.1f}%)")
    print(f"differing code points: {diff_chars} of {chars} ({100.0 * diff_chars / chars:.2f}%)")
    for sentence, ref, port in examples:
        print(f"\n  text:      {sentence}\n  pykakasi:  {unicodedata.normalize('NFC', ref)}\n"
              f"  kakasi:    {unicodedata.normalize('NFC', port)}")


if __name__ == "__main__":
    main()
