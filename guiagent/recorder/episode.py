"""An episode on disk: `meta.json`, `steps.jsonl` (appended + fsynced per step), `frames/`.

A crash (even SIGKILL) loses at most the step in flight: frames are written to a temp file
and renamed before the step line that names them is appended, meta.json is replaced
atomically, and a reader drops a torn last line. A live writer holds an flock on
`writer.lock`; the kernel releases it when the process dies, which is how a reader tells a
running episode from one whose writer crashed.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from PIL import Image
from pydantic import ValidationError

from guiagent.recorder.redact import Redactor
from guiagent.schema import EpisodeMeta, RunStatus, Step, TokenUsage, Trajectory
from guiagent.schema.errors import ConfigError, RecordingError

log = logging.getLogger(__name__)

META = "meta.json"
STEPS = "steps.jsonl"
FRAMES = "frames"
LOCK = "writer.lock"
SCHEMA_VERSION = 1
INTERRUPTED = "interrupted (writer crashed)"
_FORMATS = {"png": ("png", "PNG"), "jpg": ("jpg", "JPEG"), "jpeg": ("jpg", "JPEG"), "webp": ("webp", "WEBP")}


def atomic_write(path: Path, data: bytes) -> None:
    """Write a whole file so that a crash leaves either the old or the new content."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _write_meta(folder: Path, meta: EpisodeMeta) -> None:
    atomic_write(folder / META, meta.model_dump_json(indent=2).encode())


