"""The one scripted OpenAI-compatible chat server: benchmarks, evaluations and tests talk to it.

A real threaded HTTP server on 127.0.0.1 (a free port) speaking `POST /v1/chat/completions`
and `GET /v1/models`. Replies are scripted; every request is recorded.

    with ScriptedChatServer(["(120, 340)", Reply.error(429, retry_after=1), "done"]) as srv:
        OpenAIChat(base_url=srv.url, model="scripted") ...   # srv.url == "http://127.0.0.1:PORT/v1"
        srv.requests      # list[ChatRequest] in arrival order (failed ones too): .body, .texts,
                          # .image_urls, .images (decoded), .image_sizes, .headers, .time
        srv.usage_sent    # TokenUsage summed over the usage blocks the server replied with

`script` is a list of replies consumed in order (a `str` is shorthand for `Reply.text(str)`;
when it runs out the server answers `default`, HTTP 500 "script exhausted" unless set), or a
callable `fn(request) -> Reply | str`; `srv.push(*replies)` appends at any time.

Reply kinds: `Reply.text(text, usage=True|False|dict, finish_reason=...)` (usage=False omits
the usage block, like Ollama), `Reply.from_schema(otherwise)` (a minimal instance of the JSON
schema the request asked for, else `otherwise`), `Reply.error(status, message, retry_after)`, `Reply.hang(s)`,
`Reply.truncated(text)` (broken JSON of the right length), `Reply.cut_short(text)` (announces
more bytes than it sends), `Reply.raw(body)`, `Reply.json(obj)`.

Structured outputs: `req.dialect` names the dialect a request used ("json_schema": OpenAI/vLLM
`response_format`, "json_object": llama.cpp's, "ollama": a top-level `format`; None), `req.schema`
the schema it sent. `ScriptedChatServer(refuse={"json_schema"})` answers requests in a refused
dialect with HTTP `refuse_status` naming the format, as a server without it does.

Usage is billed the way OpenAI bills it, so token figures are comparable across planners:
text ~ 4 characters per token (+4 per message), each image by the high-detail tile rule (fit
in 2048x2048, shortest side down to 768, 85 + 170 per 512-px tile); completion ~ characters / 4.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from guiagent.schema import TokenUsage

log = logging.getLogger(__name__)


def image_tokens(width: int, height: int) -> int:
    """OpenAI's high-detail image cost."""
    scale = min(1.0, 2048 / max(width, height))
    w, h = width * scale, height * scale
    scale = min(1.0, 768 / min(w, h))
    w, h = w * scale, h * scale
    return 85 + 170 * math.ceil(w / 512) * math.ceil(h / 512)


def text_tokens(text: str) -> int:
    return (len(text) + 3) // 4


