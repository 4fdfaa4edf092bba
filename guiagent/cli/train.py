"""`guiagent train autoui`: train the Auto-UI model on an AITW export (CPU is fine for small models)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(cli: Any) -> None:
    p = cli.train.add_parser("autoui", help="train Auto-UI (T5 + image fusion) on an AITW export")
    p.add_argument("--data", type=Path, required=True, help="AITW export: JSONL/JSON file or folder")
    p.add_argument("--out", type=Path, required=True, help="checkpoint directory to write")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--base", type=Path, help="start from a T5 checkpoint (e.g. FLAN-Alpaca) or an Auto-UI "
                                             "checkpoint; default: a tiny T5 built from scratch")
    p.add_argument("--lr", type=float, default=3e-4, help="AdamW learning rate")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--max-steps", type=int, help="stop after this many optimizer steps")
    p.add_argument("--threads", type=int, help="torch CPU threads while training (1 is fastest for tiny models)")
    p.add_argument("--image-encoder", default="pixels:grid=8",
                   help="pixels[:grid=N] (default), patches[:grid=N] or hf:PATH (a local vision model)")
    p.set_defaults(func=run)
    from guiagent.cli import train_grounder, train_icons

    train_grounder.register(cli)
    train_icons.register(cli)


def run(args: argparse.Namespace) -> int:
    from guiagent.models.autoui_train import train_autoui

    print(f"training Auto-UI on {args.data} -> {args.out}")

    def progress(step: int, loss: float) -> None:
        if step == 1 or step % 10 == 0:
            print(f"  step {step:>5}  loss {loss:.4f}", flush=True)

    report = train_autoui(args.data, args.out, epochs=args.epochs, base=args.base, lr=args.lr,
                          batch_size=args.batch_size, image_encoder=args.image_encoder,
                          max_steps=args.max_steps, threads=args.threads, on_step=progress)
    print(f"{report.examples} examples, {report.epochs} epochs, {report.steps} steps: "
          f"loss {report.first_loss:.4f} -> {report.last_loss:.4f}")
    print(f"checkpoint: {report.out}")
    return 0
