"""Fine-tune the embedded semantic matcher (all-MiniLM-L6-v2) on exploration data.

Each record of an exploration folder (`guiagent explore --out DIR`) becomes a contrastive
example: its instruction (literal, functional, positional or icon, see
`guiagent.explore.instructions`) against the description of its target element in its screen
(`grounding.element_text.describe`: role, name, neighbours, position), with the other targets
of the same screen as hard negatives. The loss is in-batch softmax over positives and hard
negatives (MultipleNegativesRankingLoss with hard negatives), written as a plain torch loop
so it runs on CPU in minutes without the trainer stack. The output is a SentenceTransformer
directory: `--grounder text --grounder-opt model=DIR`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from grounding.element_text import describe
from guiagent.explore.collector import load_records, load_screen
from guiagent.explore.instructions import is_target
from guiagent.schema import Element, Role
from guiagent.schema.errors import ConfigError, ModelError

HARD_NEGATIVES = 3  # per example, from the same screen
MAX_TOKENS = 64  # instructions and descriptions are short; shorter sequences train faster on CPU
SCALE = 20.0  # cosine -> logits, as sentence-transformers' MNRL


@dataclass(frozen=True)
class Pair:
    instruction: str
    positive: str
    negatives: tuple[str, ...]
    kind: str
    screen: str


@dataclass
class TextTrainReport:
    examples: int
    screens: int
    steps: int
    epochs: int
    first_loss: float
    last_loss: float
    seconds: float
    out: str

    def summary(self) -> dict[str, object]:
        d = asdict(self)
        d["first_loss"], d["last_loss"] = round(self.first_loss, 4), round(self.last_loss, 4)
        return {k.replace("_", " "): v for k, v in d.items()}


def hardest(instruction: str, target: Element, others: Sequence[Element]) -> list[Element]:
    """The `HARD_NEGATIVES` hardest other elements for an instruction: those it names ("the field
    below Email": the Email label or field is not the target), then those of the target's role
    (the other fields), then the rest in the given order."""
    said = " ".join(instruction.casefold().split())

    def named(e: Element) -> bool:
        name = " ".join((e.name or "").casefold().split())
        return len(name) >= 2 and name in said

    ordered = sorted(others, key=lambda e: (not named(e), e.role is not target.role))
    return ordered[:HARD_NEGATIVES]


def pairs_from(folder: Path, records: Sequence[dict[str, Any]], screens: set[str] | None = None,
               seed: int = 0) -> list[Pair]:
    """Contrastive examples from `records` of one exploration folder (only `screens` when given)."""
    rng = random.Random(seed)
    cache: dict[str, tuple[list[Element], tuple[int, int]] | None] = {}
    out: list[Pair] = []
    for r in records:
        sid = str(r.get("screen") or "")
        if not sid or (screens is not None and sid not in screens):
            continue
        if sid not in cache:
            cache[sid] = load_screen(folder, sid)
        loaded = cache[sid]
        if loaded is None:
            continue
        elements, size = loaded
        target = next((e for e in elements if e.id == r.get("element")), None)
        if target is None:
            continue
        others = [e for e in elements if e.id != target.id and e.bbox != target.bbox
                  and (is_target(e) or e.role is not Role.TEXT)]
        rng.shuffle(others)
        negs = tuple(describe(e, elements, size) for e in hardest(str(r["instruction"]), target, others))
        out.append(Pair(r["instruction"], describe(target, elements, size), negs,
                        str(r.get("instruction_kind") or "literal"), sid))
    return out


def load_pairs(data: Sequence[Path], seed: int = 0) -> list[Pair]:
    pairs: list[Pair] = []
    for path in data:
        folder = path if path.is_dir() else path.parent
        if not (folder / "screens").is_dir():
            raise ConfigError(f"{path}: not an exploration folder (no screens/): the text backend needs the "
                              "element lists `guiagent explore` writes")
        pairs.extend(pairs_from(folder, load_records(folder), seed=seed))
    if not pairs:
        raise ConfigError(f"no usable records in {', '.join(map(str, data))}")
    return pairs


def _trainable(path: str) -> Any:
    """A SentenceTransformer (torch) to train: the serving path may run the model in numpy."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # weight-loading bars are noise under our own progress bar
    try:
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()  # and the shard-writing one of save()
    except ImportError:
        pass
    try:
        return SentenceTransformer(path, device="cpu")
    except Exception as exc:  # any load failure is a model problem, said plainly
        raise ModelError(f"cannot load a sentence embedder to train from {path}: {exc}") from exc


def train_pairs(pairs: Sequence[Pair], out: Path, *, base: Path | None = None, epochs: int = 4, lr: float = 2e-5,
                batch_size: int = 16, max_steps: int | None = None, seed: int = 0,
                on_step: Callable[[int, int, float], None] | None = None) -> TextTrainReport:
    """Fine-tune from `base` (default the packaged MiniLM) on `pairs`; save to `out`."""
    import torch
    from torch.nn import functional

    from grounding import semantic

    if not pairs:
        raise ConfigError("nothing to train on")
    t0 = time.monotonic()
    torch.manual_seed(seed)
    rng = random.Random(seed)
    model = _trainable(str(base) if base else semantic.model_path())
    model.max_seq_length = MAX_TOKENS
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    per_epoch = (len(pairs) + batch_size - 1) // batch_size
    total = min(per_epoch * epochs, max_steps or per_epoch * epochs)
    step, first, last = 0, float("nan"), float("nan")

    def encode(texts: list[str]) -> Any:
        features = model.preprocess(texts)
        return functional.normalize(model(features)["sentence_embedding"], dim=-1)

    order = list(pairs)
    while step < total:
        rng.shuffle(order)
        for i in range(0, len(order), batch_size):
            if step >= total:
                break
            batch = order[i:i + batch_size]
            anchors = encode([p.instruction for p in batch])
            docs = [p.positive for p in batch] + [n for p in batch for n in p.negatives]
            cands = encode(docs)
            logits = SCALE * anchors @ cands.T
            # an in-batch "negative" equal to the positive (the same element twice) is not one
            same = torch.tensor([[d == p.positive for d in docs] for p in batch])
            labels = torch.arange(len(batch))
            mask = same & ~functional.one_hot(labels, len(docs)).bool()
            loss = functional.cross_entropy(logits.masked_fill(mask, -1e4), labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            last = float(loss.detach())
            first = last if step == 1 else first
            if on_step is not None:
                on_step(step, total, last)
    model.eval()
    out.mkdir(parents=True, exist_ok=True)
    try:
        model.save(str(out))
    except OSError as exc:
        raise ModelError(f"cannot save the model to {out}: {exc}") from exc
    screens = len({p.screen for p in pairs})
    return TextTrainReport(len(pairs), screens, step, epochs, first, last, round(time.monotonic() - t0, 1), str(out))


def train_text_grounder(data: Sequence[Path], out: Path, *, base: Path | None = None, epochs: int = 4,
                        lr: float = 2e-5, batch_size: int = 16, max_steps: int | None = None, seed: int = 0,
                        on_step: Callable[[int, int, float], None] | None = None) -> TextTrainReport:
    """`guiagent train grounder --backend text`: exploration folders -> a fine-tuned matcher."""
    pairs = load_pairs(data, seed)
    return train_pairs(pairs, out, base=base, epochs=epochs, lr=lr, batch_size=batch_size,
                       max_steps=max_steps, seed=seed, on_step=on_step)
