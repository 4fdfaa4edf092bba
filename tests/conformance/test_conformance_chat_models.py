"""One contract for every ChatModel: the OpenAI-compatible client against the project's real
scripted HTTP server, and the transformers backend on tiny Qwen2-VL / Qwen2.5-VL checkpoints
built offline. Each must answer text with its usage, take screenshots, account for every call,
fail with ModelError (never a raw exception) once it cannot answer, and close idempotently."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from openai_server import OpenAIServer
from PIL import Image
from tiny_models import build_tiny_qwen2_vl

from grounding.models.base import ChatMessage, ChatModel, ChatReply
from guiagent.schema.errors import ModelError

Factory = Callable[[], ChatModel]


@pytest.fixture(scope="module")
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer(lambda req: f"seen {len(req.texts)} text part(s)") as srv:
        yield srv


@pytest.fixture(scope="module")
def tiny_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {v: build_tiny_qwen2_vl(tmp_path_factory.mktemp(v), variant=v) for v in ("qwen2_vl", "qwen2_5_vl")}


@pytest.fixture(params=["openai", "hf-qwen2_vl", "hf-qwen2_5_vl"])
def make_model(request: pytest.FixtureRequest, server: OpenAIServer, tiny_dirs: dict[str, Path]) -> Factory:
    from guiagent.registry import build_chat_model

    kind = request.param
    if kind == "openai":
        return lambda: build_chat_model(base_url=server.url, model="scripted", max_retries=0)
    path = tiny_dirs[kind.removeprefix("hf-")]
    return lambda: build_chat_model(model_path=str(path), device="cpu")


def screen(size: tuple[int, int] = (320, 200)) -> Image.Image:
    img = Image.new("RGB", size, "white")
    img.paste((30, 80, 200), (200, 150, 260, 180))
    return img


def test_text_in_text_out_with_usage(make_model: Factory) -> None:
    with make_model() as model:
        reply = model.chat([ChatMessage("system", "You are terse."), ChatMessage("user", "hello")], max_tokens=8)
    assert isinstance(reply, ChatReply) and isinstance(reply.text, str)
    assert reply.usage.calls == 1 and reply.usage.prompt_tokens > 0
    assert reply.latency_ms >= 0.0


def test_screenshots_go_along_and_sizes_are_reported_when_promised(make_model: Factory) -> None:
    with make_model() as model:
        reply = model.chat([ChatMessage("user", "where is the blue box?", (screen(),))], max_tokens=8)
        if model.reports_image_sizes:  # a backend that resizes says how, so points can be mapped back
            assert len(reply.image_sizes) == 1 and reply.image_sizes[0][0] == (320, 200)
    assert reply.usage.calls == 1


def test_every_call_is_counted(make_model: Factory) -> None:
    with make_model() as model:
        replies = [model.chat([ChatMessage("user", "q" * n)], max_tokens=4) for n in (1, 50, 200)]
    assert [r.usage.calls for r in replies] == [1, 1, 1]
    assert replies[2].usage.prompt_tokens > replies[0].usage.prompt_tokens  # a longer prompt costs more


def test_closed_model_fails_with_model_error_and_close_is_idempotent(make_model: Factory) -> None:
    model = make_model()
    model.close()
    model.close()
    with pytest.raises(ModelError):
        model.chat([ChatMessage("user", "still there?")], max_tokens=4)
