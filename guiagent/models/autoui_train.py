"""Training the Auto-UI model on an AITW-format export (the recorder's `dataset export --format aitw`).

The export is JSONL (or a JSON list) of `guiagent.formats.aitw.AitwEpisodeStep`: goal, image path
(absolute, or relative to the file), previous actions, the action, and future_plan. Each step
becomes one (source text, screenshot) -> target text pair in the Auto-UI chain-of-action format;
the loss is teacher-forced cross-entropy on the target, optimized with AdamW. CPU is fine for
small models. Image features come from the frozen encoder and are computed once per image.
"""

from __future__ import annotations

import json
import logging
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, overload

from pydantic import ValidationError

from guiagent.formats.aitw import AitwEpisodeStep
from guiagent.models.autoui_text import format_source, format_target
from guiagent.models.vision import DEFAULT_ENCODER
from guiagent.schema.errors import ConfigError, RecordingError

log = logging.getLogger(__name__)

StepT = TypeVar("StepT", bound=AitwEpisodeStep)


@dataclass(frozen=True)
class Example:
    source: str
    target: str
    image: Path


def export_files(path: Path) -> list[Path]:
    """The data files of an export: the file itself, or the *.jsonl (else *.json) inside a folder."""
    if path.is_file():
        return [path]
    if path.is_dir():
        found = sorted(path.rglob("*.jsonl")) or sorted(p for p in path.rglob("*.json") if p.name != "meta.json")
        if found:
            return found
    raise RecordingError(f"no AITW export at {path} (expected a .jsonl/.json file or a folder holding one)")


@overload
def load_aitw_steps(path: Path) -> list[tuple[AitwEpisodeStep, Path]]: ...
@overload
def load_aitw_steps(path: Path, model: type[StepT]) -> list[tuple[StepT, Path]]: ...
def load_aitw_steps(path: Path, model: type[AitwEpisodeStep] = AitwEpisodeStep) -> list[tuple[Any, Path]]:
    """Every step (validated as `model`) with its resolved image path. Bad lines raise
    RecordingError naming file:line."""
    out: list[tuple[Any, Path]] = []  # of `model`: the overloads above give callers the type
    for file in export_files(Path(path)):
        text = file.read_text(encoding="utf-8")
        rows: list[tuple[int, Any]]
        if file.suffix == ".json":
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise RecordingError(f"{file}: not JSON: {exc}") from exc
            rows = list(enumerate(data if isinstance(data, list) else [data], 1))
        else:
            rows = []
            for n, line in enumerate(text.splitlines(), 1):
                if line.strip():
                    try:
                        rows.append((n, json.loads(line)))
                    except json.JSONDecodeError as exc:
                        raise RecordingError(f"{file}:{n}: not JSON: {exc}") from exc
        for n, row in rows:
            try:
                step = model.model_validate(row)
            except ValidationError as exc:
                raise RecordingError(f"{file}:{n}: not an AITW step: {exc.errors()[0]['msg']} "
                                     f"at {'.'.join(map(str, exc.errors()[0]['loc']))}") from exc
            image = Path(step.image)
            if not image.is_absolute():
                image = file.parent / image
            if not image.is_file():
                raise RecordingError(f"{file}:{n}: image {step.image} not found (looked at {image})")
            out.append((step, image))
    if not out:
        raise RecordingError(f"the AITW export at {path} holds no steps")
    return out


def build_examples(steps: list[tuple[AitwEpisodeStep, Path]]) -> list[Example]:
    return [Example(format_source(s.goal, s.previous_actions), format_target(s.action, s.future_plan), img)
            for s, img in steps]


@dataclass
class TrainReport:
    examples: int
    epochs: int
    steps: int = 0
    losses: list[float] = field(default_factory=list)
    out: Path | None = None

    @property
    def first_loss(self) -> float:
        return self.losses[0] if self.losses else math.nan

    @property
    def last_loss(self) -> float:
        return self.losses[-1] if self.losses else math.nan


