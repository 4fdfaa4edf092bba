"""Builders for tiny, random, offline transformers checkpoints (no hub here).

Each builder trains a small byte-level BPE tokenizer on the fly (`tokenizers`), builds a
model from a tiny config, and `save_pretrained`s both into `path`; callers reload them
through the REAL `from_pretrained` path. Weights are random: generated text is garbage, but
every shape, file and code path is the real one. Each build takes well under a second once
transformers is imported.

API (import as `from tiny_models import ...`; pytest puts tests/ on sys.path: pythonpath in pyproject.toml):
    build_tiny_qwen2_vl(path, *, variant="qwen2_vl"|"qwen2_5_vl", max_pixels=28*28*64,
                        legacy_layout=False, seed=0) -> Path
        A Qwen2-VL (or Qwen2.5-VL) checkpoint with a torchvision-free processor
        (grounding.models.hf_vlm.GuiVlProcessor). `legacy_layout=True` writes the transformers-4
        layout real hub checkpoints have (preprocessor_config.json + chat_template.json,
        no processor_config.json). `max_pixels` keeps the image token count small.
    build_tiny_t5(path, *, seed=0) -> Path
        A T5ForConditionalGeneration (encoder-decoder, d_model 32) with pad=0, eos=1, unk=2
        (T5's ids), decoder_start_token_id=0; load with AutoTokenizer +
        T5ForConditionalGeneration / AutoModelForSeq2SeqLM.
    train_bpe_tokenizer(corpus, special_tokens, vocab_size=400) -> tokenizers.Tokenizer
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

QWEN_SPECIAL_TOKENS = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
    "<|image_pad|>", "<|video_pad|>", "<|box_start|>", "<|box_end|>", "<|object_ref_start|>",
    "<|object_ref_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_pad|>",
]

# The Qwen2-VL chat template, trimmed (no default system prompt): images become
# <|vision_start|><|image_pad|><|vision_end|>, which the processor expands per image.
QWEN_CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for c in message['content'] %}"
    "{% if c['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

_CORPUS = [
    "You are a helpful assistant. Output the coordinates of the element on the screen.",
    "click the Submit button at (120, 340) <|box_start|>(100,200),(300,400)<|box_end|>",
    "[0.49, 0.42] click(start_box='(512,384)') {\"bbox_2d\": [10, 20, 30, 40]}",
    "Previous Actions: Goal: open settings and turn on wifi Action Plan: [DUAL_POINT, TYPE, PRESS_BACK]",
    'Action Decision: "action_type": "DUAL_POINT", "touch_point": "[0.5, 0.3]", "lift_point": "[0.5, 0.3]", '
    '"typed_text": ""',
    "0123456789 .,;:()[]{}'\"<>/=+-_ abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ",
]


def train_bpe_tokenizer(corpus: Iterable[str], special_tokens: list[str], vocab_size: int = 400) -> Any:
    """A byte-level BPE tokenizer (any text encodes; special tokens get the first ids)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=special_tokens,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(corpus) * 4, trainer)
    return tok


def build_tiny_qwen2_vl(
    path: str | Path,
    *,
    variant: str = "qwen2_vl",
    max_pixels: int = 28 * 28 * 64,
    min_pixels: int = 28 * 28 * 4,
    legacy_layout: bool = False,
    seed: int = 0,
) -> Path:
    import torch
    from transformers import PreTrainedTokenizerFast
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    from grounding.models.hf_vlm import processor_class

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=train_bpe_tokenizer(_CORPUS, QWEN_SPECIAL_TOKENS),
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        chat_template=QWEN_CHAT_TEMPLATE,
    )
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in QWEN_SPECIAL_TOKENS}
    text_config: dict[str, Any] = {
        "vocab_size": len(tokenizer),
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "num_key_value_heads": 1,
        "max_position_embeddings": 4096,
        # head_dim 16 -> 8 rotary frequencies split over (t, h, w)
        "rope_parameters": {"rope_type": "default", "mrope_section": [2, 3, 3], "rope_theta": 10000.0},
        "bos_token_id": ids["<|endoftext|>"],
        "eos_token_id": ids["<|im_end|>"],
        "pad_token_id": ids["<|endoftext|>"],
    }
    token_ids = {
        "image_token_id": ids["<|image_pad|>"],
        "video_token_id": ids["<|video_pad|>"],
        "vision_start_token_id": ids["<|vision_start|>"],
        "vision_end_token_id": ids["<|vision_end|>"],
    }
    torch.manual_seed(seed)
    if variant == "qwen2_vl":
        from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

        vision = {"depth": 1, "embed_dim": 32, "hidden_size": 32, "num_heads": 2, "mlp_ratio": 2}
        config: Any = Qwen2VLConfig(text_config=text_config, vision_config=vision, **token_ids)
        model: Any = Qwen2VLForConditionalGeneration(config)
    elif variant == "qwen2_5_vl":
        from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

        vision = {
            "depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2, "out_hidden_size": 32,
            "window_size": 56, "fullatt_block_indexes": [1],
        }
        config = Qwen2_5_VLConfig(text_config=text_config, vision_config=vision, **token_ids)
        model = Qwen2_5_VLForConditionalGeneration(config)
    else:
        raise ValueError(f"unknown variant {variant!r}; use qwen2_vl or qwen2_5_vl")
    model.save_pretrained(str(path))
    image_processor = Qwen2VLImageProcessorPil(min_pixels=min_pixels, max_pixels=max_pixels)
    if legacy_layout:
        # What transformers-4 hub checkpoints look like: no processor_config.json.
        image_processor.save_pretrained(str(path))
        tokenizer.save_pretrained(str(path))
        (path / "chat_template.jinja").unlink(missing_ok=True)
        (path / "chat_template.json").write_text(json.dumps({"chat_template": QWEN_CHAT_TEMPLATE}))
    else:
        processor_class()(image_processor, tokenizer, chat_template=QWEN_CHAT_TEMPLATE).save_pretrained(str(path))
    return path


def build_tiny_t5(path: str | Path, *, seed: int = 0) -> Path:
    import torch
    from transformers import PreTrainedTokenizerFast, T5Config, T5ForConditionalGeneration

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=train_bpe_tokenizer(_CORPUS, ["<pad>", "</s>", "<unk>"]),
        pad_token="<pad>",
        eos_token="</s>",
        unk_token="<unk>",
    )
    from tokenizers import processors

    # T5 appends </s> to every encoded sequence.
    tokenizer.backend_tokenizer.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", 1)]
    )
    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=32,
        d_kv=8,
        d_ff=64,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=4,
        relative_attention_num_buckets=8,
        dropout_rate=0.0,
        initializer_factor=5.0,  # at 1.0 a random tiny T5 emits only <pad>; 5.0 gives varied tokens
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
    )
    torch.manual_seed(seed)
    T5ForConditionalGeneration(config).save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
    return path
