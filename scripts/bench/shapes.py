"""The built-in random-weight shapes of `bertqa bench --model NAME`, for the PyTorch peers: the
same configuration, transformers' QA class of the family, and the inputs the family takes.

    model, inputs_of = shapes.load("roberta-base")   # or a checkpoint folder
"""
import torch
from transformers import (AlbertConfig, AutoModelForQuestionAnswering, BertConfig, DebertaV2Config, DistilBertConfig,
                          ElectraConfig, RobertaConfig, XLMRobertaConfig)

ROBERTA = dict(max_position_embeddings=514, type_vocab_size=1, layer_norm_eps=1e-5, pad_token_id=1, bos_token_id=0,
               eos_token_id=2)
SHAPES = {
    "bert-base": lambda: BertConfig(),
    "minilm-shape": lambda: BertConfig(hidden_size=384, num_hidden_layers=6, intermediate_size=1536),
    "roberta-base": lambda: RobertaConfig(vocab_size=50265, **ROBERTA),
    "xlm-roberta-base": lambda: XLMRobertaConfig(vocab_size=250002, **ROBERTA),
    "electra-base": lambda: ElectraConfig(vocab_size=30522, embedding_size=768, hidden_size=768, num_attention_heads=12,
                                          intermediate_size=3072),
    "distilbert-base": lambda: DistilBertConfig(),
    "albert-base": lambda: AlbertConfig(vocab_size=30000, embedding_size=128, hidden_size=768, num_attention_heads=12,
                                        intermediate_size=3072, hidden_act="gelu_new", hidden_dropout_prob=0,
                                        attention_probs_dropout_prob=0),
    "deberta-v3-base": lambda: DebertaV2Config(vocab_size=128100, relative_attention=True, position_buckets=256,
                                               max_relative_positions=-1, norm_rel_ebd="layer_norm", share_att_key=True,
                                               pos_att_type="p2c|c2p", layer_norm_eps=1e-7, position_biased_input=False,
                                               type_vocab_size=0, hidden_dropout_prob=0.1,
                                               attention_probs_dropout_prob=0.1),
}


def load(name):
    """The QA model of a shape (random weights, seed 0) or a folder, and a function making the
    keyword inputs of a batch for it: token types only where the family takes them."""
    torch.manual_seed(0)
    if name in SHAPES:
        model = AutoModelForQuestionAnswering.from_config(SHAPES[name]())
    else:
        model = AutoModelForQuestionAnswering.from_pretrained(name)
    cfg = model.config

    def inputs_of(ids, types, mask):
        kw = dict(input_ids=ids, attention_mask=mask)
        if cfg.model_type != "distilbert" and getattr(cfg, "type_vocab_size", 0) > 0:
            kw["token_type_ids"] = types if cfg.type_vocab_size > 1 else torch.zeros_like(types)
        return kw
    return model, inputs_of


def dims(cfg):
    """hidden, intermediate, layers under any family's names."""
    if cfg.model_type == "distilbert":
        return cfg.dim, cfg.hidden_dim, cfg.n_layers
    return cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers
