"""Episodes on disk: writer, tolerant reader, repair, crash safety (real SIGKILL), report."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from PIL import Image
from waiting import wait_until

from guiagent.recorder import EpisodeWriter, Redactor, list_episodes, read_episode, repair_episode
from guiagent.recorder.episode import INTERRUPTED, writer_alive
from guiagent.recorder.redact import MASK, parse_region
from guiagent.recorder.report import write_report
from guiagent.schema import (
    Click,
    Decision,
    Drag,
    Element,
    EpisodeMeta,
    GuardDecision,
    Key,
    Role,
    Step,
    Target,
    TokenUsage,
    TypeText,
)
from guiagent.schema.errors import RecordingError

ROOT = Path(__file__).resolve().parents[2]


def frame(color: str = "white") -> Image.Image:
    return Image.new("RGB", (320, 200), color)


def test_write_read_close_roundtrip(tmp_path: Path) -> None:
    folder = tmp_path / "ep"
    w = EpisodeWriter(folder, EpisodeMeta(id="e1", task="tick Subscribe", screen_size=(320, 200)))
    assert json.loads((folder / "meta.json").read_text())["status"] == "running"
    el = Element(id="a1", role=Role.CHECKBOX, name="Subscribe", bbox=(10, 20, 90, 40))
    s0 = w.add_step(Step(index=0, action=Click(target=Target.at(0.1, 0.15)), target_element=el), frame("red"))
    w.add_step(Step(index=1, action=Key(keys="ctrl+s")), None)
    assert s0.frame == "frames/000000.png"
    assert (folder / s0.frame).is_file()
    live = read_episode(folder)
    assert live.meta.status == "running" and len(live.steps) == 2  # a live writer holds the lock
    w.close("success", answer="done", usage=TokenUsage(prompt_tokens=5, calls=1))
    w.close("failed")  # idempotent: the first close wins
    traj = read_episode(folder)
    assert traj.meta.status == "success" and traj.meta.steps == 2 and traj.meta.answer == "done"
    assert traj.meta.usage.prompt_tokens == 5 and traj.meta.ended_at is not None
    assert traj.steps[0].target_element == el
    assert traj.steps[1].action == Key(keys=("ctrl", "s")) and traj.steps[1].frame is None
    assert Image.open(folder / traj.steps[0].frame).getpixel((0, 0)) == (255, 0, 0)
    assert not (folder / "writer.lock").exists()
    with pytest.raises(RecordingError, match="closed"):
        w.add_step(Step(index=2), None)
    with pytest.raises(RecordingError, match="already holds an episode"):
        EpisodeWriter(folder, EpisodeMeta(id="again", task="x"))


def test_jpeg_frames_and_bad_format(tmp_path: Path) -> None:
    w = EpisodeWriter(tmp_path / "j", EpisodeMeta(id="j", task="t"), frame_format="jpg")
    s = w.add_step(Step(index=3), frame().convert("RGBA"))
    assert s.frame == "frames/000003.jpg"
    w.close("success")
    with pytest.raises(Exception, match="frame format"):
        EpisodeWriter(tmp_path / "k", EpisodeMeta(id="k", task="t"), frame_format="bmp")


def test_add_step_is_thread_safe(tmp_path: Path) -> None:
    w = EpisodeWriter(tmp_path / "t", EpisodeMeta(id="t", task="t"))

    def worker(base: int) -> None:
        for i in range(25):
            w.add_step(Step(index=base + i, action=TypeText(text="x" * 200)), None)

    threads = [threading.Thread(target=worker, args=(k * 100,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    w.close("success")
    traj = read_episode(tmp_path / "t")
    assert sorted(s.index for s in traj.steps) == sorted(k * 100 + i for k in range(4) for i in range(25))


def _episode(tmp_path: Path, n: int = 3) -> Path:
    folder = tmp_path / "ep"
    w = EpisodeWriter(folder, EpisodeMeta(id="e", task="t"))
    for i in range(n):
        w.add_step(Step(index=i, action=Click(target=Target.at(0.5, 0.5))), None)
    w.close("success")
    return folder


def test_truncated_last_line_is_dropped_with_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = _episode(tmp_path)
    with open(folder / "steps.jsonl", "ab") as f:
        f.write(b'{"index": 3, "action": {"type": "cli')
    with caplog.at_level(logging.WARNING):
        traj = read_episode(folder)
    assert len(traj.steps) == 3
    assert "steps.jsonl:4" in caplog.text


def test_corrupt_middle_line_names_file_and_line_then_repair(tmp_path: Path) -> None:
    folder = _episode(tmp_path)
    lines = (folder / "steps.jsonl").read_bytes().splitlines(keepends=True)
    lines[1] = b"garbage\n"
    (folder / "steps.jsonl").write_bytes(b"".join(lines))
    with pytest.raises(RecordingError, match=r"steps\.jsonl:2"):
        read_episode(folder)
    report = repair_episode(folder)
    assert report.dropped_lines == [2] and report.kept_steps == 2 and not report.closed
    assert [s.index for s in read_episode(folder).steps] == [0, 2]
    assert read_episode(folder).meta.steps == 2


def test_missing_or_future_meta_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="meta.json is missing"):
        read_episode(tmp_path)
    folder = _episode(tmp_path)
    meta = json.loads((folder / "meta.json").read_text())
    meta["schema_version"] = 99
    (folder / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(RecordingError, match="schema_version"):
        read_episode(folder)


def test_list_episodes(tmp_path: Path) -> None:
    for name in ("b", "a/x"):
        EpisodeWriter(tmp_path / name, EpisodeMeta(id=name, task="t")).close("success")
    assert list_episodes(tmp_path) == [tmp_path / "a/x", tmp_path / "b"]
    assert list_episodes(tmp_path / "b") == [tmp_path / "b"]
    with pytest.raises(RecordingError):
        list_episodes(tmp_path / "nope")


CRASHER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from PIL import Image
    from guiagent.recorder import EpisodeWriter
    from guiagent.schema import Click, EpisodeMeta, Step, Target
    w = EpisodeWriter(Path(sys.argv[1]), EpisodeMeta(id="crash", task="crash test"))
    i = 0
    while True:
        img = Image.effect_noise((640, 400), 60).convert("RGB")  # incompressible: slow frame writes
        w.add_step(Step(index=i, action=Click(target=Target.at(0.5, 0.5))), img)
        i += 1
""")


