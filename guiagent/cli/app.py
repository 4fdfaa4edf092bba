"""`guiagent app`: the desktop app (PySide6) to watch, steer and replay the agent."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(cli) -> None:
    p = cli.commands.add_parser(
        "app", help="open the desktop app (watch, steer, record and replay the agent)",
        description="Open the desktop app. Flags override the settings it remembers; with --autorun "
                    "--quit-when-done it runs the task unattended and exits 0 on success.")
    p.add_argument("--task", help="task to put in the task box")
    p.add_argument("--device", help="desktop | android:SERIAL | sim[:SCENARIO] (default: the last one used)")
    p.add_argument("--planner", choices=("rule", "dpot", "react", "autoui"))
    p.add_argument("--grounder", choices=("text", "vlm", "openai"))
    p.add_argument("--base-url", help="OpenAI-compatible endpoint for model planners/grounders")
    p.add_argument("--model", help="model name at that endpoint")
    p.add_argument("--model-path", help="local checkpoint directory")
    p.add_argument("--api-key", help="API key (default: $OPENAI_API_KEY; never saved)")
    p.add_argument("--max-steps", type=int)
    ocr = p.add_mutually_exclusive_group()
    ocr.add_argument("--no-ocr", dest="ocr", action="store_false", default=None, help="accessibility tree only")
    ocr.add_argument("--ocr", dest="ocr", action="store_true", help="read screen text with OCR")
    p.add_argument("--out", type=Path, help="episode folder for the run (default: a new folder under --runs-dir)")
    p.add_argument("--runs-dir", type=Path, help="where runs and recordings are saved (remembered)")
    p.add_argument("--open", dest="open_episode", type=Path, metavar="EPISODE", help="open an episode to replay")
    p.add_argument("--autorun", action="store_true", help="start the task as soon as the window is up")
    p.add_argument("--quit-when-done", action="store_true", help="exit when the run ends (0 = success)")
    p.add_argument("--summary", type=Path, help="write a JSON summary of the run here at the end")
    p.add_argument("--screenshot", type=Path, help="save a PNG of the window here at the end")
    p.add_argument("--settings", type=Path, help="settings file (INI) instead of the user's settings")
    p.add_argument("--theme", choices=("dark", "light"))
    p.add_argument("--size", help="window size WxH (default 1280x800, fitted to the screen)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--yes", action="store_true", help="approve sensitive actions without asking")
    g.add_argument("--no-input", action="store_true", help="never ask: refuse sensitive actions")
    p.set_defaults(func=cmd_app)


def cmd_app(args: argparse.Namespace) -> int:
    from guiagent.schema.errors import ConfigError

    try:
        from app.launcher import LaunchOptions, run_app
    except ImportError as exc:
        raise ConfigError(f"the app needs PySide6: pip install 'guiagent[app]' ({exc})") from exc
    if args.max_steps is not None and args.max_steps < 1:
        raise ConfigError("--max-steps must be at least 1")
    size = None
    if args.size:
        try:
            w, h = (int(v) for v in args.size.lower().split("x"))
        except ValueError as exc:
            raise ConfigError(f"--size must look like 1280x800, not {args.size!r}") from exc
        size = (w, h)
    opts = LaunchOptions(
        device=args.device, planner=args.planner, grounder=args.grounder, task=args.task, autorun=args.autorun,
        quit_when_done=args.quit_when_done, summary=args.summary, screenshot=args.screenshot, out=args.out,
        ocr=args.ocr, max_steps=args.max_steps, base_url=args.base_url, model=args.model,
        model_path=args.model_path, api_key=args.api_key, settings_file=args.settings, runs_dir=args.runs_dir,
        theme=args.theme, approve="approve" if args.yes else "refuse" if args.no_input else "ask",
        open_episode=args.open_episode, size=size, save=True if args.out else None,
    )
    if opts.autorun and not opts.task:
        raise ConfigError("--autorun needs --task \"...\"")
    return run_app(opts)
