"""Recorded episodes as chat SFT data for training stacks (`guiagent dataset export --format sft|agentnet`).

`sft` writes OUT/sft.jsonl in TRL's conversational vision layout, one sample per step:

    {"messages": [{"role": "system", "content": [{"type": "text", "text": ...}]},
                  {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": task + history}]},
                  {"role": "assistant", "content": [{"type": "text", "text": the action}]}],
     "images": ["images/<episode>/<frame>.png"], "meta": {...}}

with the action written in the family's answer format and coordinate convention
(guiagent.recorder.sft_actions). Beside it, OUT/sft_llamafactory.json + OUT/dataset_info.json hold
the same samples in LLaMA-Factory's sharegpt layout (string contents, an `<image>` placeholder
where the image part was). Image paths are relative to OUT.

`agentnet` writes OUT/agentnet.jsonl: per step the task, the screenshot path, the thought and
the pyautogui code with coordinates normalized to 0..1 (AgentNet / OpenCUA's convention).

Typed text is exported as recorded: the recorder already replaced secrets with `{{name}}`
placeholders, and they stay placeholders here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, assert_never

from grounding.coord_parse import Size, smart_resize
from guiagent.formats.aitw import NotRepresentable
from guiagent.recorder.export import EpisodeCallback, ExportReport, _Images, _write_jsonl, iter_episodes
from guiagent.recorder.sft_actions import (
    SFT_FAMILIES,
    SftFamily,
    agentnet_code,
    is_sft_family,
    qwen25vl_answer,
    showui_answers,
    uitars_answer,
)
from guiagent.schema import Step, Trajectory
from guiagent.schema.errors import ConfigError, RecordingError

HISTORY = 4  # previous actions quoted in the user turn
QWEN_MIN_PIXELS = 56 * 56
QWEN_MAX_PIXELS = 28 * 28 * 1280  # the processor default; pass the one you train with

_SYSTEM: dict[str, str] = {
    "uitars": ("You are a GUI agent. You are given a task and your action history, with screenshots. "
               "Output the next action.\n## Output Format\nThought: ...\nAction: ...\n## Action Space\n"
               "click(start_box='(x,y)'), left_double(start_box='(x,y)'), right_single(start_box='(x,y)'), "
               "long_press(start_box='(x,y)'), drag(start_box='(x1,y1)', end_box='(x2,y2)'), "
               "hotkey(key=''), type(content=''), scroll(start_box='(x,y)', direction='down or up or right "
               "or left'), open_app(app_name=''), press_back(), press_home(), wait(), finished(content=''), "
               "call_user()\nCoordinates are integers from 0 to 1000 of the screenshot."),
    "qwen25vl": ("You are a helpful assistant operating a {device} through the `{tool}` function. The "
                 "screenshot is {w}x{h} pixels; coordinates are pixels of it. Call the function once per "
                 "step inside <tool_call></tool_call> tags."),
    "showui": ("You are an assistant trained to navigate the {device} screen. Given a task instruction, a "
               "screen observation, and an action history sequence, output the next action and wait for the "
               "next observation. Actions: {{'action': ACTION_TYPE, 'value': VALUE, 'position': [x, y]}}, "
               "positions relative to the screenshot from 0 to 1; ACTION_TYPE is one of {actions}."),
}


def check_family(family: str) -> SftFamily:
    if is_sft_family(family):
        return family
    raise ConfigError(f"unknown SFT family {family!r}; choose one of: {', '.join(SFT_FAMILIES)}")


def _frame_size(folder: Path, step: Step) -> Size:
    from PIL import Image

    with Image.open(folder / str(step.frame)) as img:
        return img.size


def _answers(family: SftFamily, step: Step, mobile: bool, seen: Size) -> list[str]:
    assert step.action is not None
    match family:
        case "uitars":
            return [uitars_answer(step.action, step.decision.thought if step.decision else "")]
        case "qwen25vl":
            return [qwen25vl_answer(step.action, seen, mobile)]
        case "showui":
            return showui_answers(step.action, mobile)
        case _:
            assert_never(family)


def _system(family: SftFamily, mobile: bool, seen: Size) -> str:
    device = "phone" if mobile else "computer"
    actions = "TAP, INPUT, SWIPE, ENTER, ANSWER" if mobile else "CLICK, INPUT, SCROLL, ENTER, ANSWER"
    return _SYSTEM[family].format(device=device, tool="mobile_use" if mobile else "computer_use",
                                  w=seen[0], h=seen[1], actions=actions)


def _user_text(task: str, history: list[str]) -> str:
    text = f"Task: {task}"
    if history:
        text += "\nPrevious actions:\n" + "\n".join(f"{i + 1}. {h}" for i, h in enumerate(history[-HISTORY:]))
    return text


def sft_samples(folder: Path, traj: Trajectory, family: SftFamily, images: _Images, report: ExportReport,
                *, max_pixels: int = QWEN_MAX_PIXELS) -> Iterator[dict[str, Any]]:
    """One episode as chat samples (steps the family cannot express are counted in report.skipped)."""
    mobile = traj.meta.platform == "android"
    history: list[str] = []
    for step in traj.steps:
        if step.action is None:
            report.skipped["no action"] += 1
            continue
        if not step.frame:
            report.skipped["no frame"] += 1
            continue
        size = _frame_size(folder, step)
        seen = smart_resize(size[0], size[1], min_pixels=QWEN_MIN_PIXELS, max_pixels=max_pixels)
        try:
            answers = _answers(family, step, mobile, seen)
        except NotRepresentable as exc:
            report.skipped[f"no {family} form: {exc}"] += 1
            continue
        image = images.link(folder, traj, step)
        for answer in answers:
            yield {
                "messages": [
                    {"role": "system", "content": [{"type": "text", "text": _system(family, mobile, seen)}]},
                    {"role": "user", "content": [{"type": "image"},
                                                 {"type": "text", "text": _user_text(traj.meta.task, history)}]},
                    {"role": "assistant", "content": [{"type": "text", "text": answer}]},
                ],
                "images": [image],
                "meta": {"episode_id": traj.meta.id, "step": step.index, "family": family,
                         "platform": traj.meta.platform, "image_size": list(size),
                         **({"seen_size": list(seen)} if family == "qwen25vl" else {})},
            }
            history.append(answer.replace("\n", " "))


def to_llamafactory(sample: dict[str, Any]) -> dict[str, Any]:
    """A TRL-layout sample in LLaMA-Factory's sharegpt layout: string contents, `<image>` placeholders."""
    messages = []
    for m in sample["messages"]:
        text = "".join("<image>" if part["type"] == "image" else part["text"] for part in m["content"])
        messages.append({"role": m["role"], "content": text})
    return {"messages": messages, "images": sample["images"]}


