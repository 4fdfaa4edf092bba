"""A small T5 built from scratch (random weights, a byte-level BPE tokenizer trained on the
training texts), for training Auto-UI where no pretrained T5 checkpoint is on disk.

A pretrained FLAN-T5 / FLAN-Alpaca base (`--base PATH`) is what the paper uses and learns far
faster; this exists so `guiagent train autoui` works offline out of the box.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import TypedDict

log = logging.getLogger(__name__)


class T5Size(TypedDict):
    d_model: int
    d_kv: int
    d_ff: int
    num_layers: int
    num_heads: int


SIZES: dict[str, T5Size] = {
    "tiny": {"d_model": 64, "d_kv": 16, "d_ff": 128, "num_layers": 2, "num_heads": 4},
    "small": {"d_model": 256, "d_kv": 32, "d_ff": 1024, "num_layers": 4, "num_heads": 8},
}


def build_scratch_t5(out: Path, texts: Iterable[str], size: str = "tiny", vocab_size: int = 1000,
                     seed: int = 0) -> Path:
    """Train a tokenizer on `texts`, build a random T5 of `size`, save both to `out`."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast, T5Config, T5ForConditionalGeneration

    if size not in SIZES:
        raise ValueError(f"unknown T5 size {size!r}; choose one of {', '.join(SIZES)}")
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<pad>", "</s>", "<unk>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(list(texts), trainer)
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    torch.manual_seed(seed)
    config = T5Config(vocab_size=len(fast), pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,  # type: ignore[call-arg]  # transformers' dataclass_transform hides the extra kwargs its configs accept
                      **SIZES[size])
    out.mkdir(parents=True, exist_ok=True)
    T5ForConditionalGeneration(config).save_pretrained(out)
    fast.save_pretrained(out)
    log.info("built a %s T5 from scratch in %s (vocab %d)", size, out, len(fast))
    return out
