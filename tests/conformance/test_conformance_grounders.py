"""One contract, every Grounder: on the same real (rendered) screen, a present target comes
back as a point inside it; an absent one, an empty description or a useless model reply raise
GroundingError and nothing else. Model grounders run through the real clients: the
OpenAI-compatible ones against the local test server, the local one on a tiny Qwen2-VL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from openai_server import OpenAIServer
from PIL import Image, ImageDraw, ImageFont

from grounding.base import Grounder, GroundingResult
from guiagent.schema import Element, Observation, Role
from guiagent.schema.errors import GroundingError

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
SUBMIT = (140, 200, 280, 244)


def screen() -> Observation:
    im = Image.new("RGB", (800, 500), (240, 240, 240))
    d = ImageDraw.Draw(im)
    font = ImageFont.truetype(FONT, 18)
    d.text((40, 52), "Name", fill="black", font=font)
    d.rectangle((140, 40, 500, 80), fill="white", outline="gray")
    d.rounded_rectangle(SUBMIT, 8, fill=(40, 100, 200))
    d.text((170, 210), "Submit", fill="white", font=font)
    elements = (
        Element(id="1", role=Role.TEXT, name="Name", bbox=(40, 52, 95, 72), source="ocr"),
        Element(id="2", role=Role.TEXT_FIELD, name="", bbox=(140, 40, 500, 80), editable=True, source="detector"),
        Element(id="3", role=Role.BUTTON, name="Submit", bbox=SUBMIT, clickable=True),
    )
    return Observation(screenshot=im, elements=elements, screen_size=im.size)


def _cx() -> tuple[float, float]:
    return (SUBMIT[0] + SUBMIT[2]) / 2 / 800, (SUBMIT[1] + SUBMIT[3]) / 2 / 500


@contextmanager
def _text() -> Iterator[tuple[Grounder, bool]]:
    from grounding.text_matcher import TextGrounder

    yield TextGrounder(semantic=False), True


@contextmanager
def _vlm_endpoint() -> Iterator[tuple[Grounder, bool]]:
    from guiagent.registry import build_grounder

    x, y = _cx()
    replies = [f"[{x:.3f}, {y:.3f}]", "I can't find that on the screen."]
    with OpenAIServer(replies) as srv:
        yield build_grounder("vlm", base_url=srv.url, model="showui", family="showui", max_retries=0), True


@contextmanager
def _openai() -> Iterator[tuple[Grounder, bool]]:
    from guiagent.registry import build_grounder

    x, y = _cx()
    with OpenAIServer([f"({x * 1000:.0f}, {y * 1000:.0f})", "no idea"]) as srv:
        yield build_grounder("openai", base_url=srv.url, model="gpt", max_retries=0), True


@contextmanager
def _vlm_local_tiny(tmp_dir) -> Iterator[tuple[Grounder, bool]]:
    from tiny_models import build_tiny_qwen2_vl

    from guiagent.registry import build_grounder

    path = build_tiny_qwen2_vl(tmp_dir / "qwen2vl")
    g = build_grounder("vlm", model_path=str(path), family="qwen2vl", max_tokens=8)
    yield g, False  # random weights: its answers are noise, only the contract holds
    g.close()


BUILDERS: dict[str, Callable[..., object]] = {
    "text": _text, "vlm-endpoint": _vlm_endpoint, "openai": _openai, "vlm-local-tiny": _vlm_local_tiny,
}


@pytest.fixture(params=sorted(BUILDERS))
def grounder(request, tmp_path) -> Iterator[tuple[Grounder, bool]]:
    builder = BUILDERS[request.param]
    cm = builder(tmp_path) if request.param == "vlm-local-tiny" else builder()
    with cm as pair:
        yield pair


def test_grounder_contract(grounder: tuple[Grounder, bool]) -> None:
    g, trained = grounder
    obs = screen()
    assert isinstance(g.name, str) and g.name
    try:
        result = g.ground("the Submit button", obs)
    except GroundingError:
        assert not trained, "a working grounder must find a visible button"
    else:
        assert isinstance(result, GroundingResult)
        assert 0.0 <= result.point.x <= 1.0 and 0.0 <= result.point.y <= 1.0
        if trained:
            px, py = result.point.x * 800, result.point.y * 500
            assert SUBMIT[0] <= px <= SUBMIT[2] and SUBMIT[1] <= py <= SUBMIT[3]
    if trained:  # a second, useless answer (or an absent target) is an error, not a guess
        with pytest.raises(GroundingError):
            g.ground("the Frobnicate quux slider", obs)
    with pytest.raises(GroundingError):
        g.ground("", obs)
