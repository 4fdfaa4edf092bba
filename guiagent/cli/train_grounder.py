"""`guiagent train grounder`: fine-tune a grounder on exploration data (ScreenSpot format).

`--backend text` fine-tunes the embedded MiniLM matcher contrastively (instruction vs the
target element's description, hard negatives from the same screen); the output directory is
loaded by `--grounder text --grounder-opt model=DIR`. `--backend vlm` is LoRA fine-tuning of a
Qwen2-VL-family grounder (`guiagent.models.grounder_vlm_train`), loaded by `--grounder vlm`.
"""

from __future__ import annotations

import argparse
import enum
from pathlib import Path
from typing import Any, assert_never

from guiagent.schema.errors import ConfigError


class Backend(enum.Enum):
    TEXT = "text"
    VLM = "vlm"


def register(cli: Any) -> None:
    p = cli.train.add_parser("grounder", help="fine-tune a grounder on exploration data (text: MiniLM, vlm: LoRA)",
                             description="Fine-tune a grounder on ScreenSpot-format data collected by "
                                         "`guiagent explore` (a folder, or a .json set; repeatable).")
    p.add_argument("--backend", type=Backend, choices=list(Backend), default=Backend.TEXT,
                   metavar="{text,vlm}", help="text: the MiniLM semantic matcher (default); vlm: LoRA on a "
                                              "Qwen2-VL-family checkpoint")
    p.add_argument("--data", type=Path, action="append", required=True,
                   help="exploration folder or ScreenSpot-format .json (repeatable)")
    p.add_argument("--out", type=Path, required=True, help="model directory to write")
    p.add_argument("--base", type=Path, help="start from this checkpoint (text: a SentenceTransformer dir, "
                                             "default the packaged MiniLM; vlm: required, a Qwen2-VL-family dir)")
    p.add_argument("--epochs", type=int, default=None, help="passes over the data (default: text 4, vlm 1)")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: text 2e-5, vlm 2e-4)")
    p.add_argument("--batch-size", type=int, default=None, help="examples per step (default: text 16, vlm 1)")
    p.add_argument("--max-steps", type=int, help="stop after this many optimizer steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--family", default=None, help="vlm: answer format family (showui | uitars | qwen2vl ...)")
    p.add_argument("--lora-rank", type=int, default=8, help="vlm: LoRA rank")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.table import Table

    from guiagent.cli._common import console

    for opt in ("epochs", "batch_size", "max_steps"):
        value = getattr(args, opt)
        if value is not None and value < 1:
            raise ConfigError(f"--{opt.replace('_', '-')} must be at least 1")
    if args.lr is not None and args.lr <= 0:
        raise ConfigError("--lr must be positive")
    if args.backend is Backend.VLM and args.base is None:
        raise ConfigError("--backend vlm needs --base (a Qwen2-VL-family checkpoint directory)")
    for d in args.data:
        if not d.exists():
            raise ConfigError(f"--data {d} does not exist")
    console.print(f"train grounder ({args.backend.value}) on {', '.join(map(str, args.data))} -> {args.out}")
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("loss {task.fields[loss]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                  console=console) as progress:
        bar = progress.add_task("training", total=None, loss="-")

        def on_step(step: int, total: int, loss: float) -> None:
            progress.update(bar, completed=step, total=total, loss=f"{loss:.4f}")

        report = _train(args, on_step)
    table = Table(title=f"train grounder --backend {args.backend.value}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in report.summary().items():
        table.add_row(key, str(value))
    console.print(table)
    console.print(f"model: {args.out}  (use it with "
                  f"{'--grounder text --grounder-opt model=' if args.backend is Backend.TEXT else '--grounder vlm --model-path '}"
                  f"{args.out})")
    return 0


def _train(args: argparse.Namespace, on_step: Any) -> Any:
    backend: Backend = args.backend
    match backend:
        case Backend.TEXT:
            from guiagent.models.grounder_text_train import train_text_grounder

            return train_text_grounder(args.data, args.out, base=args.base, epochs=args.epochs or 4,
                                       lr=args.lr or 2e-5, batch_size=args.batch_size or 16,
                                       max_steps=args.max_steps, seed=args.seed, on_step=on_step)
        case Backend.VLM:
            from guiagent.models.grounder_vlm_train import train_vlm_grounder

            return train_vlm_grounder(args.data, args.out, base=args.base, family=args.family,
                                      epochs=args.epochs or 1, lr=args.lr or 2e-4, batch_size=args.batch_size or 1,
                                      max_steps=args.max_steps, seed=args.seed, lora_rank=args.lora_rank,
                                      on_step=on_step)
        case _:
            assert_never(backend)