class EpisodeWriter:
    """Appends steps of one episode to `folder`. Thread-safe; `close` is idempotent."""

    def __init__(
        self, folder: Path, meta: EpisodeMeta, *, redactor: Redactor | None = None, frame_format: str = "png",
    ) -> None:
        if frame_format.lower() not in _FORMATS:
            raise ConfigError(f"frame format {frame_format!r} unknown; choose one of {sorted(_FORMATS)}")
        self.folder = Path(folder)
        self.meta = meta
        self.redactor = redactor
        self._ext, self._pil_format = _FORMATS[frame_format.lower()]
        self._lock = threading.Lock()
        self._closed = False
        self._count = 0
        if (self.folder / STEPS).exists() and (self.folder / STEPS).stat().st_size > 0:
            raise RecordingError(f"{self.folder} already holds an episode; pick another --out folder")
        (self.folder / FRAMES).mkdir(parents=True, exist_ok=True)
        self._lockfile: IO[bytes] | None = open(self.folder / LOCK, "wb")  # noqa: SIM115 - held open
        try:
            fcntl.flock(self._lockfile.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            self._lockfile.close()
            raise RecordingError(f"{self.folder} is being written by another live process") from exc
        self.meta = self._scrub(meta.model_copy(update={"status": "running", "steps": 0}))
        _write_meta(self.folder, self.meta)
        self._steps: IO[bytes] = open(self.folder / STEPS, "ab")  # noqa: SIM115 - held open

    def _scrub(self, meta: EpisodeMeta) -> EpisodeMeta:
        """Named secrets back to placeholders (the task, a reason or an answer may hold one)."""
        return self.redactor.secrets.scrub_obj(meta) if self.redactor is not None else meta

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def step_count(self) -> int:
        return self._count

    def add_step(self, step: Step, frame: Image.Image | None) -> Step:
        """Store `step` (and its pre-action frame); returns the step as stored."""
        with self._lock:
            if self._closed:
                raise RecordingError(f"episode {self.folder} is closed; cannot add step {step.index}")
            stored = self.redactor.redact_step(step) if self.redactor else step
            if frame is not None:
                if self.redactor is not None:
                    frame = self.redactor.redact_frame(frame, step)
                rel = f"{FRAMES}/{step.index:06d}.{self._ext}"
                self._save_frame(frame, self.folder / rel)
                stored = stored.model_copy(update={"frame": rel})
            line = stored.model_dump_json().encode() + b"\n"
            self._steps.write(line)
            self._steps.flush()
            os.fsync(self._steps.fileno())
            self._count += 1
            return stored

    def _save_frame(self, frame: Image.Image, path: Path) -> None:
        tmp = path.with_name(f".{path.name}.tmp")
        img = frame.convert("RGB") if self._pil_format == "JPEG" and frame.mode != "RGB" else frame
        # Fast PNG compression: level 1 is ~3x quicker than the default at ~10% more bytes.
        opts: dict[str, Any] = {"compress_level": 1} if self._pil_format == "PNG" else {"quality": 90}
        with open(tmp, "wb") as f:
            img.save(f, format=self._pil_format, **opts)
        os.replace(tmp, path)

    def close(
        self, status: RunStatus, *, reason: str | None = None, answer: str | None = None,
        usage: TokenUsage | None = None,
    ) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            update: dict[str, Any] = {
                "ended_at": time.time(), "status": status, "steps": self._count, "reason": reason, "answer": answer,
            }
            if usage is not None:
                update["usage"] = usage
            self.meta = self._scrub(self.meta.model_copy(update=update))
            try:
                self._steps.close()
                _write_meta(self.folder, self.meta)
            finally:
                if self._lockfile is not None:
                    try:
                        (self.folder / LOCK).unlink(missing_ok=True)
                    finally:
                        fcntl.flock(self._lockfile.fileno(), fcntl.LOCK_UN)
                        self._lockfile.close()
                        self._lockfile = None

    def __enter__(self) -> EpisodeWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if exc is None:
            self.close("stopped", reason="closed without a final status")
        elif isinstance(exc, KeyboardInterrupt):
            self.close("stopped", reason="interrupted by the user")
        else:
            self.close("failed", reason=f"{type(exc).__name__}: {exc}")


# -- reading ---------------------------------------------------------------------------------


def writer_alive(folder: Path) -> bool:
    """True when a live process holds the episode's writer lock."""
    path = Path(folder) / LOCK
    if not path.exists():
        return False
    try:
        with open(path, "rb") as f:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return True
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
            return False
    except FileNotFoundError:
        return False  # the writer closed between the two checks


def read_meta(folder: Path) -> EpisodeMeta:
    path = Path(folder) / META
    if not path.is_file():
        raise RecordingError(f"{folder} is not an episode: {META} is missing")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RecordingError(f"{path}: unreadable ({exc})") from exc
    version = raw.get("schema_version", 1) if isinstance(raw, dict) else None
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise RecordingError(f"{path}: schema_version {version!r} is newer than this guiagent reads ({SCHEMA_VERSION})")
    try:
        return EpisodeMeta.model_validate(raw)
    except ValidationError as exc:
        raise RecordingError(f"{path}: invalid meta: {exc}") from exc


@dataclass
class _Parsed:
    steps: list[Step] = field(default_factory=list)
    bad_tail: int | None = None  # 1-based line number of a dropped torn last line
    bad_middle: list[tuple[int, str]] = field(default_factory=list)


def _parse_steps(path: Path) -> _Parsed:
    out = _Parsed()
    if not path.exists():
        return out
    lines = path.read_bytes().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            out.steps.append(Step.model_validate_json(line))
        except (ValidationError, ValueError) as exc:
            if n == len(lines):
                out.bad_tail = n
            else:
                out.bad_middle.append((n, str(exc).splitlines()[0]))
    return out


def read_episode(folder: Path) -> Trajectory:
    """Load an episode. A torn last line (crash mid-write) is dropped with a warning; a corrupt
    line elsewhere raises RecordingError naming file:line. A "running" episode with no live
    writer comes back as "stopped" (the files are not rewritten; see `repair_episode`)."""
    folder = Path(folder)
    meta = read_meta(folder)
    path = folder / STEPS
    parsed = _parse_steps(path)
    if parsed.bad_middle:
        n, why = parsed.bad_middle[0]
        raise RecordingError(f"{path}:{n}: corrupt step line ({why}); run `guiagent dataset repair {folder}`")
    if parsed.bad_tail is not None:
        log.warning("%s:%d: dropped a truncated last line (the writer was interrupted)", path, parsed.bad_tail)
    if meta.status == "running":
        if writer_alive(folder):
            meta = meta.model_copy(update={"steps": len(parsed.steps)})
        else:
            meta = meta.model_copy(update={"status": "stopped", "reason": INTERRUPTED, "steps": len(parsed.steps),
                                           "ended_at": _last_time(parsed.steps, meta)})
    return Trajectory(meta=meta, steps=parsed.steps)


def _last_time(steps: list[Step], meta: EpisodeMeta) -> float:
    return steps[-1].timestamp if steps else meta.started_at


@dataclass
class RepairReport:
    folder: Path
    kept_steps: int
    dropped_lines: list[int]  # 1-based line numbers removed from steps.jsonl
    closed: bool  # meta.json was "running" and is now "stopped"
    status: RunStatus

    @property
    def changed(self) -> bool:
        return bool(self.dropped_lines) or self.closed


def repair_episode(folder: Path) -> RepairReport:
    """Rewrite steps.jsonl without unreadable lines and close a crashed episode's meta.json."""
    folder = Path(folder)
    meta = read_meta(folder)
    if writer_alive(folder):
        raise RecordingError(f"{folder} is still being written by a live process; stop it first")
    path = folder / STEPS
    parsed = _parse_steps(path)
    dropped = [n for n, _ in parsed.bad_middle] + ([parsed.bad_tail] if parsed.bad_tail else [])
    if dropped:
        atomic_write(path, b"".join(s.model_dump_json().encode() + b"\n" for s in parsed.steps))
        log.info("%s: dropped lines %s", path, dropped)
    closed = meta.status == "running"
    if closed or meta.steps != len(parsed.steps):
        update: dict[str, Any] = {"steps": len(parsed.steps)}
        if closed:
            update |= {"status": "stopped", "reason": INTERRUPTED, "ended_at": _last_time(parsed.steps, meta)}
        meta = meta.model_copy(update=update)
        _write_meta(folder, meta)
    (folder / LOCK).unlink(missing_ok=True)
    return RepairReport(folder, len(parsed.steps), sorted(dropped), closed, meta.status)


def list_episodes(root: Path) -> list[Path]:
    """Episode folders at or below `root` (a folder holding meta.json), sorted by path."""
    root = Path(root)
    if (root / META).is_file():
        return [root]
    if not root.is_dir():
        raise RecordingError(f"{root} is neither an episode nor a folder of episodes")
    return sorted(p.parent for p in root.rglob(META))
