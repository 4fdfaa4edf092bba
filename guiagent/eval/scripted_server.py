"""A small local OpenAI-compatible chat server with scripted replies, for benchmarks and demos.

    with ScriptedChatServer(lambda request: "reply text") as srv:
        OpenAIChat(base_url=srv.url, model="scripted") ...
        srv.requests  # every request body (parsed JSON), in arrival order

`reply(request)` gets a `ChatRequest` (its texts and images decoded) and returns the reply text.
Usage is counted the way OpenAI bills it, so token figures are comparable across planners:
text ~ 4 characters per token (+4 per message), each image by the high-detail tile rule
(fit in 2048x2048, shortest side down to 768, 85 + 170 per 512-px tile); completion tokens ~
characters / 4. It serves `POST /v1/chat/completions` only.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

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
    body: dict[str, Any]
    texts: list[str] = field(default_factory=list)
    image_sizes: list[tuple[int, int]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.texts)

    @property
    def prompt_tokens(self) -> int:
        messages = self.body.get("messages") or []
        return (sum(text_tokens(t) for t in self.texts) + 4 * len(messages)
                + sum(image_tokens(w, h) for w, h in self.image_sizes))


def _decode(body: dict[str, Any]) -> ChatRequest:
    from PIL import Image

    req = ChatRequest(body)
    for m in body.get("messages") or []:
        content = m.get("content")
        parts = [{"type": "text", "text": content}] if isinstance(content, str) else (content or [])
        for p in parts:
            if p.get("type") == "text":
                req.texts.append(str(p.get("text", "")))
            elif p.get("type") == "image_url":
                url = str((p.get("image_url") or {}).get("url", ""))
                _, _, data = url.partition("base64,")
                try:
                    with Image.open(io.BytesIO(base64.b64decode(data))) as im:
                        req.image_sizes.append(im.size)
                except (OSError, ValueError):
                    req.image_sizes.append((512, 512))  # not decodable: bill one tile
    return req


class ScriptedChatServer:
    def __init__(self, reply: Callable[[ChatRequest], str]) -> None:
        self.reply = reply
        self.requests: list[ChatRequest] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    def start(self) -> ScriptedChatServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                try:
                    req = _decode(json.loads(raw))
                except (json.JSONDecodeError, AttributeError) as exc:
                    self._send(400, {"error": {"message": f"bad request body: {exc}"}})
                    return
                with server._lock:
                    server.requests.append(req)
                try:
                    text = server.reply(req)
                except Exception as exc:  # a script bug becomes a 500 the client reports
                    log.exception("scripted reply failed")
                    self._send(500, {"error": {"message": f"script failed: {exc}"}})
                    return
                usage = {"prompt_tokens": req.prompt_tokens, "completion_tokens": text_tokens(text)}
                usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
                self._send(200, {
                    "id": "chatcmpl-scripted", "object": "chat.completion", "created": 0,
                    "model": req.body.get("model", "scripted"), "usage": usage,
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": text}}],
                })

            def _send(self, status: int, obj: dict[str, Any]) -> None:
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, name="scripted-chat", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> ScriptedChatServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"
