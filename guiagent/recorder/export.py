"""Episodes -> training data: a Hugging Face dataset (parquet shards with an Image column, and
`save_to_disk`), the AITW / Auto-UI format (JSONL of `AitwEpisodeStep`), or plain JSONL.
Plus `dataset_stats` for `guiagent dataset stats`.

Frames are hard-linked (copied across file systems) into OUT/images/ for the JSONL formats,
so an export is self-contained and paths in it are relative to OUT. The HF export embeds the
image bytes, so its parquet files stand alone.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from guiagent.formats.aitw import AitwAction, AitwEpisodeStep, AitwType, NotRepresentable, to_aitw
from guiagent.recorder.episode import list_episodes, read_episode
from guiagent.schema import Step, Trajectory, TypeText, action_targets, describe_action
from guiagent.schema.errors import ConfigError, RecordingError

log = logging.getLogger(__name__)

ExportFormat = Literal["hf", "aitw", "jsonl"]
FORMATS: tuple[str, ...] = ("hf", "aitw", "jsonl")
AITW_HISTORY = 8  # previous actions kept per example, as Auto-UI feeds its model
AITW_PLAN = 4  # this action and the next 3
EpisodeCallback = Callable[[int, int], None]  # (episodes read, episodes in all): a progress bar


@dataclass
class ExportReport:
    format: str
    out: Path
    episodes: int = 0
    steps: int = 0  # rows / examples written
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> steps not exported
    files: list[Path] = field(default_factory=list)


def iter_episodes(dirs: Iterable[Path], on_episode: EpisodeCallback | None = None) -> Iterator[tuple[Path, Trajectory]]:
    seen: set[Path] = set()
    folders = []
    for d in dirs:
        for folder in list_episodes(Path(d)):
            if folder.resolve() not in seen:
                seen.add(folder.resolve())
                folders.append(folder)
    for i, folder in enumerate(folders):
        yield folder, read_episode(folder)
        if on_episode is not None:
            on_episode(i + 1, len(folders))


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "episode"


class _Images:
    """Links frames into OUT/images/<episode>/ under unique episode names."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.names: dict[Path, str] = {}

    def episode_name(self, folder: Path, traj: Trajectory) -> str:
        if folder not in self.names:
            base = _safe(traj.meta.id)
            name, n = base, 1
            while name in self.names.values():
                n += 1
                name = f"{base}-{n}"
            self.names[folder] = name
        return self.names[folder]

    def link(self, folder: Path, traj: Trajectory, step: Step) -> str | None:
        if not step.frame:
            return None
        src = folder / step.frame
        if not src.is_file():
            raise RecordingError(f"{folder}: step {step.index} names frame {step.frame}, which is missing")
        rel = Path("images") / self.episode_name(folder, traj) / src.name
        dst = self.out / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if not dst.exists():
            try:
                os.link(src, dst)
            except OSError:
                shutil.copy2(src, dst)
        return rel.as_posix()


def _first_point(step: Step) -> tuple[float | None, float | None]:
    if step.action is None:
        return None, None
    for t in action_targets(step.action):
        if t.point is not None:
            return t.point.x, t.point.y
    return None, None


def _row(folder: Path, traj: Trajectory, step: Step) -> dict[str, Any]:
    x, y = _first_point(step)
    a = step.action
    return {
        "episode_id": traj.meta.id, "episode_folder": folder.name, "task": traj.meta.task,
        "source": step.source, "platform": traj.meta.platform, "episode_status": traj.meta.status,
        "step": step.index, "timestamp": step.timestamp,
        "screen_width": step.screen_size[0], "screen_height": step.screen_size[1],
        "action_type": a.type if a else "", "action": a.model_dump_json() if a else "",
        "action_text": describe_action(a) if a else "", "x": x, "y": y,
        "text": a.text if isinstance(a, TypeText) else None,
        "target_element": step.target_element.model_dump_json() if step.target_element else None,
        "thought": step.decision.thought if step.decision else "",
        "outcome": step.outcome.status, "elements": json.dumps([e.model_dump(mode="json") for e in step.elements]),
    }


def _write_jsonl(path: Path, rows: Iterable[str]) -> int:
    n = 0
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for line in rows:
            f.write(line + "\n")
            n += 1
    os.replace(tmp, path)
    return n


def export_jsonl(dirs: Iterable[Path], out: Path, on_episode: EpisodeCallback | None = None) -> ExportReport:
    out.mkdir(parents=True, exist_ok=True)
    report = ExportReport("jsonl", out)
    images = _Images(out)

    def rows() -> Iterator[str]:
        for folder, traj in iter_episodes(dirs, on_episode):
            report.episodes += 1
            for step in traj.steps:
                if step.action is None:
                    report.skipped["no action"] += 1
                    continue
                row = _row(folder, traj, step)
                row["image"] = images.link(folder, traj, step)
                row["action"] = step.action.model_dump(mode="json")
                row["target_element"] = step.target_element.model_dump(mode="json") if step.target_element else None
                row["elements"] = [e.model_dump(mode="json") for e in step.elements]
                yield json.dumps(row, ensure_ascii=False)

    path = out / "steps.jsonl"
    report.steps = _write_jsonl(path, rows())
    report.files.append(path)
    return report


