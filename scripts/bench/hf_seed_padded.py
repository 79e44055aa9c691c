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

    /work/venv/bin/python scripts/bench/hf_seed_padded.py train    [--shared ../shared]
    /work/venv/bin/python scripts/bench/hf_seed_padded.py evaluate [--shared ../shared] [--model DIR]
"""
import argparse
import json
import os
import resource
import time

import torch
from peer_features import load_squad, make_functions  # run_qa's feature functions, shared
from transformers import (AutoTokenizer, BertForQuestionAnswering, DataCollatorWithPadding, Trainer,
                          TrainingArguments)


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
        prepare_train, _ = make_functions(tok, padding=False)
        squad = load_squad(os.path.join(a.shared, "squad/train-v1.1.first44articles.json")).select(range(4000))
        data = squad.map(prepare_train, batched=True, remove_columns=squad.column_names)
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
        _, prepare_validation = make_functions(tok, padding=False)
        squad = load_squad(os.path.join(a.shared, "squad/dev-v1.1.json")).select(range(2000))
        enc = squad.map(prepare_validation, batched=True, remove_columns=squad.column_names)
        features = enc.to_list()
        windows = sorted(range(len(features)), key=lambda i: -len(features[i]["input_ids"]))
        model = BertForQuestionAnswering.from_pretrained(model_dir).eval()
        collate = DataCollatorWithPadding(tok)
        tokens = 0
        start = time.perf_counter()
        with torch.inference_mode():
            for b in range(0, len(windows), 32):
                batch = collate([{k: features[i][k] for k in ("input_ids", "token_type_ids", "attention_mask")}
                                 for i in windows[b:b + 32]])
                tokens += batch["input_ids"].numel()
                model(**batch)
        report("evaluate", time.perf_counter() - start, len(windows), tokens)


if __name__ == "__main__":
    main()
