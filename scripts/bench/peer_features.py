#!/usr/bin/env python3
"""Peer benchmark for `bertqa bench features`: HF `datasets.map` + `BertTokenizerFast`.

Builds the seed notebook's training features (prepare_train_features) for --train and run_qa's
evaluation features (prepare_validation_features) for --dev, padded to max_length as the seed
and run_qa do, and times the two `map` calls (loading excluded, best of --repeats).

    /work/venv/bin/python scripts/bench/peer_features.py --model ../shared/models/all-MiniLM-L6-v2 \
        --train ../shared/squad/train-v1.1.first44articles.json --dev ../shared/squad/dev-v1.1.json
"""
import argparse
import json
import os
import time

from datasets import Dataset, disable_caching, disable_progress_bars
from transformers import BertTokenizerFast

MAX_LENGTH, STRIDE = 384, 128


def load_squad(path):
    """Rows as HF's `squad` loading script yields them."""
    rows = {"id": [], "title": [], "context": [], "question": [], "answers": []}
    with open(path, encoding="utf-8") as f:
        for article in json.load(f)["data"]:
            for paragraph in article["paragraphs"]:
                for qa in paragraph["qas"]:
                    rows["id"].append(qa["id"])
                    rows["title"].append(article.get("title", ""))
                    rows["context"].append(paragraph["context"])
                    rows["question"].append(qa["question"])
                    rows["answers"].append({
                        "text": [a["text"] for a in qa["answers"]],
                        "answer_start": [a["answer_start"] for a in qa["answers"]],
                    })
    return Dataset.from_dict(rows)


def make_functions(tokenizer, padding="max_length"):
    """run_qa's prepare_train_features / prepare_validation_features; `padding=False` leaves each
    window at its own length (a collator pads per batch: `hf_seed_padded.py`)."""
    def prepare_train_features(examples):
        examples["question"] = [q.lstrip() for q in examples["question"]]
        tok = tokenizer(examples["question"], examples["context"], truncation="only_second",
                        max_length=MAX_LENGTH, stride=STRIDE, return_overflowing_tokens=True,
                        return_offsets_mapping=True, padding=padding)
        sample_mapping = tok.pop("overflow_to_sample_mapping")
        offset_mapping = tok.pop("offset_mapping")
        tok["start_positions"], tok["end_positions"] = [], []
        for i, offsets in enumerate(offset_mapping):
            input_ids = tok["input_ids"][i]
            cls_index = input_ids.index(tokenizer.cls_token_id)
            sequence_ids = tok.sequence_ids(i)
            answers = examples["answers"][sample_mapping[i]]
            if len(answers["answer_start"]) == 0:
                tok["start_positions"].append(cls_index)
                tok["end_positions"].append(cls_index)
                continue
            start_char = answers["answer_start"][0]
            end_char = start_char + len(answers["text"][0])
            token_start_index = 0
            while sequence_ids[token_start_index] != 1:
                token_start_index += 1
            token_end_index = len(input_ids) - 1
            while sequence_ids[token_end_index] != 1:
                token_end_index -= 1
            if not (offsets[token_start_index][0] <= start_char and offsets[token_end_index][1] >= end_char):
                tok["start_positions"].append(cls_index)
                tok["end_positions"].append(cls_index)
            else:
                while token_start_index < len(offsets) and offsets[token_start_index][0] <= start_char:
                    token_start_index += 1
                tok["start_positions"].append(token_start_index - 1)
                while offsets[token_end_index][1] >= end_char:
                    token_end_index -= 1
                tok["end_positions"].append(token_end_index + 1)
        return tok

    def prepare_validation_features(examples):
        examples["question"] = [q.lstrip() for q in examples["question"]]
        tok = tokenizer(examples["question"], examples["context"], truncation="only_second",
                        max_length=MAX_LENGTH, stride=STRIDE, return_overflowing_tokens=True,
                        return_offsets_mapping=True, padding=padding)
        sample_mapping = tok.pop("overflow_to_sample_mapping")
        tok["example_id"] = []
        for i in range(len(tok["input_ids"])):
            sequence_ids = tok.sequence_ids(i)
            tok["example_id"].append(examples["id"][sample_mapping[i]])
            tok["offset_mapping"][i] = [o if sequence_ids[k] == 1 else None
                                        for k, o in enumerate(tok["offset_mapping"][i])]
        return tok

    return prepare_train_features, prepare_validation_features


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--train", required=True)
    parser.add_argument("--dev", required=True)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    disable_caching()
    disable_progress_bars()

    start = time.perf_counter()
    tokenizer = BertTokenizerFast.from_pretrained(args.model)
    train, dev = load_squad(args.train), load_squad(args.dev)
    load_seconds = time.perf_counter() - start
    prepare_train, prepare_eval = make_functions(tokenizer)

    best = float("inf")
    for _ in range(args.repeats):
        start = time.perf_counter()
        train_features = train.map(prepare_train, batched=True, remove_columns=train.column_names)
        dev_features = dev.map(prepare_eval, batched=True, remove_columns=dev.column_names)
        best = min(best, time.perf_counter() - start)

    questions = len(train) + len(dev)
    features = len(train_features) + len(dev_features)
    result = {"questions": questions, "features": features, "train_features": len(train_features),
              "dev_features": len(dev_features), "cores": os.cpu_count(),
              "load_seconds": round(load_seconds, 3), "seconds": round(best, 3),
              "features_per_second": int(features / best)}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{questions} questions -> {features} features (train {len(train_features)}, "
              f"dev {len(dev_features)}) in {best:.3f} s, {features / best:.0f} features/s (best of {args.repeats})")


if __name__ == "__main__":
    main()
