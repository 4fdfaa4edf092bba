"""A real local OpenAI-compatible HTTP server for tests (chat completions, scripted).

It is a threaded `http.server` on 127.0.0.1 (a free port) speaking `POST /v1/chat/completions`
(and `GET /v1/models`). Replies are scripted; every request is recorded.

API
---
    from openai_server import OpenAIServer, Reply   # pytest puts tests/ on sys.path (no __init__.py)

    with OpenAIServer(["(120, 340)", Reply.error(429, retry_after=1), "done"]) as srv:
        model = OpenAIChat(base_url=srv.url, model="test")   # srv.url == "http://127.0.0.1:PORT/v1"
        ...
        srv.requests          # list[RecordedRequest], in arrival order (also failed ones)
        srv.requests[0].body  # the parsed JSON body
        srv.requests[0].image_urls   # every image_url.url in the messages (data URLs expected)
        srv.requests[0].texts        # every text part / string content
        srv.requests[0].images       # the images decoded back to PIL
        srv.requests[0].time         # arrival time (time.monotonic())
        srv.usage_sent        # TokenUsage summed over the usage blocks the server replied with

    OpenAIServer(script)  where `script` is
      - a list of replies, consumed in order (a `str` is shorthand for `Reply.text(str)`);
        when it runs out the server answers `default` (HTTP 500 "script exhausted" unless set);
      - or a callable `fn(request: RecordedRequest) -> Reply | str`.
    srv.push(*replies) appends to the queue at any time.

    Reply.text("...", usage=True|False|dict)  a normal completion; usage=True (default) counts
        prompt tokens as 1 + (characters of all texts) // 4 + 100 per image, completion tokens
        as words of the reply; usage=False omits the usage block (like Ollama).
    Reply.error(status, message="...", retry_after=None)   an HTTP error with an OpenAI error body.
    Reply.hang(seconds)                  wait that long before answering (to exercise timeouts).
    Reply.truncated(text)                a valid completion cut in half, Content-Length matching
                                         (arrives complete over HTTP, but is broken JSON).
    Reply.cut_short(text)                announces a longer Content-Length than it sends, then
                                         closes the connection (a body cut short in transit).
    Reply.raw(body, status=200, content_type="application/json")   any bytes (malformed replies).
    Reply.json(obj, status=200)          any JSON object (e.g. no `choices`).
"""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from guiagent.schema import TokenUsage


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] = field(default_factory=dict)
    time: float = field(default_factory=time.monotonic)  # arrival (time.monotonic())

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages") or [])

    def _parts(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for m in self.messages:
            c = m.get("content")
            if isinstance(c, str):
                out.append({"type": "text", "text": c})
            elif isinstance(c, list):
                out.extend(p for p in c if isinstance(p, dict))
        return out

    @property
    def texts(self) -> list[str]:
        return [p.get("text", "") for p in self._parts() if p.get("type") == "text"]

    @property
    def image_urls(self) -> list[str]:
        return [p["image_url"]["url"] for p in self._parts() if p.get("type") == "image_url"]

    @property
    def images(self) -> list[Any]:
        """The data-URL images decoded (PIL); raises if one is not a base64 data URL."""
        from PIL import Image

        out = []
        for url in self.image_urls:
            header, _, data = url.partition(",")
            if not (header.startswith("data:image/") and header.endswith(";base64")):
                raise ValueError(f"not a base64 image data URL: {url[:60]!r}")
            out.append(Image.open(io.BytesIO(base64.b64decode(data))))
        return out


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    content_length: int | None = None  # announce a different length than sent (cut short)
    text_value: str | None = None  # for completions built per request
    usage: bool | dict[str, int] = True

    @classmethod
    def text(cls, text: str, usage: bool | dict[str, int] = True, finish_reason: str = "stop") -> Reply:
        r = cls(text_value=text, usage=usage)
        r.headers["x-finish-reason"] = finish_reason
        return r

    @classmethod
    def error(cls, status: int, message: str = "scripted error", retry_after: float | str | None = None) -> Reply:
        headers = {"Content-Type": "application/json"}
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        body = json.dumps({"error": {"message": message, "type": "scripted", "code": status}}).encode()
        return cls(status=status, body=body, headers=headers)

    @classmethod
    def hang(cls, seconds: float, then: str = "late") -> Reply:
        r = cls.text(then)
        r.delay_s = seconds
        return r

    @classmethod
    def raw(cls, body: bytes | str, status: int = 200, content_type: str = "application/json") -> Reply:
        data = body.encode() if isinstance(body, str) else body
        return cls(status=status, body=data, headers={"Content-Type": content_type})

    @classmethod
    def json(cls, obj: Any, status: int = 200) -> Reply:
        return cls.raw(json.dumps(obj), status=status)

    @classmethod
    def truncated(cls, text: str = "(1, 2)") -> Reply:
        full = json.dumps(completion_json(text, "test", None))
        return cls.raw(full[: len(full) // 2])

    @classmethod
    def cut_short(cls, text: str = "(1, 2)") -> Reply:
        full = json.dumps(completion_json(text, "test", None)).encode()
        r = cls.raw(full[: len(full) // 2])
        r.content_length = len(full)
        return r


def completion_json(text: str, model: str, usage: dict[str, int] | None, finish_reason: str = "stop") -> dict:
    out: dict[str, Any] = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish_reason}],
    }
    if usage is not None:
        out["usage"] = {**usage, "total_tokens": usage["prompt_tokens"] + usage["completion_tokens"]}
    return out


def count_usage(req: RecordedRequest, text: str) -> dict[str, int]:
    prompt = 1 + sum(len(t) for t in req.texts) // 4 + 100 * len(req.image_urls)
    return {"prompt_tokens": prompt, "completion_tokens": len(text.split())}


Script = Iterable["Reply | str"] | Callable[[RecordedRequest], "Reply | str"] | None


class OpenAIServer:
    def __init__(self, script: Script = None, default: Reply | str | None = None) -> None:
        self._fn: Callable[[RecordedRequest], Reply | str] | None = None
        self._queue: deque[Reply | str] = deque()
        if callable(script):
            self._fn = script
        elif script is not None:
            self._queue.extend(script)
        self.default = default
        self.requests: list[RecordedRequest] = []
        self.usage_sent = TokenUsage()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> OpenAIServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes: avoid a 40 ms stall

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    server._send(self, Reply.json({"object": "list", "data": [{"id": "test", "object": "model"}]}))
                else:
                    server._send(self, Reply.error(404, f"no route {self.path}"))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else {}
                except json.JSONDecodeError:
                    body = {"_unparsed": raw.decode("utf-8", "replace")}
                req = RecordedRequest("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                with server._lock:
                    server.requests.append(req)
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    server._send(self, Reply.error(404, f"no route {self.path}"))
                    return
                server._send(self, server._next(req), req)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        httpd = self._httpd
        self._thread = threading.Thread(
            target=lambda: httpd.serve_forever(poll_interval=0.02), name="openai-test-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()  # wakes hanging replies
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def push(self, *replies: Reply | str) -> None:
        with self._lock:
            self._queue.extend(replies)

    # -- replies ----------------------------------------------------------------------------

    def _next(self, req: RecordedRequest) -> Reply:
        with self._lock:
            if self._fn is not None:
                item: Reply | str | None = self._fn(req)
            elif self._queue:
                item = self._queue.popleft()
            else:
                item = self.default
        if item is None:
            return Reply.error(500, "script exhausted: the test sent more requests than it scripted")
        return Reply.text(item) if isinstance(item, str) else item

    def _send(self, h: BaseHTTPRequestHandler, reply: Reply, req: RecordedRequest | None = None) -> None:
        if reply.delay_s and self._stop.wait(reply.delay_s):
            return
        body = reply.body
        headers = dict(reply.headers)
        if reply.text_value is not None:
            usage = None
            if reply.usage is True and req is not None:
                usage = count_usage(req, reply.text_value)
            elif isinstance(reply.usage, dict):
                usage = dict(reply.usage)
            if usage is not None:
                with self._lock:
                    self.usage_sent = self.usage_sent + TokenUsage(
                        prompt_tokens=usage["prompt_tokens"], completion_tokens=usage["completion_tokens"], calls=1
                    )
            model = str((req.body if req else {}).get("model") or "test")
            finish = headers.pop("x-finish-reason", "stop")
            body = json.dumps(completion_json(reply.text_value, model, usage, finish)).encode()
            headers["Content-Type"] = "application/json"
        try:
            h.send_response(reply.status)
            for k, v in headers.items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(reply.content_length or len(body)))
            if reply.content_length:
                h.send_header("Connection", "close")
            h.end_headers()
            h.wfile.write(body)
            h.wfile.flush()
            if reply.content_length:
                h.close_connection = True
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): nothing to do
