"""OpenAIChat against a real local OpenAI-compatible HTTP server (tests/openai_server.py)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from openai_server import OpenAIServer, RecordedRequest, Reply
from PIL import Image, ImageDraw

from grounding.models.base import ChatMessage
from grounding.models.openai_client import OpenAIChat, normalize_base_url, parse_retry_after
from guiagent.registry import build_chat_model
from guiagent.schema import TokenUsage
from guiagent.schema.errors import ConfigError, ModelError


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer() as srv:
        yield srv


def client(srv: OpenAIServer, **kw: object) -> OpenAIChat:
    opts: dict[str, object] = {"base_url": srv.url, "model": "tiny-test", "backoff_s": 0.01, "timeout_s": 10.0}
    opts.update(kw)
    return OpenAIChat(**opts)  # type: ignore[arg-type]


def screenshot() -> Image.Image:
    img = Image.new("RGB", (320, 200), "white")
    ImageDraw.Draw(img).rectangle((200, 150, 300, 190), fill="navy")
    return img


def test_success_with_image_as_data_url_and_usage(server: OpenAIServer) -> None:
    server.push("(512, 384)")
    with client(server) as model:
        reply = model.chat(
            [ChatMessage("system", "You ground."), ChatMessage("user", "Where is OK?", (screenshot(),))],
            max_tokens=32,
        )
    assert reply.text == "(512, 384)"
    assert reply.model == "tiny-test" and reply.finish_reason == "stop" and not reply.usage_estimated
    assert reply.usage == server.usage_sent and reply.usage.prompt_tokens > 100 and reply.usage.calls == 1
    (req,) = server.requests
    assert req.path == "/v1/chat/completions"
    assert req.body["model"] == "tiny-test" and req.body["max_tokens"] == 32 and req.body["temperature"] == 0.0
    assert req.messages[0] == {"role": "system", "content": "You ground."}
    assert req.image_urls[0].startswith("data:image/png;base64,")
    (img,) = req.images
    assert img.size == (320, 200) and img.convert("RGB").getpixel((250, 170)) == (0, 0, 128)
    assert req.texts == ["You ground.", "Where is OK?"]
    assert "authorization" not in req.headers  # no key configured -> none sent


def test_jpeg_images(server: OpenAIServer) -> None:
    server.push("ok")
    with client(server, image_format="jpeg") as model:
        model.chat([ChatMessage("user", "look", (screenshot().convert("RGBA"),))])
    assert server.requests[0].image_urls[0].startswith("data:image/jpeg;base64,")
    assert server.requests[0].images[0].format == "JPEG"


def test_429_with_retry_after_is_honoured_then_succeeds(server: OpenAIServer) -> None:
    server.push(Reply.error(429, "slow down", retry_after=1), "fine")
    with client(server, max_retries=3) as model:
        reply = model.chat([ChatMessage("user", "hi")])
    assert reply.text == "fine"
    assert len(server.requests) == 2
    # waited at least what the server asked (a lower bound: robust on a loaded machine)
    assert server.requests[1].time - server.requests[0].time >= 0.9


def test_retry_after_beyond_max_wait_fails_fast(server: OpenAIServer) -> None:
    server.push(Reply.error(429, retry_after=3600))
    with client(server, max_wait_s=5) as model, pytest.raises(ModelError, match="retry after 3600"):
        model.chat([ChatMessage("user", "hi")])
    assert len(server.requests) == 1


def test_500s_until_giving_up(server: OpenAIServer) -> None:
    server.default = Reply.error(500, "boom")
    with client(server, max_retries=2) as model, pytest.raises(ModelError) as info:
        model.chat([ChatMessage("user", "hi")])
    assert "after 3 attempt(s)" in str(info.value) and "HTTP 500" in str(info.value) and "boom" in str(info.value)
    assert len(server.requests) == 3


def test_503_then_success_counts_requests(server: OpenAIServer) -> None:
    server.push(Reply.error(503), Reply.error(502), "third time")
    with client(server, max_retries=3) as model:
        assert model.chat([ChatMessage("user", "hi")]).text == "third time"
    assert len(server.requests) == 3


@pytest.mark.parametrize(("status", "hint"), [(400, "HTTP 400"), (401, "OPENAI_API_KEY"), (404, "model name")])
def test_4xx_is_not_retried(server: OpenAIServer, status: int, hint: str) -> None:
    server.push(Reply.error(status, "nope"))
    with client(server, max_retries=3) as model, pytest.raises(ModelError, match=hint):
        model.chat([ChatMessage("user", "hi")])
    assert len(server.requests) == 1


def test_timeout_is_a_clear_error_and_not_retried(server: OpenAIServer) -> None:
    server.push(Reply.hang(30))
    with client(server, timeout_s=0.5, max_retries=3) as model, pytest.raises(ModelError, match="did not answer within 0.5"):
        model.chat([ChatMessage("user", "hi")])
    assert len(server.requests) == 1


def test_connection_refused_is_retried_then_clear() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    model = OpenAIChat(base_url=f"http://127.0.0.1:{port}/v1", model="m", max_retries=1, backoff_s=0.01)
    with model, pytest.raises(ModelError, match=r"after 2 attempt\(s\): cannot connect"):
        model.chat([ChatMessage("user", "hi")])


def test_truncated_json_body(server: OpenAIServer) -> None:
    server.push(Reply.truncated("(1, 2)"))
    with client(server) as model, pytest.raises(ModelError, match="not valid JSON"):
        model.chat([ChatMessage("user", "hi")])


def test_body_cut_short_in_transit_is_retried(server: OpenAIServer) -> None:
    server.push(Reply.cut_short("(1, 2)"), "whole")
    with client(server, max_retries=2) as model:
        assert model.chat([ChatMessage("user", "hi")]).text == "whole"
    assert len(server.requests) == 2
    server.default = Reply.cut_short("(1, 2)")
    with client(server, max_retries=1) as model, pytest.raises(ModelError, match="cut short"):
        model.chat([ChatMessage("user", "hi")])


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply.json({"id": "x", "object": "chat.completion"}), "no choices"),
        (Reply.json({"choices": []}), "no choices"),
        (Reply.json({"choices": [{"message": {"role": "assistant", "content": None}}]}), "no message text"),
        (Reply.json({"choices": [{"text": "legacy"}]}), "no message text"),
        (Reply.json({"error": {"message": "model overloaded"}}), "model overloaded"),
        (Reply.json([1, 2, 3]), "not an object"),
        (Reply.raw("<html>gateway</html>", content_type="text/html"), "not valid JSON"),
        (Reply.raw(b"\xff\xfe\x00garbage"), "not valid JSON"),
    ],
)
def test_malformed_replies(server: OpenAIServer, reply: Reply, message: str) -> None:
    server.push(reply)
    with client(server) as model, pytest.raises(ModelError, match=message):
        model.chat([ChatMessage("user", "hi")])


def test_content_parts_and_length_finish(server: OpenAIServer) -> None:
    parts = [{"type": "text", "text": "(1, "}, {"type": "text", "text": "2)"}]
    server.push(Reply.json({"choices": [{"message": {"content": parts}, "finish_reason": "length"}]}))
    with client(server) as model:
        reply = model.chat([ChatMessage("user", "hi")])
    assert reply.text == "(1, 2)" and reply.finish_reason == "length"


def test_usage_estimated_when_absent_and_marked(server: OpenAIServer) -> None:
    server.push(Reply.text("a reply of some words", usage=False))
    with client(server) as model:
        reply = model.chat([ChatMessage("user", "x" * 400, (screenshot(),))])
    assert reply.usage_estimated
    assert reply.usage.prompt_tokens >= 100 + 80  # text (~4 chars a token) + the image's patches
    assert reply.usage.completion_tokens >= 1 and reply.usage.calls == 1


def test_usage_accumulates_over_calls() -> None:
    def echo(req: RecordedRequest) -> str:
        return f"seen {len(req.messages)} message(s) of {len(req.texts[0])} chars"

    with OpenAIServer(echo) as srv, client(srv) as model:
        total = TokenUsage()
        for i in range(3):
            total = total + model.chat([ChatMessage("user", "q" * (40 * i + 1))]).usage
        assert total == srv.usage_sent and total.calls == 3 and len(srv.requests) == 3
        # one message of 40*i+1 characters each: ~4 characters a token, +4 per message
        assert total.prompt_tokens == sum((40 * i + 1 + 3) // 4 + 4 for i in range(3))


def test_environment_fallbacks(server: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUIAGENT_OPENAI_BASE_URL", server.url.removesuffix("/v1"))
    monkeypatch.setenv("GUIAGENT_MODEL", "env-model")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-123")
    server.push("ok")
    with build_chat_model() as model:
        assert isinstance(model, OpenAIChat) and model.name == "openai:env-model"
        model.chat([ChatMessage("user", "hi")])
    req = server.requests[0]
    assert req.headers["authorization"] == "Bearer sk-test-123" and req.body["model"] == "env-model"


def test_configuration_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GUIAGENT_MODEL", raising=False)
    with pytest.raises(ConfigError, match="GUIAGENT_MODEL"):
        OpenAIChat(base_url="http://127.0.0.1:9/v1")
    with pytest.raises(ConfigError, match="http"):
        OpenAIChat(base_url="localhost:8000", model="m")
    with pytest.raises(ConfigError, match="unknown chat backend"):
        build_chat_model(backend="grpc")
    with pytest.raises(ConfigError, match="model_path"):
        build_chat_model(backend="hf")


def test_url_and_retry_after_helpers() -> None:
    assert normalize_base_url("http://h:8000") == "http://h:8000/v1"
    assert normalize_base_url("http://h:11434/v1/") == "http://h:11434/v1"
    assert normalize_base_url("https://api.x.com/v1/chat/completions") == "https://api.x.com/v1"
    assert normalize_base_url("http://h/openai/v1") == "http://h/openai/v1"
    assert parse_retry_after("2") == 2.0 and parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: no wait
