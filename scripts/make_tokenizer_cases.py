#!/usr/bin/env python3
"""Expected outputs of Hugging Face BertTokenizerFast for the tokenizer's edge-case tests.

    pip install 'transformers==4.57.6' 'tokenizers==0.22.2'
    python scripts/make_tokenizer_cases.py ../shared/models/all-MiniLM-L6-v2 > Tests/Fixtures/tokenizer-cases.jsonl
"""
import json
import sys

from transformers import BertTokenizerFast

tok = BertTokenizerFast.from_pretrained(sys.argv[1])

texts = [
    "", " ", "   \t\n  ", "\u00a0\u3000\u2003",
    "Hello, world!", "naïve café résumé", "nai\u0308ve cafe\u0301", "ÀÉÎÕÜ Ångström Œuvre Straße İstanbul",
    "北京大学 is in 北京.", "日本語のテキスト", "한국어 텍스트", "emoji 😀 and 🇫🇷 flags 👍🏽!",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math 𝐁𝐨𝐥𝐝", "tab\there\nnewline\rcr", "ctrl\u0001\u0002\u0007x\u007f\u0085y",
    "nul\u0000byte", "replacement\ufffdchar", "zero\u200bwidth\u200djoiner\ufeffbom",
    "nbsp\u00a0ideographic\u3000em\u2003space", "a" * 100, "b" * 101, "x" + "é" * 100,
    "supercalifragilisticexpialidocious", "unaffable", "[CLS] literal [SEP] and [MASK] and [cls]",
    "$100 + 5% = ^_^ ~ {braces} <tags> `tick` @at #hash", "“Curly” ‘quotes’ — dash – en … ellipsis",
    "ﬁ ligature ﬀ", "Ⅻ roman numeral ½ fraction ² superscript", "ΣΊΣΥΦΟΣ Ελληνικά", "Привет, мир!",
    "مرحبا بالعالم", "שלום עולם", "हिन्दी भाषा", "ไทย ภาษา", "e\u0301\u0301\u0301 stacked",
    "\u0300leading combining", "Private\ue000use", "U.S.A. 3.14 1,000,000 co-op don't",
    "mixedCASE WordsWithCAPS", "x\u0085y\u2028z\u2029w", "🤖🦾 newer emoji 🥰 🫠",
]
for t in texts:
    enc = tok(t, return_offsets_mapping=True)
    print(json.dumps({"text": t, "input_ids": enc["input_ids"], "offsets": [list(o) for o in enc["offset_mapping"]],
                      "word_ids": enc.word_ids()}))

pairs = [
    ("Who?", "A short context.", 384, 128),
    ("What is the capital of France?", " ".join(["Paris is the capital and most populous city of France."] * 12), 64, 16),
    ("Q with émoji 😀?", "Ça va? " * 40, 32, 8),
    ("question", "", 16, 4),
    ("empty context fits", "x", 8, 2),
    ("exactly", "one two three four five six", 10, 1),
    ("a b c d e f g h i j", "context words here", 12, 2),
    ("a b c d e f g h i j", "context words here and more", 13, 0),
    ("long question " * 10, "some context that must be truncated here", 16, 2),
    ("short", "one two three four five six seven eight nine ten", 10, 5),
    ("short", "one two three four five six seven eight nine ten", 10, 4),
    ("short", "one two three four five six seven eight nine ten", 10, 6),
    ("short", "one two", 10, 9),
]
for q, c, m, s in pairs:
    try:
        enc = tok(q, c, truncation="only_second", max_length=m, stride=s,
                  return_overflowing_tokens=True, return_offsets_mapping=True)
        windows = []
        for i in range(len(enc["input_ids"])):
            windows.append({
                "input_ids": enc["input_ids"][i],
                "token_type_ids": enc["token_type_ids"][i],
                "offsets": [list(o) for o in enc["offset_mapping"][i]],
                "sequence_ids": enc.sequence_ids(i),
                "word_ids": enc.word_ids(i),
            })
        print(json.dumps({"question": q, "context": c, "max_length": m, "stride": s, "windows": windows}))
    except BaseException as e:  # HF rejects the setting
        print(json.dumps({"question": q, "context": c, "max_length": m, "stride": s, "error": type(e).__name__}))
