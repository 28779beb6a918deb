#!/usr/bin/env python3
"""Golden ids for the GPT-2 (Turbo) tokenizer unit test, from the real HF `tokenizers` library.

  python3 tests/unit/gen_gpt2_tokenizer_golden.py tests/unit/data/turbo_tokenizer TOKENIZER_JSON \\
      > tests/unit/data/gpt2_tokenizer_golden.json

tests/unit/data/turbo_tokenizer/ is a copy of the Turbo oracle's tiny GPT-2 tokenizer directory
(vocab.json, merges.txt, added_tokens.json, special_tokens_map.json, tokenizer_config.json: what
`AutoTokenizer.from_pretrained` reads); TOKENIZER_JSON is the same tokenizer serialised by
`tokenizers` (the oracle's fixtures/turbo_tokenizer.json). The script first checks that the two hold
the same vocabulary, merges and added tokens, then encodes a generated corpus (mixed scripts,
emoji, digits, whitespace runs, contractions, tags glued to words, a text over model_max_length)
and decodes random id lists. Needs `pip install tokenizers` (0.22.x, whose Oniguruma has
Unicode 16.0).
"""
import json
import os
import random
import sys

from tokenizers import Tokenizer

TEXTS = [
    "Hello world.",
    "hello world",
    "Hello   world",
    "  leading and trailing  ",
    " ",
    "  ",
    "\t",
    "",
    "x",
    "I don't know, I can't say, we've seen it, they'll go, I'm here, he'd, you're.",
    "DON'T SHOUT, IT'S LOUD, WE'VE, THEY'LL",
    "''s 'S 'st 'lll 're' 'v 'vex ' s '",
    "it's's''t 's",
    "rock'n'roll o'clock",
    "Numbers 3.14159 and 1234567890 and 1,000,000 and 42nd and 007.",
    "Fractions \u00bd \u00be, superscripts x\u00b2 y\u00b3, roman \u216b, Arabic-Indic \u0663\u0664\u0665.",
    "Call 555-0123 at 9,30 a.m.",
    "$3.50 \u2192 \u20ac4,25 (20%) #hashtag @user ~tilde~ `code` {braces} <angle>",
    "email, someone@example.com, url, https,//example.com/a?b=c&d=e#frag",
    "na\u00efve r\u00e9sum\u00e9 \u00e0 la fa\u00e7ade, Stra\u00dfe \u00d8re \u00c5ngstr\u00f6m",
    "Combining e\u0301 and a\u0308 and n\u0303 marks, stacked a\u0301\u0302\u0303.",
    "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440! \u039a\u03b1\u03bb\u03b7\u03bc\u03ad\u03c1\u03b1.",
    "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645 \u05e9\u05dc\u05d5\u05dd \u0939\u093f\u0928\u094d\u0926\u0940",
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3002\u4f60\u597d\uff0c\u4e16\u754c\u3002\ud55c\uad6d\uc5b4 \ubb38\uc7a5",
    "emoji \U0001F600\U0001F44D\U0001F3FD family \U0001F468\u200d\U0001F469\u200d\U0001F467 flag \U0001F1EB\U0001F1F7",
    "tabs\tand\u00a0nbsp\u3000ideographic\u2003em\u2028line\u2029para\u0085nel space",
    "a\x1cb\x1dc\x1ed\x1fe",
    "multi\nline\n\ntext\r\nwith CRLF",
    "spaces    before\tand \t mixed \n runs",
    "word  \u00a0word",
    "New letters (Unicode 16) \u1c89\u1c8a and Kawi \U00011F04\U00011F05 and Garay digits \U00010D40\U00010D41.",
    "Unassigned \U000E0080 private \ue000 noncharacter \ufdd0 replacement \ufffd BOM \ufeff.",
    "zero\u200bwidth\u200cnon\u200djoiner\u2060word",
    "[laugh]",
    "hi [laugh] there",
    "hi[laugh]there",
    "[Laugh] [LAUGH] [ laugh] [laugh ] [la ugh]",
    "[clear throat] excuse me",
    "[clear  throat] [clear\tthroat] [clearthroat]",
    "[sigh][gasp] two tags",
    "[laugh][laugh][laugh]",
    "[chuckle",
    "chuckle] [[laugh]] [[sigh]",
    "Oh, that's hilarious! [chuckle] Um anyway",
    "<|endoftext|> literal",
    "a<|endoftext|>b<|endoftext|><|endoftext|>c",
    "<|endoftext|>[sigh]<|endoftext|>",
    "<|endoftext|",
    "<|ENDOFTEXT|> <| endoftext |>",
    "don't[laugh]'s [cough]'ll",
    "!!!??? ... ,,, ;;; --- ''' \"\"\"",
    "UPPER lower MiXeD camelCase snake_case kebab-case",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "ththththththththththththththththththth",
    "The quick brown fox jumps over the lazy dog.",
]