def aitw_examples(folder: Path, traj: Trajectory, images: _Images, skipped: Counter[str]) -> list[AitwEpisodeStep]:
    """One episode as Auto-UI training examples (steps AITW cannot express are skipped)."""
    converted: list[tuple[Step, AitwAction]] = []
    for step in traj.steps:
        if step.action is None:
            skipped["no action"] += 1
            continue
        try:
            a = to_aitw(step.action)
        except NotRepresentable:
            skipped[f"no AITW equivalent ({step.action.type})"] += 1
            continue
        if not step.frame:
            skipped["no frame"] += 1
            continue
        converted.append((step, a))
        if isinstance(step.action, TypeText) and step.action.submit:
            # AITW has no "type and submit": the Enter is its own action (same pre-action frame).
            converted.append((step, AitwAction(action_type=AitwType.PRESS_ENTER)))
    out: list[AitwEpisodeStep] = []
    for i, (step, action) in enumerate(converted):
        image = images.link(folder, traj, step)
        assert image is not None
        out.append(AitwEpisodeStep(
            goal=traj.meta.task, image=image, action=action,
            previous_actions=[a for _, a in converted[max(0, i - AITW_HISTORY):i]],
            future_plan=[a.action_type for _, a in converted[i:i + AITW_PLAN]],
        ))
    return out


def export_aitw(dirs: Iterable[Path], out: Path, on_episode: EpisodeCallback | None = None) -> ExportReport:
    out.mkdir(parents=True, exist_ok=True)
    report = ExportReport("aitw", out)
    images = _Images(out)

    def rows() -> Iterator[str]:
        for folder, traj in iter_episodes(dirs, on_episode):
            report.episodes += 1
            for ex in aitw_examples(folder, traj, images, report.skipped):
                yield ex.model_dump_json()

    path = out / "aitw.jsonl"
    report.steps = _write_jsonl(path, rows())
    report.files.append(path)
    return report


def hf_features() -> Any:
    from datasets import Features, Image, Value

    s, i, f = Value("string"), Value("int32"), Value("float64")
    return Features({
        "episode_id": s, "episode_folder": s, "task": s, "source": s, "platform": s, "episode_status": s,
        "step": i, "timestamp": f, "screen_width": i, "screen_height": i, "action_type": s, "action": s,
        "action_text": s, "x": f, "y": f, "text": s, "target_element": s, "thought": s, "outcome": s,
        "elements": s, "image": Image(),
    })


def export_hf(dirs: Iterable[Path], out: Path, *, shard_rows: int = 500,
              on_episode: EpisodeCallback | None = None) -> ExportReport:
    """A `datasets` Dataset with image bytes embedded: `out/dataset` (save_to_disk) and
    `out/data/train-XXXXX-of-YYYYY.parquet` (load_dataset("parquet", data_files=...))."""
    from datasets import Dataset

    if shard_rows < 1:
        raise ConfigError("shard_rows must be at least 1")
    report = ExportReport("hf", out)
    rows: list[dict[str, Any]] = []
    for folder, traj in iter_episodes(dirs, on_episode):
        report.episodes += 1
        for step in traj.steps:
            if step.action is None:
                report.skipped["no action"] += 1
                continue
            row = _row(folder, traj, step)
            row["image"] = {"bytes": (folder / step.frame).read_bytes(), "path": Path(step.frame).name} \
                if step.frame else None
            rows.append(row)
    if not rows:
        raise RecordingError("nothing to export: the episodes hold no steps with actions")
    ds = Dataset.from_list(rows, features=hf_features())
    out.mkdir(parents=True, exist_ok=True)
    ds.save_to_disk(str(out / "dataset"))
    data = out / "data"
    if data.exists():
        shutil.rmtree(data)
    data.mkdir()
    n = max(1, -(-len(ds) // shard_rows))
    for k in range(n):
        path = data / f"train-{k:05d}-of-{n:05d}.parquet"
        ds.shard(num_shards=n, index=k, contiguous=True).to_parquet(str(path))
        report.files.append(path)
    report.steps = len(ds)
    return report


def export(dirs: Iterable[Path], out: Path, fmt: str, on_episode: EpisodeCallback | None = None) -> ExportReport:
    match fmt:
        case "hf":
            return export_hf(dirs, out, on_episode=on_episode)
        case "aitw":
            return export_aitw(dirs, out, on_episode)
        case "jsonl":
            return export_jsonl(dirs, out, on_episode)
        case _:
            raise ConfigError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")


def dataset_stats(dirs: Iterable[Path]) -> dict[str, Any]:
    """Episodes, steps, action-type histogram, sources, statuses, durations."""
    episodes = steps = 0
    types: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    durations: list[float] = []
    frames = 0
    per_episode: list[int] = []
    for _, traj in iter_episodes(dirs):
        episodes += 1
        statuses[traj.meta.status] += 1
        sources[traj.meta.source] += 1
        steps += len(traj.steps)
        per_episode.append(len(traj.steps))
        frames += sum(1 for s in traj.steps if s.frame)
        types.update(s.action.type for s in traj.steps if s.action)
        end = traj.meta.ended_at or (traj.steps[-1].timestamp if traj.steps else None)
        if end is not None:
            durations.append(max(0.0, end - traj.meta.started_at))
    return {
        "episodes": episodes, "steps": steps, "frames": frames,
        "steps_per_episode_median": statistics.median(per_episode) if per_episode else 0,
        "action_types": dict(types.most_common()), "sources": dict(sources), "statuses": dict(statuses),
        "duration_s_median": round(statistics.median(durations), 2) if durations else None,
        "duration_s_total": round(sum(durations), 2),
    }