@dataclass
class ChatRequest:
    """One request as it arrived (also malformed ones: `body` then holds `_unparsed`)."""

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
            c = m.get("content") if isinstance(m, dict) else None
            if isinstance(c, str):
                out.append({"type": "text", "text": c})
            elif isinstance(c, list):
                out.extend(p for p in c if isinstance(p, dict))
        return out

    @property
    def texts(self) -> list[str]:
        return [str(p.get("text", "")) for p in self._parts() if p.get("type") == "text"]

    @property
    def text(self) -> str:
        return "\n".join(self.texts)

    @property
    def image_urls(self) -> list[str]:
        return [str((p.get("image_url") or {}).get("url", "")) for p in self._parts() if p.get("type") == "image_url"]

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

    @cached_property
    def image_sizes(self) -> list[tuple[int, int]]:
        from PIL import Image

        sizes = []
        for url in self.image_urls:
            try:
                with Image.open(io.BytesIO(base64.b64decode(url.partition("base64,")[2]))) as im:
                    sizes.append(im.size)
            except (OSError, ValueError):
                sizes.append((512, 512))  # not decodable: bill one tile
        return sizes

    @property
    def dialect(self) -> str | None:
        """The structured-output dialect of this request (None: no schema asked for)."""
        if "format" in self.body:
            return "ollama"
        rf = self.body.get("response_format")
        kind = rf.get("type") if isinstance(rf, dict) else None
        return kind if kind in ("json_schema", "json_object") else None

    @property
    def schema(self) -> dict[str, Any] | None:
        """The JSON schema the request asked the reply to follow."""
        rf = self.body.get("response_format")
        found: Any = None
        if self.dialect == "ollama":
            found = self.body.get("format")
        elif self.dialect == "json_schema" and isinstance(rf, dict):
            found = (rf.get("json_schema") or {}).get("schema")
        elif self.dialect == "json_object" and isinstance(rf, dict):
            found = rf.get("schema")
        return found if isinstance(found, dict) else None

    @property
    def prompt_tokens(self) -> int:
        return (sum(text_tokens(t) for t in self.texts) + 4 * len(self.messages)
                + sum(image_tokens(w, h) for w, h in self.image_sizes))


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    content_length: int | None = None  # announce a different length than sent (cut short)
    text_value: str | None = None  # a completion, built per request
    usage: bool | dict[str, int] = True
    finish_reason: str = "stop"
    fill_schema: bool = False  # answer a minimal instance of the request's schema, when it has one

    @classmethod
    def text(cls, text: str, usage: bool | dict[str, int] = True, finish_reason: str = "stop") -> Reply:
        return cls(text_value=text, usage=usage, finish_reason=finish_reason)

    @classmethod
    def from_schema(cls, otherwise: str = "I would click the first button.") -> Reply:
        return cls(text_value=otherwise, fill_schema=True)

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
        full = json.dumps(completion_json(text, "scripted", None))
        return cls.raw(full[: len(full) // 2])

    @classmethod
    def cut_short(cls, text: str = "(1, 2)") -> Reply:
        full = json.dumps(completion_json(text, "scripted", None)).encode()
        r = cls.raw(full[: len(full) // 2])
        r.content_length = len(full)
        return r


def completion_json(text: str, model: str, usage: dict[str, int] | None, finish_reason: str = "stop") -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": "chatcmpl-scripted", "object": "chat.completion", "created": 0, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish_reason}],
    }
    if usage is not None:
        out["usage"] = {**usage, "total_tokens": usage["prompt_tokens"] + usage["completion_tokens"]}
    return out


def schema_instance(schema: Any) -> Any:
    """A minimal value valid against `schema` (first of an anyOf, first enum value, required
    properties only): what a constrained model answers at its most literal."""
    if not isinstance(schema, dict):
        return None
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            return schema_instance(schema[key][0])
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties") or {}
        return {k: schema_instance(props.get(k)) for k in schema.get("required") or []}
    if kind == "array":
        return [schema_instance(schema.get("items")) for _ in range(int(schema.get("minItems") or 0))]
    if kind == "string":
        return "step" * max(1, (int(schema.get("minLength") or 0) + 3) // 4)
    if kind in ("number", "integer"):
        return schema.get("minimum", 0)
    if kind == "boolean":
        return False
    return None


REFUSALS = {  # what servers without a dialect say (OpenAI-style error bodies)
    "json_schema": "response_format type 'json_schema' is not supported by this server",
    "json_object": "response_format type 'json_object' is not supported by this server",
    "ollama": "unrecognized request field 'format'",
}


def bill(req: ChatRequest, text: str) -> dict[str, int]:
    """The usage block the server reports for answering `req` with `text`."""
    return {"prompt_tokens": req.prompt_tokens, "completion_tokens": text_tokens(text)}


Script = Iterable["Reply | str"] | Callable[[ChatRequest], "Reply | str"] | None


class ScriptedChatServer:
    def __init__(self, script: Script = None, default: Reply | str | None = None, *,
                 refuse: Iterable[str] = (), refuse_status: int = 400) -> None:
        self.refuse, self.refuse_status = frozenset(refuse), refuse_status
        self._fn: Callable[[ChatRequest], Reply | str] | None = None
        self._queue: deque[Reply | str] = deque()
        if callable(script):
            self._fn = script
        elif script is not None:
            self._queue.extend(script)
        self.default = default
        self.requests: list[ChatRequest] = []
        self.usage_sent = TokenUsage()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None

    def start(self) -> ScriptedChatServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes: avoid a 40 ms stall

            def log_message(self, *args: Any) -> None:  # quiet: it serves tests and benchmarks
                pass

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    server._send(self, Reply.json({"object": "list", "data": [{"id": "scripted", "object": "model"}]}))
                else:
                    server._send(self, Reply.error(404, f"no route {self.path}"))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else {}
                except json.JSONDecodeError:
                    body = {"_unparsed": raw.decode("utf-8", "replace")}
                if not isinstance(body, dict):
                    body = {"_unparsed": raw.decode("utf-8", "replace")}
                req = ChatRequest("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                with server._lock:
                    server.requests.append(req)
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    server._send(self, Reply.error(404, f"no route {self.path}"))
                    return
                if req.dialect in server.refuse:
                    server._send(self, Reply.error(server.refuse_status, REFUSALS[req.dialect or ""]))
                    return
                server._send(self, server._next(req), req)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        httpd = self._httpd
        threading.Thread(target=lambda: httpd.serve_forever(poll_interval=0.02), name="scripted-chat",
                         daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()  # wakes hanging replies
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> ScriptedChatServer:
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

    def _next(self, req: ChatRequest) -> Reply:
        try:
            with self._lock:
                if self._fn is not None:
                    item: Reply | str | None = self._fn(req)
                elif self._queue:
                    item = self._queue.popleft()
                else:
                    item = self.default
        except Exception as exc:  # a script bug becomes a 500 the client reports
            log.exception("scripted reply failed")
            return Reply.error(500, f"script failed: {exc}")
        if item is None:
            return Reply.error(500, "script exhausted: more requests arrived than were scripted")
        return Reply.text(item) if isinstance(item, str) else item

    def _send(self, h: BaseHTTPRequestHandler, reply: Reply, req: ChatRequest | None = None) -> None:
        if reply.delay_s and self._stop.wait(reply.delay_s):
            return
        body, headers = reply.body, dict(reply.headers)
        if reply.text_value is not None:
            if reply.fill_schema and req is not None and req.schema is not None:
                reply = Reply.text(json.dumps(schema_instance(req.schema)), reply.usage, reply.finish_reason)
            assert reply.text_value is not None
            usage = None
            if reply.usage is True and req is not None:
                usage = bill(req, reply.text_value)
            elif isinstance(reply.usage, dict):
                usage = dict(reply.usage)
            if usage is not None:
                with self._lock:
                    self.usage_sent = self.usage_sent + TokenUsage(
                        prompt_tokens=usage["prompt_tokens"], completion_tokens=usage["completion_tokens"], calls=1)
            model = str((req.body if req else {}).get("model") or "scripted")
            body = json.dumps(completion_json(reply.text_value, model, usage, reply.finish_reason)).encode()
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
