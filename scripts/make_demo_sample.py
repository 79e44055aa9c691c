#!/usr/bin/env python3
"""Builds the SQuAD v1.1 sample that `bertqa demo` trains and evaluates on.

    python3 scripts/make_demo_sample.py ../shared/squad Sources/bertqa/Resources

Train: the first 12 questions of each of the 44 articles of train-v1.1.first44articles.json;
dev: the first 5 questions of each of the 48 articles of dev-v1.1.json. SQuAD is
CC BY-SA 4.0 (Rajpurkar et al., 2016); see Sources/bertqa/Resources/SQUAD-LICENSE.txt.
"""
import json
import os
import sys

src, dst = sys.argv[1], sys.argv[2]


def sample(path, per_article):
    data = json.load(open(path, encoding="utf-8"))
    out = {"version": "1.1", "data": []}
    for article in data["data"]:
        taken, paragraphs = 0, []
        for p in article["paragraphs"]:
            if taken >= per_article:
                break
            qas = p["qas"][: per_article - taken]
            taken += len(qas)
            paragraphs.append({"context": p["context"], "qas": qas})
        out["data"].append({"title": article["title"], "paragraphs": paragraphs})
    return out


for name, path, n in [("demo-train.json", "train-v1.1.first44articles.json", 12), ("demo-dev.json", "dev-v1.1.json", 5)]:
    s = sample(os.path.join(src, path), n)
    with open(os.path.join(dst, name), "w", encoding="utf-8") as f:
        json.dump(s, f, ensure_ascii=False)
    print(name, sum(len(p["qas"]) for a in s["data"] for p in a["paragraphs"]), "questions")