def test_sigkill_mid_episode_keeps_it_readable(tmp_path: Path) -> None:
    folder = tmp_path / "crash"
    proc = subprocess.Popen([sys.executable, "-c", CRASHER, str(folder)], cwd=ROOT)
    try:
        def eight_steps() -> bool:
            assert proc.poll() is None, "the writer process died on its own"
            steps = folder / "steps.jsonl"
            return steps.exists() and steps.read_bytes().count(b"\n") >= 8

        wait_until(eight_steps, timeout=60, what="8 steps written by the writer process")
        assert writer_alive(folder)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not writer_alive(folder)  # the kernel released the flock
    traj = read_episode(folder)
    assert traj.meta.status == "stopped" and traj.meta.reason == INTERRUPTED
    assert len(traj.steps) >= 8
    for s in traj.steps:  # every recorded step names a complete frame
        assert s.frame is not None
        Image.open(folder / s.frame).load()
    assert json.loads((folder / "meta.json").read_text())["status"] == "running"  # reading did not rewrite
    report = repair_episode(folder)
    assert report.closed and report.status == "stopped" and report.kept_steps == len(traj.steps)
    assert json.loads((folder / "meta.json").read_text())["status"] == "stopped"


def test_password_typing_never_reaches_disk(tmp_path: Path) -> None:
    secret = "hunter2-Secret!"
    pw = Element(id="p", role=Role.TEXT_FIELD, name="Password", value=secret, bbox=(100, 50, 200, 70),
                 editable=True, focused=True, password=True)
    name = Element(id="n", role=Role.TEXT_FIELD, name="Name", bbox=(100, 10, 200, 30), editable=True)
    red = Redactor.from_specs(["0,150,50,50"])
    w = EpisodeWriter(tmp_path / "r", EpisodeMeta(id="r", task="log in"), redactor=red)
    w.add_step(Step(index=0, action=TypeText(text="Ada"), target_element=name, elements=[name, pw]), frame())
    decision = Decision(thought=f"I will type {secret} into Password", raw=f'{{"text": "{secret}"}}',
                        action=TypeText(text=secret, target=Target(element="p")))
    stored = w.add_step(Step(index=1, action=TypeText(text=secret, target=Target(element="p")),
                             decision=decision, elements=[name, pw]), frame())
    w.add_step(Step(index=2, action=TypeText(text=secret), elements=[name, pw]), frame())  # focused field
    w.close("success")
    assert stored.action == TypeText(text=MASK, target=Target(element="p"))
    traj = read_episode(tmp_path / "r")
    assert [s.action.text for s in traj.steps if isinstance(s.action, TypeText)] == ["Ada", MASK, MASK]
    for path in (tmp_path / "r").rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
            assert b"hunter2" not in path.read_bytes(), path
    img = Image.open(tmp_path / "r" / traj.steps[0].frame)
    assert img.getpixel((10, 160)) == (0, 0, 0)  # configured region blanked
    assert img.getpixel((150, 60)) == (0, 0, 0)  # password field blanked
    assert img.getpixel((150, 20)) == (255, 255, 255)  # the rest kept


def test_parse_region_errors() -> None:
    assert parse_region("1,2,3,4") == (1, 2, 3, 4)
    for bad in ("1,2,3", "a,b,c,d", "0,0,0,5"):
        with pytest.raises(Exception, match="redact region"):
            parse_region(bad)


def test_report_draws_actions_over_relative_frames(tmp_path: Path) -> None:
    folder = tmp_path / "rep"
    w = EpisodeWriter(folder, EpisodeMeta(id="r", task="submit <form>", screen_size=(320, 200)))
    el = Element(id="b", role=Role.BUTTON, name="Submit", bbox=(100, 100, 180, 130))
    w.add_step(Step(index=0, action=Click(target=Target.at(0.5, 0.5)), target_element=el,
                    decision=Decision(thought="click it", action=Click(target=Target.described("Submit"))),
                    guard=GuardDecision(verdict="allow"), timings_ms={"decide": 12.0}), frame())
    w.add_step(Step(index=1, action=Drag(start=Target.at(0.1, 0.1), end=Target.at(0.9, 0.9))), frame())
    w.add_step(Step(index=2, action=TypeText(text="Ada <b>", submit=True)), frame())
    w.close("success")
    out = write_report(folder)
    html = out.read_text()
    assert 'href="frames/000000.png"' in html and "/tmp" not in html.split("<body>")[1]
    assert '<circle cx="160.0" cy="100.0"' in html  # the click point on a 320x200 frame
    assert 'marker-end="url(#head)"' in html  # the drag arrow
    assert "Ada &lt;b&gt;" in html and "submit &lt;form&gt;" in html  # escaped
    assert 'width="80" height="30"' in html  # the target element box
    assert "click it" in html and "allow" in html and "decide 12 ms" in html
