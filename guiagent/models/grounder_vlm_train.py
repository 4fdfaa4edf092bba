"""LoRA fine-tuning of a Qwen2-VL-family grounder on ScreenSpot-format data (`train grounder --backend vlm`).

Each record {img_filename, instruction, bbox [x, y, w, h] px, data_type} becomes one chat sample:
the family's own grounding prompt (assets/prompts/grounding_<family>.txt, as `VlmGrounder` sends
it) with the screenshot, and as the answer the target in the family's shape and scale
(grounding.answer_format: ShowUI `[x, y]` 0..1, UI-TARS `(x,y)` 0..1000, OS-Atlas / Qwen2-VL box
tokens 0..1000, Qwen2.5-VL-based checkpoints JSON in pixels of the image the model sees). Only the
answer tokens are scored. Only LoRA weights of the language model train (peft); the vision tower
and the base weights stay frozen.

Output: OUT/adapter (a peft adapter + guiagent_grounder.json naming the family and base), loaded by
`--grounder vlm --grounder-opt model_path=BASE --grounder-opt adapter=OUT/adapter
--grounder-opt family=F`; with `merge=True` also OUT/merged, a full checkpoint (model_path=OUT/merged).

Tested here on tiny random checkpoints only (tests/unit/test_grounder_vlm_train.py); no real
ShowUI / UI-TARS / OS-Atlas checkpoint was fine-tuned in this repository.
torch, transformers and peft are imported inside functions.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grounding.answer_format import Box, grounding_answer
from grounding.coord_parse import CoordFormat
from grounding.vlm import FAMILIES, PromptTemplate, clean_description, family_coord_format
from guiagent.schema import Point
from guiagent.schema.errors import ConfigError, ModelError

DEFAULT_FAMILY = "qwen2vl"
# LoRA on the language model's attention and MLP projections; the vision tower (`visual.*`,
# whose layers are named qkv / proj / fc1 / fc2) is left alone.
LORA_TARGETS = r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"
META_FILE = "guiagent_grounder.json"

StepCallback = Callable[[int, int, float], None]  # (steps done, total steps, loss)


@dataclass(frozen=True)
class GroundingSample:
    image: Path
    instruction: str
    point: Point  # the box centre, normalized
    box: Box  # normalized (x1, y1, x2, y2)


@dataclass
class VlmTrainReport:
    samples: int
    steps: int
    epochs: int
    family: str
    coord_format: str
    first_loss: float
    last_loss: float
    seconds: float
    trainable_params: int
    total_params: int
    adapter_dir: Path
    merged_dir: Path | None = None
    losses: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "samples": self.samples, "optimizer steps": self.steps, "epochs": self.epochs,
            "family": self.family, "coordinates": self.coord_format,
            "loss first -> last": f"{self.first_loss:.4f} -> {self.last_loss:.4f}",
            "trainable params": f"{self.trainable_params:,} of {self.total_params:,}",
            "seconds": round(self.seconds, 1), "adapter": str(self.adapter_dir),
            "merged": str(self.merged_dir) if self.merged_dir else "-",
        }


def _records_of(path: Path) -> tuple[list[dict[str, Any]], Path]:
    from guiagent.eval.grounding_eval import load_set
    from guiagent.explore.collector import LOG_FILE, SET_FILE, load_records

    if path.is_dir() and ((path / SET_FILE).is_file() or (path / LOG_FILE).is_file()):
        return load_records(path), path / "images"  # an exploration folder (guiagent explore)
    if path.suffix != ".jsonl":
        return load_set(path)
    records = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{i + 1} is not valid JSON: {exc}") from exc
    well_formed = all(isinstance(r, dict) and {"img_filename", "instruction", "bbox"} <= r.keys() for r in records)
    if not well_formed:
        raise ConfigError(f"{path}: every line needs img_filename, instruction, bbox [x, y, w, h]")
    folder = path.parent / "images" if (path.parent / "images").is_dir() else path.parent
    return records, folder


def load_samples(data: Sequence[Path]) -> list[GroundingSample]:
    """The records of ScreenSpot-format sets (exploration folders, .json or .jsonl files) as samples."""
    from PIL import Image

    samples: list[GroundingSample] = []
    sizes: dict[Path, tuple[int, int]] = {}
    for src in data:
        records, folder = _records_of(Path(src))
        for r in records:
            image = folder / r["img_filename"]
            if image not in sizes:
                if not image.is_file():
                    raise ConfigError(f"image {image} of {src} is missing")
                with Image.open(image) as img:
                    sizes[image] = img.size
            w, h = sizes[image]
            bx, by, bw, bh = (float(v) for v in r["bbox"])
            if bw <= 0 or bh <= 0:
                raise ConfigError(f"{src}: {r['img_filename']} has an empty bbox {r['bbox']}")
            x1, y1 = max(bx / w, 0.0), max(by / h, 0.0)
            x2, y2 = min((bx + bw) / w, 1.0), min((by + bh) / h, 1.0)
            samples.append(GroundingSample(image, str(r["instruction"]), Point(x=(x1 + x2) / 2, y=(y1 + y2) / 2),
                                           (x1, y1, x2, y2)))
    if not samples:
        raise ConfigError(f"no grounding records in {', '.join(map(str, data))}")
    return samples


def encode_sample(processor: Any, template: PromptTemplate, family: str, fmt: CoordFormat,
                  sample: GroundingSample) -> tuple[dict[str, Any], str]:
    """Model inputs with labels (prompt tokens masked to -100) and the answer text."""
    from PIL import Image

    from grounding.models.hf_vlm import hf_messages, seen_size

    with Image.open(sample.image) as raw:
        img = raw.convert("RGB")
    answer = grounding_answer(family, sample.point, fmt, seen_size(processor, img.size), sample.box)
    chat, images = hf_messages(template.messages(clean_description(sample.instruction), img))
    prompt = processor.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
    import torch

    tok = processor.tokenizer
    # The chat turn ends with <|im_end|> in Qwen's template; that is where generation must stop.
    end = "<|im_end|>" if "<|im_end|>" in tok.get_vocab() else tok.eos_token
    inputs = dict(processor(text=[prompt], images=images, return_tensors="pt"))
    prompt_ids = inputs["input_ids"]
    # The answer's ids appended to the prompt's (not the two texts tokenized together), so no merge
    # across the boundary moves where the answer starts.
    answer_ids = tok(answer + end, add_special_tokens=False, return_tensors="pt")["input_ids"]
    for key, value in inputs.items():  # per-token fields (attention mask, token types) grow with the ids
        if isinstance(value, torch.Tensor) and value.shape == prompt_ids.shape and key != "input_ids":
            fill = torch.ones_like(answer_ids) if key == "attention_mask" else torch.zeros_like(answer_ids)
            inputs[key] = torch.cat([value, fill.to(value.dtype)], dim=1)
    inputs["input_ids"] = torch.cat([prompt_ids, answer_ids], dim=1)
    inputs["labels"] = torch.cat([torch.full_like(prompt_ids, -100), answer_ids], dim=1)
    return inputs, answer


def train_vlm_grounder(
    data: Sequence[Path],
    out: Path,
    *,
    base: Path,
    family: str | None = None,
    epochs: int = 1,
    lr: float = 2e-4,
    batch_size: int = 1,
    max_steps: int | None = None,
    seed: int = 0,
    lora_rank: int = 8,
    lora_alpha: int | None = None,
    lora_dropout: float = 0.0,
    max_pixels: int | None = None,
    merge: bool = False,
    device: str = "cpu",
    on_step: StepCallback | None = None,
) -> VlmTrainReport:
    """LoRA SFT of the checkpoint `base` on `data`; writes OUT/adapter (and OUT/merged when `merge`).

    `batch_size` samples are accumulated per optimizer step (one forward pass per sample: screenshots
    differ in size, so the image tokens do not pad into one batch)."""
    import torch
    from transformers import AutoConfig, AutoModelForImageTextToText

    from grounding.models.hf_vlm import SUPPORTED_MODEL_TYPES, load_processor

    family = family or DEFAULT_FAMILY
    if family not in FAMILIES or not FAMILIES[family].qwen_vision:
        names = ", ".join(k for k, f in FAMILIES.items() if f.qwen_vision)
        raise ConfigError(f"--family {family!r} is not a Qwen2-VL-family grounder; choose one of: {names}")
    if epochs < 1 or batch_size < 1 or lora_rank < 1 or (max_steps is not None and max_steps < 1):
        raise ConfigError("epochs, batch size, LoRA rank and max steps must be at least 1")
    if not lr > 0:
        raise ConfigError("the learning rate must be positive")
    base = Path(base).expanduser()
    if not (base / "config.json").is_file():
        raise ConfigError(f"--base {base} is not a checkpoint directory (no config.json)")
    model_type = str(AutoConfig.from_pretrained(str(base)).model_type)
    if model_type not in SUPPORTED_MODEL_TYPES:
        raise ConfigError(f"--base {base} is a {model_type!r} model; LoRA training runs "
                          f"{', '.join(SUPPORTED_MODEL_TYPES)} checkpoints")
    samples = load_samples(data)
    fmt = family_coord_format(family, model_type)
    template = PromptTemplate.load(family)
    start = time.perf_counter()
    torch.manual_seed(seed)
    processor = load_processor(base, max_pixels=max_pixels)
    encoded = [encode_sample(processor, template, family, fmt, s)[0] for s in samples]
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    model = AutoModelForImageTextToText.from_pretrained(str(base), dtype=dtype)
    model.to(device)  # type: ignore[arg-type]  # transformers types `to` as taking the model first
    peft_model = _with_lora(model, lora_rank, lora_alpha or 2 * lora_rank, lora_dropout)
    trainable = [p for p in peft_model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=lr, weight_decay=0.0)
    per_epoch = math.ceil(len(encoded) / batch_size)
    total = per_epoch * epochs if max_steps is None else min(per_epoch * epochs, max_steps)
    rng = random.Random(seed)
    losses: list[float] = []
    peft_model.train()
    step = 0
    while step < total:
        order = list(range(len(encoded)))
        rng.shuffle(order)
        for k in range(0, len(order), batch_size):
            if step >= total:
                break
            batch = order[k:k + batch_size]
            optimizer.zero_grad()
            step_loss = 0.0
            for i in batch:
                loss = peft_model(**{n: t.to(device) for n, t in encoded[i].items()}).loss / len(batch)
                if not torch.isfinite(loss):
                    raise ModelError(f"the training loss became {loss.item()} at step {step + 1}; lower --lr")
                loss.backward()
                step_loss += float(loss.item())
            optimizer.step()
            step += 1
            losses.append(step_loss)
            if on_step is not None:
                on_step(step, total, step_loss)
    peft_model.eval()
    adapter_dir, merged_dir = _save(peft_model, processor, out, merge=merge,
                                    meta={"family": family, "coord_format": fmt, "base": str(base.resolve())})
    return VlmTrainReport(
        samples=len(samples), steps=step, epochs=math.ceil(step / per_epoch), family=family, coord_format=fmt,
        first_loss=losses[0], last_loss=losses[-1], seconds=time.perf_counter() - start,
        trainable_params=sum(p.numel() for p in trainable), total_params=sum(p.numel() for p in model.parameters()),
        adapter_dir=adapter_dir, merged_dir=merged_dir, losses=losses,
    )


def _with_lora(model: Any, rank: int, alpha: int, dropout: float) -> Any:
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError as exc:
        raise ConfigError("--backend vlm needs peft: pip install peft") from exc
    config = LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=dropout, target_modules=LORA_TARGETS, bias="none")
    return get_peft_model(model, config)


def _save(peft_model: Any, processor: Any, out: Path, *, merge: bool, meta: dict[str, str]) -> tuple[Path, Path | None]:
    adapter_dir = out / "adapter"
    adapter_dir.mkdir(parents=True, exist_ok=True)
    peft_model.save_pretrained(str(adapter_dir))
    (adapter_dir / META_FILE).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    if not merge:
        return adapter_dir, None
    merged_dir = out / "merged"
    merged = peft_model.merge_and_unload()
    merged.save_pretrained(str(merged_dir))
    processor.save_pretrained(str(merged_dir))
    (merged_dir / META_FILE).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return adapter_dir, merged_dir
