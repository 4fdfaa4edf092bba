"""`guiagent bench models`: does a model endpoint answer the planners in a valid format?"""

from __future__ import annotations

import argparse
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from guiagent.schema.errors import ConfigError


def _names(allowed: tuple[str, ...]) -> Any:
    def parse(text: str) -> list[str]:
        names = [s.strip() for s in text.split(",") if s.strip()]
        bad = [n for n in names if n not in allowed]
        if not names or bad:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(allowed)} (comma-separated), not {text!r}")
        return names

    return parse


def register(cli: Any) -> None:
    from grounding.models.response_format import DIALECTS

    p = cli.bench.add_parser("models", help="format reliability of a model endpoint, per planner and structured mode")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--base-url", help="an OpenAI-compatible endpoint (http://host:port/v1)")
    where.add_argument("--llama", action="store_true",
                       help="start the real llama.cpp server with SmolLM2-135M-Instruct (guiagent.eval.llama_server)")
    where.add_argument("--scripted", action="store_true",
                       help="the built-in scripted server (free text unconstrained, the schema's minimal instance "
                            "constrained): checks the plumbing, not a model")
    p.add_argument("--model", help="the model name the endpoint serves (default: GUIAGENT_MODEL)")
    p.add_argument("--steps", type=int, default=10, help="steps (scripted screens) per planner and mode")
    p.add_argument("--planners", type=_names(("dpot", "react")), default=["dpot", "react"])
    p.add_argument("--modes", type=_names(("off", *DIALECTS, "auto")), default=["off", "json_object", "json_schema"],
                   help="structured modes to compare (default off,json_object,json_schema; also ollama, auto)")
    p.add_argument("--images", action="store_true", help="send the screenshots (for vision models)")
    p.add_argument("--max-tokens", type=int, default=256)
    p.add_argument("--timeout-s", type=float, default=120.0, help="per model call")
    p.add_argument("--json-out", type=Path, help="write the rows (with sample replies) as JSON here")
    p.set_defaults(func=run)


@contextlib.contextmanager
def _endpoint(args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    options: dict[str, Any] = {"backend": "openai", "timeout_s": args.timeout_s, "max_retries": 0}
    if args.base_url:
        yield {**options, "base_url": args.base_url, "model": args.model}
    elif args.llama:
        from guiagent.eval.llama_server import LlamaServer, find_gguf

        with LlamaServer(find_gguf()) as srv:
            yield {**options, **srv.chat_options()}
    else:
        from guiagent.eval.scripted_server import Reply, ScriptedChatServer

        with ScriptedChatServer(lambda req: Reply.from_schema("I would click the Submit button.")) as srv:
            yield {**options, "base_url": srv.url, "model": "scripted"}


def run(args: argparse.Namespace) -> int:
    from guiagent.eval.models_bench import Row, bench_models

    if args.steps < 1 or args.max_tokens < 1:
        raise ConfigError("--steps and --max-tokens must be at least 1")
    header = (f"{'planner':<7} {'structured':<12} {'steps':>5} {'valid':>6} {'not done':>9} {'on screen':>10} "
              f"{'tok/step':>9} {'s/step':>7}")
    rows: list[Row] = []
    with _endpoint(args) as options:
        print(f"bench models: {options.get('model') or '(GUIAGENT_MODEL)'} at {options.get('base_url') or '?'}; "
              f"medians per step; 'valid' = parses into a valid action as sent (no repair)\n")
        print(header)
        print("-" * len(header))

        def show(r: Row) -> None:
            if r.refused:
                print(f"{r.planner:<7} {r.mode:<12} refused by the endpoint: {r.refused}", flush=True)
                return
            print(f"{r.planner:<7} {r.mode:<12} {len(r.steps):>5} {r.valid:>6.0%} {r.not_done:>9.0%} "
                  f"{r.on_screen:>10.0%} {r.tokens:>9.0f} {r.seconds:>7.2f}", flush=True)

        rows = bench_models(options, steps=args.steps, planners=args.planners, modes=args.modes,
                            images=args.images, max_tokens=args.max_tokens, on_row=show)
    if args.json_out:
        args.json_out.write_text(json.dumps([r.to_dict() for r in rows], indent=2, ensure_ascii=False))
        print(f"\nrows written to {args.json_out}")
    return 0
