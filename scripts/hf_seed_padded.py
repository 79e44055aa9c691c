#!/usr/bin/env python3
"""The Hugging Face peer at equal padding (issue 7: "HF with dynamic padding is the fairer peer
for the engine itself"): the seed's training data and hyperparameters, but every batch padded to
its longest window as bertqa does by default, not to 384.

  train     HF Trainer, one epoch over the windows of the first 4,000 train questions (4,082),
            batch 16, lr 3e-5 linear, weight decay 0.01, clipping 1.0, seed 42,
            `group_by_length=True` (length-grouped batches, like bertqa's default) and
            `DataCollatorWithPadding` (pad to the batch's longest). No evaluation, no saving.
  evaluate  the forward passes of the windows of the first 2,000 dev questions (2,023) in eval
            mode under `torch.inference_mode()`, windows sorted by length (bertqa's evaluate
            groups them too), batch 32, each batch padded to its longest: the model's share of an
            evaluation only (no tokenization, no answer decoding; bertqa's `evaluate` wall time
            includes both, so comparing the two favours HF).

Prints one JSON object per part: wall seconds, windows/s, the padded tokens processed and the
peak RSS. Dev tool (CI never runs Python); the venv of BENCHMARKS.md, plus `datasets` and
`accelerate>=0.26` (HF's Trainer needs it):

    /work/venv/bin/python scripts/hf_seed_padded.py train    [--shared ../shared]
    /work/venv/bin/python scripts/hf_seed_padded.py evaluate [--shared ../shared] [--model DIR]
"""
import argparse
import json
import os
import resource
import time

import torch
from datasets import Dataset
from transformers import (AutoTokenizer, BertForQuestionAnswering, DataCollatorWithPadding, Trainer,
                          TrainingArguments)


def questions(path, limit):
    """The first `limit` questions of a SQuAD file, in file order (as `--max-train-samples`)."""
    rows = []
    for article in json.load(open(path))["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                rows.append({"id": qa["id"], "question": qa["question"], "context": paragraph["context"],
                             "answers": {"text": [a["text"] for a in qa["answers"]],
                                         "answer_start": [a["answer_start"] for a in qa["answers"]]}})
    return rows[:limit]


def train_features(tok, rows):
    """run_qa.py's prepare_train_features, without padding (the collator pads per batch)."""
    enc = tok([r["question"].lstrip() for r in rows], [r["context"] for r in rows], truncation="only_second",
              max_length=384, stride=128, return_overflowing_tokens=True, return_offsets_mapping=True)
    starts, ends = [], []
    for i, offsets in enumerate(enc["offset_mapping"]):
        ids = enc["input_ids"][i]
        cls = ids.index(tok.cls_token_id)
        seq = enc.sequence_ids(i)
        answers = rows[enc["overflow_to_sample_mapping"][i]]["answers"]
        s_char = answers["answer_start"][0]
        e_char = s_char + len(answers["text"][0])
        ts = 0
        while seq[ts] != 1:
            ts += 1
        te = len(ids) - 1
        while seq[te] != 1:
            te -= 1
        if not (offsets[ts][0] <= s_char and offsets[te][1] >= e_char):
            starts.append(cls); ends.append(cls)
        else:
            while ts < len(offsets) and offsets[ts][0] <= s_char:
                ts += 1
            starts.append(ts - 1)
            while offsets[te][1] >= e_char:
                te -= 1
            ends.append(te + 1)
    return Dataset.from_dict({"input_ids": enc["input_ids"], "token_type_ids": enc["token_type_ids"],
                              "attention_mask": enc["attention_mask"], "start_positions": starts,
                              "end_positions": ends})


class CountingCollator(DataCollatorWithPadding):
    """Pads to the batch's longest and counts the padded tokens the model sees."""
    tokens = 0

    def __call__(self, features):
        batch = super().__call__(features)
        CountingCollator.tokens += batch["input_ids"].numel()
        return batch


def report(part, seconds, windows, tokens, **extra):
    print(json.dumps({"part": part, "seconds": round(seconds, 1), "windows": windows,
                      "windows_per_second": round(windows / seconds, 2), "padded_tokens": tokens,
                      "mean_padded_length": round(tokens / windows, 1),
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
                      "torch": torch.__version__, "threads": torch.get_num_threads(), **extra}), flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("part", choices=["train", "evaluate"])
    p.add_argument("--shared", default="../shared")
    p.add_argument("--model", help="default: the shared all-MiniLM-L6-v2")
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    model_dir = a.model or os.path.join(a.shared, "models/all-MiniLM-L6-v2")
    tok = AutoTokenizer.from_pretrained(model_dir)
    if a.part == "train":
        data = train_features(tok, questions(os.path.join(a.shared, "squad/train-v1.1.first44articles.json"), 4000))
        args = TrainingArguments(output_dir="/tmp/hf_seed_padded", per_device_train_batch_size=16, num_train_epochs=1,
                                 learning_rate=3e-5, weight_decay=0.01, max_grad_norm=1.0, seed=42,
                                 group_by_length=True, eval_strategy="no", save_strategy="no", logging_steps=50,
                                 report_to=[], dataloader_num_workers=0, use_cpu=True, disable_tqdm=True)
        model = BertForQuestionAnswering.from_pretrained(model_dir)
        trainer = Trainer(model=model, args=args, train_dataset=data, data_collator=CountingCollator(tok))
        start = time.perf_counter()
        trainer.train()
        report("train", time.perf_counter() - start, len(data), CountingCollator.tokens,
               steps=trainer.state.global_step)
    else:
        rows = questions(os.path.join(a.shared, "squad/dev-v1.1.json"), 2000)
        enc = tok([r["question"].lstrip() for r in rows], [r["context"] for r in rows], truncation="only_second",
                  max_length=384, stride=128, return_overflowing_tokens=True)
        windows = sorted(range(len(enc["input_ids"])), key=lambda i: -len(enc["input_ids"][i]))
        model = BertForQuestionAnswering.from_pretrained(model_dir).eval()
        collate = DataCollatorWithPadding(tok)
        tokens = 0
        start = time.perf_counter()
        with torch.inference_mode():
            for b in range(0, len(windows), 32):
                batch = collate([{k: enc[k][i] for k in ("input_ids", "token_type_ids", "attention_mask")}
                                 for i in windows[b:b + 32]])
                tokens += batch["input_ids"].numel()
                model(**batch)
        report("evaluate", time.perf_counter() - start, len(windows), tokens)


if __name__ == "__main__":
    main()
