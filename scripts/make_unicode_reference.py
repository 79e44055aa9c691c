#!/usr/bin/env python3
"""Records what Hugging Face `tokenizers` (BertNormalizer, BertPreTokenizer) does with every
Unicode code point, as a compact fixture for the Swift tokenizer's tests.

Run in a venv with `pip install tokenizers==0.22.2`:
    python scripts/make_unicode_reference.py > Tests/Fixtures/unicode-bert-reference.txt

Output lines:
    R <first> <last> <class>   a run of code points (hex) with the same class, where class is
                               two letters: D (dropped by clean_text) / W (becomes a space) /
                               K (kept), then P (isolated as punctuation by the pre-tokenizer) / N
    M <cp> <low+strip> <low> <strip>   code points where lowercase and/or strip_accents change
                               the character (space-separated hex scalars, '-' for empty)
"""
from tokenizers import normalizers, pre_tokenizers

clean = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=False, strip_accents=False, lowercase=False)
both = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=True, lowercase=True)
low = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=False, lowercase=True)
strip = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=True, lowercase=False)
pre = pre_tokenizers.BertPreTokenizer()


def hexes(s):
    return " ".join("%X" % ord(x) for x in s) if s else "-"


def classify(c):
    ch = chr(c)
    a = clean.normalize_str(ch)
    k = "D" if a == "" else ("W" if a == " " else "K")
    splits = pre.pre_tokenize_str("a" + ch + "a")
    p = "P" if len(splits) == 3 and splits[1][0] == ch else "N"
    return k + p


runs = []
maps = []
for c in range(0x110000):
    if 0xD800 <= c <= 0xDFFF:
        continue
    cls = classify(c)
    if runs and runs[-1][2] == cls and runs[-1][1] == c - 1:
        runs[-1][1] = c
    elif runs and runs[-1][2] == cls and runs[-1][1] == 0xD7FF and c == 0xE000:
        runs[-1][1] = c
    else:
        runs.append([c, c, cls])
    ch = chr(c)
    b, l, s = both.normalize_str(ch), low.normalize_str(ch), strip.normalize_str(ch)
    if b != ch or l != ch or s != ch:
        maps.append("M %X %s | %s | %s" % (c, hexes(b), hexes(l), hexes(s)))

for first, last, cls in runs:
    print("R %X %X %s" % (first, last, cls))
for m in maps:
    print(m)