ALPHABET = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    "          \t\n\u00a0\u3000\u2003"
    ".,;:!?'\"-_()[]<>|/\\@#$%&*+="
    "\u00e9\u00fc\u00df\u00f8\u0301\u0308\u00bd\u00b2\u0663"
    "\u0436\u03b1\u05e9\u0645\u0939\u094d\u6f22\u5b57\u3042\ud55c"
    "\U0001F600\U0001F3FD\u200d\u200b\u1c89\U00011F04"
)
WORDS = ["the", "there", "their", "thing", "nothing", "station", "price", "prices", "pronunciation",
         "Thank", "This", "Third", "fix", "eting", "'s", "'ll", "'re", "don't", "it's", "42", "3.5",
         "[laugh]", "[sigh]", "[clear throat]", "[cough]", "<|endoftext|>", "caf\u00e9", "\U0001F600",
         "\u65e5\u672c", "  ", "\t", "\n"]


def byte_char(b):
    """GPT-2's bytes_to_unicode() for one byte."""
    printable = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    if b in printable:
        return chr(b)
    return chr(256 + [x for x in range(256) if x not in printable].index(b))


def load_dir(path):
    def read(name):
        with open(os.path.join(path, name), encoding="utf-8") as f:
            return f.read()
    vocab = json.loads(read("vocab.json"))
    merges = [tuple(line.split(" ")) for line in read("merges.txt").split("\n")
              if line and not line.startswith("#version")]
    added = json.loads(read("added_tokens.json"))
    return vocab, merges, added


def check_same_tokenizer(tok, tok_json_path, directory):
    vocab, merges, added = load_dir(directory)
    with open(tok_json_path, encoding="utf-8") as f:
        j = json.load(f)
    assert j["model"]["vocab"] == vocab, "vocab.json differs from the tokenizer.json vocab"
    json_merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in j["model"]["merges"]]
    assert json_merges == merges, "merges.txt differs from the tokenizer.json merges"
    full = tok.get_vocab(with_added_tokens=True)
    for content, token_id in added.items():
        assert full.get(content) == token_id, content


def main():
    directory, tok_json_path = sys.argv[1], sys.argv[2]
    tok = Tokenizer.from_file(tok_json_path)
    check_same_tokenizer(tok, tok_json_path, directory)
    tok.no_truncation()

    rng = random.Random(11)
    texts = list(TEXTS)
    for _ in range(250):
        texts.append("".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 50))))
    for _ in range(150):
        texts.append(rng.choice(["", " "]).join(rng.choice(WORDS) for _ in range(rng.randint(1, 14))))
    # Over model_max_length (1024) tokens, to check the truncation.
    texts.append(" ".join(rng.choice(WORDS[:20]) for _ in range(900)))

    encode = [{"text": t, "ids": tok.encode(t).ids} for t in texts]
    vocab_size = tok.get_vocab_size(with_added_tokens=True)
    vocab = tok.get_vocab()

    def byte_ids(*values):
        return [vocab[byte_char(b)] for b in values]

    id_lists = [[], [999], [1000], [1000, 1001, 999], byte_ids(0xC3, 0xA9), byte_ids(0xC3),
                byte_ids(0xC3) + [1000] + byte_ids(0xA9),  # one character's bytes around an added token
                byte_ids(0xE6, 0xBC), byte_ids(0xF0, 0x9F, 0x98), byte_ids(0xF0, 0x9F, 0x98, 0x41),
                byte_ids(0xED, 0xA0, 0x80), byte_ids(0xC0, 0x80), byte_ids(0xF4, 0x90, 0x80, 0x80),
                byte_ids(0xE0, 0x80, 0x41), byte_ids(0xE0, 0xA0), byte_ids(0xFF, 0xFE, 0x20, 0xA9),
                byte_ids(0xE2, 0x82, 0xAC, 0xE2, 0x82)]
    for _ in range(150):
        id_lists.append([rng.randrange(vocab_size) for _ in range(rng.randint(1, 16))])
    decode = [{"ids": ids, "text": tok.decode(ids, skip_special_tokens=False),
               "text_skip_special": tok.decode(ids, skip_special_tokens=True)} for ids in id_lists]
    json.dump({"encode": encode, "decode": decode}, sys.stdout, ensure_ascii=False, indent=0)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