LLAMAFACTORY_INFO = {
    "guiagent_sft": {
        "file_name": "sft_llamafactory.json", "formatting": "sharegpt",
        "columns": {"messages": "messages", "images": "images"},
        "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                 "assistant_tag": "assistant", "system_tag": "system"},
    }
}


def export_sft(dirs: Iterable[Path], out: Path, family: str, *, max_pixels: int = QWEN_MAX_PIXELS,
               on_episode: EpisodeCallback | None = None) -> ExportReport:
    fam = check_family(family)
    out.mkdir(parents=True, exist_ok=True)
    report = ExportReport(f"sft/{fam}", out)
    images = _Images(out)
    samples: list[dict[str, Any]] = []

    def rows() -> Iterator[str]:
        for folder, traj in iter_episodes(dirs, on_episode):
            report.episodes += 1
            for sample in sft_samples(folder, traj, fam, images, report, max_pixels=max_pixels):
                samples.append(sample)
                yield json.dumps(sample, ensure_ascii=False)

    path = out / "sft.jsonl"
    report.steps = _write_jsonl(path, rows())
    if not report.steps:
        raise RecordingError("nothing to export: no step of these episodes has a frame and a "
                             f"{fam}-expressible action")
    lf = out / "sft_llamafactory.json"
    lf.write_text(json.dumps([to_llamafactory(s) for s in samples], ensure_ascii=False, indent=1), encoding="utf-8")
    info = out / "dataset_info.json"
    info.write_text(json.dumps(LLAMAFACTORY_INFO, indent=1) + "\n", encoding="utf-8")
    report.files += [path, lf, info]
    return report


def export_agentnet(dirs: Iterable[Path], out: Path, *, on_episode: EpisodeCallback | None = None) -> ExportReport:
    out.mkdir(parents=True, exist_ok=True)
    report = ExportReport("agentnet", out)
    images = _Images(out)

    def rows() -> Iterator[str]:
        for folder, traj in iter_episodes(dirs, on_episode):
            report.episodes += 1
            for step in traj.steps:
                if step.action is None or not step.frame:
                    report.skipped["no action" if step.action is None else "no frame"] += 1
                    continue
                try:
                    code = agentnet_code(step.action)
                except NotRepresentable as exc:
                    report.skipped[f"no pyautogui form: {exc}"] += 1
                    continue
                yield json.dumps({
                    "task": traj.meta.task, "episode_id": traj.meta.id, "step": step.index,
                    "image": images.link(folder, traj, step), "image_size": list(_frame_size(folder, step)),
                    "thought": step.decision.thought if step.decision else "", "code": code,
                    "coordinates": "normalized",
                }, ensure_ascii=False)

    path = out / "agentnet.jsonl"
    report.steps = _write_jsonl(path, rows())
    report.files.append(path)
    return report
