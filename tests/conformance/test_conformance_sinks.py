"""One contract for every StepSink (where the loop's steps go): plain episode folders in each
frame format, and the redacting writer used for recordings and daemon runs. A sink stores what
it is given in order, names the frame it kept, makes each step durable before returning, lets
a reader see every stored step while it is still writing, and refuses steps once closed."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from guiagent.agent import StepSink
from guiagent.recorder.episode import EpisodeWriter, read_episode
from guiagent.recorder.redact import Redactor
from guiagent.schema import Click, Element, EpisodeMeta, Outcome, Role, Step, Target, TokenUsage
from guiagent.schema.errors import RecordingError

SinkFactory = Callable[[Path], EpisodeWriter]

SINKS: dict[str, SinkFactory] = {
    "episode-png": lambda d: EpisodeWriter(d, EpisodeMeta(id="e", task="t")),
    "episode-jpeg": lambda d: EpisodeWriter(d, EpisodeMeta(id="e", task="t"), frame_format="jpeg"),
    "episode-redacting": lambda d: EpisodeWriter(d, EpisodeMeta(id="e", task="t"),
                                                 redactor=Redactor.from_specs(["0,0,10,10"])),
}


@pytest.fixture(params=sorted(SINKS))
def make_sink(request: pytest.FixtureRequest) -> SinkFactory:
    return SINKS[request.param]


def step(i: int) -> Step:
    button = Element(id="b1", role=Role.BUTTON, name="OK", bbox=(40, 40, 80, 60), clickable=True)
    return Step(index=i, screen_size=(120, 80), elements=[button], action=Click(target=Target.at(0.5, 0.6)),
                target_element=button, outcome=Outcome(status="ok", screen_changed=True),
                usage=TokenUsage(prompt_tokens=10 * i, completion_tokens=i, calls=1))


def frame(i: int) -> Image.Image:
    return Image.new("RGB", (120, 80), (20 * i, 100, 200))


def test_is_a_step_sink(make_sink: SinkFactory, tmp_path: Path) -> None:
    sink = make_sink(tmp_path / "ep")
    assert isinstance(sink, StepSink)
    sink.close("success")


def test_stores_steps_in_order_with_their_frames(make_sink: SinkFactory, tmp_path: Path) -> None:
    sink = make_sink(tmp_path / "ep")
    stored = [sink.add_step(step(i), frame(i)) for i in range(3)]
    stored.append(sink.add_step(step(3), None))  # a step without a frame is still a step
    # durable before add_step returns: a reader sees every step while the writer is still open
    live = read_episode(tmp_path / "ep")
    assert [s.index for s in live.steps] == [0, 1, 2, 3]
    sink.close("success", reason="done")
    episode = read_episode(tmp_path / "ep")
    assert [s.index for s in episode.steps] == [0, 1, 2, 3]
    for s in stored[:3]:
        assert s.frame is not None and (tmp_path / "ep" / s.frame).is_file()
        with Image.open(tmp_path / "ep" / s.frame) as im:
            assert im.size == (120, 80)
    assert stored[3].frame is None
    assert [s.usage for s in episode.steps] == [step(i).usage for i in range(4)]
    assert episode.meta.status == "success" and episode.meta.steps == 4


def test_refuses_steps_once_closed_and_close_is_idempotent(make_sink: SinkFactory, tmp_path: Path) -> None:
    sink = make_sink(tmp_path / "ep")
    sink.add_step(step(0), frame(0))
    sink.close("failed", reason="stopped")
    sink.close("success")  # the first close wins
    with pytest.raises(RecordingError):
        sink.add_step(step(1), frame(1))
    assert read_episode(tmp_path / "ep").meta.status == "failed"


def test_concurrent_steps_are_neither_lost_nor_interleaved(make_sink: SinkFactory, tmp_path: Path) -> None:
    sink = make_sink(tmp_path / "ep")
    threads = [threading.Thread(target=lambda i=i: sink.add_step(step(i), frame(i % 5))) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sink.close("success")
    assert sorted(s.index for s in read_episode(tmp_path / "ep").steps) == list(range(12))


def test_one_folder_one_live_writer(make_sink: SinkFactory, tmp_path: Path) -> None:
    sink = make_sink(tmp_path / "ep")
    with pytest.raises(RecordingError):
        make_sink(tmp_path / "ep")  # a second writer on a live episode folder
    sink.add_step(step(0), frame(0))
    sink.close("success")
    with pytest.raises(RecordingError):
        make_sink(tmp_path / "ep")  # and a finished episode is never appended to by a new writer
