"""`guiagent record`: capture a human demonstration as an episode folder."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from guiagent.cli._common import add_secret_flags, secrets_from_args
from guiagent.registry import build_device
from guiagent.schema import EpisodeMeta, Key, TypeText
from guiagent.schema.errors import ConfigError, GuiAgentError

log = logging.getLogger(__name__)


def register(cli: Any) -> None:
    p = cli.commands.add_parser(
        "record", help="record a human demonstration",
        description="Record what you do on a device as an episode (meta.json, steps.jsonl, frames/). "
                    "Stop with Ctrl+C or the stop hotkey (desktop). On Android, type text at the prompt: "
                    "each line is typed into the focused field; ':enter' presses Enter.")
    p.add_argument("--device", default="desktop", help="desktop | android:SERIAL | sim[:SCENARIO]")
    p.add_argument("--task", required=True, help="what the demonstration does (the episode's goal)")
    p.add_argument("--out", type=Path, required=True, help="episode folder to create")
    p.add_argument("--fps", type=float, default=10.0, help="desktop frame capture rate (default %(default)s)")
    add_secret_flags(p, what="the recording")
    p.add_argument("--redact-region", action="append", default=[], metavar="X,Y,W,H",
                   help="blank this screen rectangle (pixels) in every saved frame (repeatable)")
    p.add_argument("--stop-key", default="ctrl+alt+q", help="desktop hotkey that ends the recording")
    p.add_argument("--no-a11y", action="store_true", help="do not read the accessibility tree")
    p.add_argument("--no-ocr", action="store_true",
                   help="no OCR hit test when there is no accessibility tree (desktop)")
    p.add_argument("--frame-format", default="png", choices=["png", "jpg", "webp"])
    p.add_argument("--no-report", action="store_true", help="do not write report.html at the end")
    p.set_defaults(func=cmd_record)


def _episode_meta(args: argparse.Namespace, device: Any) -> EpisodeMeta:
    info = getattr(device, "info", None)
    return EpisodeMeta(
        id=time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6], task=args.task, source="human",
        device=info.id if info else args.device, platform=info.platform if info else "",
        screen_size=tuple(info.screen_size) if info else (0, 0),
    )


def cmd_record(args: argparse.Namespace) -> int:
    from guiagent.recorder.episode import EpisodeWriter
    from guiagent.recorder.redact import Redactor
    from guiagent.safety.secrets import SecretsDevice, scrubbing_logs

    if args.fps <= 0 or args.fps > 60:
        raise ConfigError(f"--fps must be in (0, 60], got {args.fps}")
    try:
        stop_chord = Key(keys=args.stop_key).keys
    except ValueError as exc:
        raise ConfigError(f"--stop-key {args.stop_key!r}: {exc}") from exc
    # Redaction is on by default: a password typed while recording is masked, its field blanked.
    # A secret named with --secret is scrubbed back to {{NAME}} wherever it shows (typed or on screen).
    secrets = secrets_from_args(args)
    redactor = Redactor.from_specs(args.redact_region, mask_passwords=not args.no_redact, secrets=secrets)
    kind = args.device.partition(":")[0]
    device = _open_device(args.device, kind)
    if device is not None and kind != "desktop":
        device = SecretsDevice(device, secrets)  # a line `{{pin}}` at the prompt types the value
    writer = EpisodeWriter(args.out, _episode_meta(args, device), redactor=redactor, frame_format=args.frame_format)
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    reason = "ended by the user"
    try:
        with scrubbing_logs(secrets):
            if kind == "desktop":
                reason = _record_desktop(args, writer, device, stop, stop_chord, redactor)
            else:
                reason = _record_android(args, writer, device, stop)
        writer.close("success", reason=reason)
    except BaseException as exc:
        writer.close("failed", reason=f"{type(exc).__name__}: {exc}")
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
        if device is not None:
            device.close()
    print(f"recorded {writer.step_count} steps to {args.out} ({reason})", flush=True)
    if not args.no_report:
        from guiagent.recorder.report import write_report

        print(f"report: {write_report(args.out)}")
    return 0


def _open_device(spec: str, kind: str) -> Any:
    if kind == "desktop":
        try:
            return build_device(spec)
        except GuiAgentError as exc:
            # Frames and input still work without the device; only the a11y hit test is lost.
            log.warning("desktop device unavailable (%s): recording without the accessibility tree", exc)
            return None
    if kind in ("android", "sim"):
        return build_device(spec)
    raise ConfigError(f"cannot record on {spec!r}: use desktop, android:SERIAL or sim[:SCENARIO]")


def _wait(stop: threading.Event, ended: Any = None) -> str:
    """Until SIGTERM (`stop`), Ctrl+C, or `ended()` returns a reason."""
    try:
        while not stop.wait(0.2):
            reason = ended() if ended is not None else None
            if reason:
                return reason
    except KeyboardInterrupt:
        return "ended by Ctrl+C"
    return "ended by SIGTERM"


def _record_desktop(args: argparse.Namespace, writer: Any, device: Any, stop: threading.Event,
                    stop_chord: tuple[str, ...], redactor: Any) -> str:
    from guiagent.recorder.desktop import DesktopOptions, DesktopRecorder, make_ocr_lookup

    ocr = None if args.no_ocr else make_ocr_lookup()
    rec = DesktopRecorder(writer, device=device, options=DesktopOptions(
        fps=args.fps, a11y=not args.no_a11y, stop_chord=stop_chord, ocr=ocr))
    rec.start()
    if redactor.mask_passwords and (device is None or args.no_a11y):
        print("warning: no accessibility tree, so password fields cannot be recognized; only the "
              "--redact-region rectangles (and named --secret values) are blanked", file=sys.stderr)
    print(f"recording {writer.folder}: press {'+'.join(stop_chord)} or Ctrl+C to stop", flush=True)
    try:
        reason = _wait(stop, lambda: "ended by the stop hotkey" if rec.stop_requested.is_set() else None)
    finally:
        stats = rec.stop()
    s = stats.summary()
    print(f"{s['steps']} steps from {s['raw_events']} input events; frame age median {s['frame_age_ms_median']} ms, "
          f"dropped {s['dropped_events']}", flush=True)
    return reason


def _record_android(args: argparse.Namespace, writer: Any, device: Any, stop: threading.Event) -> str:
    from guiagent.recorder.android import AndroidRecorder

    rec = AndroidRecorder(writer, device, a11y=not args.no_a11y)
    rec.start()
    print(f"recording {writer.folder}: touch the phone; type text here (one line each, ':enter' = Enter); "
          f"Ctrl+C to stop", flush=True)

    def prompt() -> None:
        for line in sys.stdin:
            text = line.rstrip("\n")
            if stop.is_set():
                break
            if text == ":enter":
                outcome = rec.perform(Key(keys=("enter",)))
            elif text:
                outcome = rec.perform(TypeText(text=text))
            else:
                continue
            if outcome.status != "ok":
                print(f"typing failed: {outcome.error}", file=sys.stderr, flush=True)

    threading.Thread(target=prompt, name="prompt", daemon=True).start()
    try:
        reason = _wait(stop, lambda: "the getevent stream ended" if rec.error is not None else None)
    finally:
        rec.stop()
    if rec.error is not None:
        raise rec.error
    return reason