def _start_model(base: Path | None, examples: list[Example], out: Path, image_encoder: str, seed: int) -> Any:
    from guiagent.models.autoui_model import AutoUIModel, is_autoui_checkpoint

    if base is not None:
        if is_autoui_checkpoint(base):
            log.info("continuing from the Auto-UI checkpoint %s", base)
            return AutoUIModel.from_pretrained(base)
        log.info("starting from the T5 checkpoint %s with a new fusion", base)
        return AutoUIModel.from_t5(base, image_encoder=image_encoder, seed=seed)
    from guiagent.models.t5_scratch import build_scratch_t5

    t5_dir = out / "_scratch_t5"
    build_scratch_t5(t5_dir, [t for e in examples for t in (e.source, e.target)], seed=seed)
    return AutoUIModel.from_t5(t5_dir, image_encoder=image_encoder, seed=seed)


def train_autoui(
    data: Path,
    out: Path,
    *,
    epochs: int = 1,
    base: Path | None = None,
    lr: float = 3e-4,
    batch_size: int = 4,
    image_encoder: str = DEFAULT_ENCODER,
    max_steps: int | None = None,
    seed: int = 0,
    threads: int | None = None,
    on_step: Callable[[int, float], None] | None = None,
) -> TrainReport:
    """Train (or fine-tune) Auto-UI on an AITW export and save the checkpoint to `out`.
    `threads` caps torch's CPU threads while training (1 is fastest for tiny models on a busy
    machine: intra-op threads only add overhead there); the previous setting is restored."""
    import torch

    if epochs < 1 or batch_size < 1 or (threads is not None and threads < 1):
        raise ConfigError("epochs, batch size and threads must be at least 1")
    previous_threads = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        return _train(Path(data), Path(out), epochs=epochs, base=base, lr=lr, batch_size=batch_size,
                      image_encoder=image_encoder, max_steps=max_steps, seed=seed, on_step=on_step)
    finally:
        torch.set_num_threads(previous_threads)


def _train(data: Path, out: Path, *, epochs: int, base: Path | None, lr: float, batch_size: int,
           image_encoder: str, max_steps: int | None, seed: int,
           on_step: Callable[[int, float], None] | None) -> TrainReport:
    import shutil

    import torch
    from PIL import Image

    examples = build_examples(load_aitw_steps(data))
    model = _start_model(Path(base) if base else None, examples, out, image_encoder, seed)
    features: dict[Path, Any] = {}
    for ex in examples:  # the encoder is frozen: one forward per distinct image
        if ex.image not in features:
            with Image.open(ex.image) as im:
                features[ex.image] = model.image_features([im])[0]
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    report = TrainReport(examples=len(examples), epochs=epochs)
    rng = random.Random(seed)
    torch.manual_seed(seed)
    model.train_mode()
    for _epoch in range(epochs):
        order = list(range(len(examples)))
        rng.shuffle(order)
        for start in range(0, len(order), batch_size):
            batch = [examples[i] for i in order[start : start + batch_size]]
            loss = model.loss([e.source for e in batch], [e.target for e in batch],
                              torch.stack([features[e.image] for e in batch]))
            if not torch.isfinite(loss):
                raise ConfigError(f"the loss became {loss.item()} at step {report.steps}; lower --lr")
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            report.steps += 1
            report.losses.append(float(loss.item()))
            if on_step is not None:
                on_step(report.steps, report.losses[-1])
            if max_steps is not None and report.steps >= max_steps:
                break
        if max_steps is not None and report.steps >= max_steps:
            break
    model.inference_mode()
    report.out = model.save_pretrained(out)
    shutil.rmtree(out / "_scratch_t5", ignore_errors=True)
    (out / "train_report.json").write_text(json.dumps(
        {"examples": report.examples, "epochs": epochs, "steps": report.steps, "losses": report.losses,
         "lr": lr, "batch_size": batch_size, "base": str(base) if base else None}, indent=2))
    return report
