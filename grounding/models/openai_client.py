"""`OpenAIChat`: a ChatModel over any OpenAI-compatible /v1/chat/completions endpoint.

Works with OpenAI, vLLM, Ollama (`http://localhost:11434/v1`), LM Studio
(`http://localhost:1234/v1`), llama.cpp server: they all speak the same request. Images go as
base64 data URLs in `image_url` content parts.

Failures: 429 / 5xx / connection errors / bodies cut short are retried with exponential
backoff and jitter (a `Retry-After` header is honoured); everything else, and the last
failure, raises `ModelError` naming the endpoint and what went wrong. The only retry loop is
`OpenAIChat._post`.
"""

from __future__ import annotations

import base64
import email.utils
import io
import json
import logging
import os
import random
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from grounding.models.base import ChatMessage, ChatModel, ChatReply, estimate_tokens
from grounding.models.response_format import (
    Dialect,
    EndpointError,
    Probe,
    StructuredRequest,
    first_dialect,
    refuses_format,
    request_fields,
)
from guiagent.schema import TokenUsage
from guiagent.schema.errors import ConfigError, ModelError

if TYPE_CHECKING:
    from PIL.Image import Image

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.openai.com/v1"
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 520, 522, 524, 529})


def _env(*names: str) -> str | None:
    return next((os.environ[n] for n in names if os.environ.get(n)), None)


def normalize_base_url(url: str) -> str:
    """`http://host:8000` -> `http://host:8000/v1`; `.../v1/` -> `.../v1`; a full
    `.../chat/completions` URL is cut back to its base."""
    url = url.strip().rstrip("/")
    if url.endswith("/chat/completions"):
        url = url[: -len("/chat/completions")]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"base_url must be an http(s) URL like http://localhost:8000/v1, got {url!r}")
    if parts.path in ("", "/"):
        url += "/v1"
    return url


def image_data_url(image: Image, fmt: Literal["png", "jpeg"] = "png") -> str:
    """A PIL image as a `data:image/...;base64,...` URL."""
    buf = io.BytesIO()
    if fmt == "jpeg":
        image.convert("RGB").save(buf, format="JPEG", quality=90)
    else:
        image.save(buf, format="PNG", optimize=False, compress_level=1)
    return f"data:image/{fmt};base64,{base64.b64encode(buf.getvalue()).decode('ascii')}"


def estimate_image_tokens(image: Image) -> int:
    """A rough per-image token cost (one token per 28x28 patch, as Qwen2-VL counts)."""
    w, h = image.size
    return max(1, (w * h) // (28 * 28))


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class OpenAIChat(ChatModel):
    """Chat completions over HTTP. Arguments fall back to the environment:
    base_url <- GUIAGENT_OPENAI_BASE_URL, OPENAI_BASE_URL (else api.openai.com);
    api_key <- OPENAI_API_KEY (sent only when set: local servers need none);
    model <- GUIAGENT_MODEL (required)."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        model: str | None = None,
        *,
        timeout_s: float = 60.0,
        max_retries: int = 3,
        backoff_s: float = 0.5,
        max_wait_s: float = 60.0,
        image_format: Literal["png", "jpeg"] = "png",
    ) -> None:
        import httpx

        self.base_url = normalize_base_url(base_url or _env("GUIAGENT_OPENAI_BASE_URL", "OPENAI_BASE_URL") or DEFAULT_BASE_URL)
        self.model = model or _env("GUIAGENT_MODEL") or ""
        if not self.model:
            raise ConfigError("no model name: pass model=... or set GUIAGENT_MODEL")
        if timeout_s <= 0 or max_retries < 0 or backoff_s < 0:
            raise ConfigError("timeout_s must be > 0, max_retries and backoff_s >= 0")
        if image_format not in ("png", "jpeg"):
            raise ConfigError(f"image_format must be 'png' or 'jpeg', got {image_format!r}")
        self.name = f"openai:{self.model}"
        self.timeout_s = float(timeout_s)
        self.max_retries = int(max_retries)
        self.backoff_s = float(backoff_s)
        self.max_wait_s = float(max_wait_s)
        self.image_format: Literal["png", "jpeg"] = image_format
        key = api_key or _env("OPENAI_API_KEY")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self._client = httpx.Client(
            headers=headers, timeout=httpx.Timeout(self.timeout_s, connect=min(self.timeout_s, 10.0))
        )
        self.probe = Probe()  # structured=auto: what this endpoint was found to take

    @property
    def url(self) -> str:
        return f"{self.base_url}/chat/completions"

    # -- request ---------------------------------------------------------------------------

    def _message_json(self, message: ChatMessage) -> dict[str, Any]:
        if message.role not in ("system", "user", "assistant"):
            raise ConfigError(f"unknown chat role {message.role!r}")
        if not message.images:
            return {"role": message.role, "content": message.text}
        parts: list[dict[str, Any]] = [
            {"type": "image_url", "image_url": {"url": image_data_url(img, self.image_format)}}
            for img in message.images
        ]
        parts.append({"type": "text", "text": message.text})
        return {"role": message.role, "content": parts}

    def chat(
        self, messages: Sequence[ChatMessage], *, max_tokens: int = 512, temperature: float = 0.0
    ) -> ChatReply:
        return self._complete(messages, {}, max_tokens=max_tokens, temperature=temperature)

    def chat_structured(self, messages: Sequence[ChatMessage], request: StructuredRequest, *,
                        max_tokens: int = 512, temperature: float = 0.0) -> ChatReply:
        """`chat`, asking the endpoint for a reply that follows `request.schema` in the dialect
        `request.mode` names; mode "auto" probes (json_schema, json_object, off) on the first
        call and keeps what worked, logging the reason of each fallback."""
        dialect = first_dialect(request.mode, self.probe)
        while True:
            extra = request_fields(dialect, request) if dialect else {}
            try:
                reply = self._complete(messages, extra, max_tokens=max_tokens, temperature=temperature)
            except EndpointError as exc:
                if request.mode != "auto" or dialect is None or not refuses_format(exc.status, exc.detail):
                    raise
                dialect = self._fall_back(dialect, exc)
                continue
            if request.mode == "auto":
                self.probe.settled = True
            return reply

    def _fall_back(self, dialect: Dialect, exc: EndpointError) -> Dialect | None:
        nxt = self.probe.refused(dialect, exc)
        log.warning("structured outputs: %s %s", self.url, self.probe.fallbacks[-1])
        return nxt

    def _complete(self, messages: Sequence[ChatMessage], extra: dict[str, Any], *, max_tokens: int,
                  temperature: float) -> ChatReply:
        if not messages:
            raise ConfigError("chat() needs at least one message")
        if self._client.is_closed:
            raise ModelError(f"the client for {self.url} was closed")
        body = {
            **extra,
            "model": self.model,
            "messages": [self._message_json(m) for m in messages],
            "max_tokens": int(max_tokens),
            "temperature": float(temperature),
            "stream": False,
        }
        start = time.perf_counter()
        data = self._post(body)
        latency_ms = (time.perf_counter() - start) * 1000
        return self._reply(data, messages, latency_ms)

    # -- the one retry loop ----------------------------------------------------------------

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        import httpx

        attempts = self.max_retries + 1
        last, last_status, last_detail = "", 0, ""
        asks_format = "response_format" in body or "format" in body
        for attempt in range(attempts):
            wait: float | None = None
            try:
                resp = self._client.post(self.url, json=body)
                raw = resp.read()
            except httpx.ConnectError as exc:
                last = f"cannot connect to {self.base_url} ({exc})"
            except httpx.ConnectTimeout:
                last = f"connecting to {self.base_url} timed out"
            except httpx.TimeoutException as exc:
                # The request may be running server side: retrying would multiply the wait.
                raise ModelError(
                    f"{self.url} did not answer within {self.timeout_s:g} s ({type(exc).__name__}); "
                    "raise timeout_s for slow models"
                ) from exc
            except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
                last = f"the reply from {self.url} was cut short ({exc})"
            except httpx.HTTPError as exc:  # bad URL, unsupported protocol, write errors, ...
                raise ModelError(f"request to {self.url} failed: {type(exc).__name__}: {exc}") from exc
            else:
                status = resp.status_code
                if status < 400:
                    return self._decode(raw, status)
                detail = _error_detail(raw)
                # a refused response format is not transient: no retry (auto falls back at once)
                if status not in RETRY_STATUSES or (asks_format and refuses_format(status, detail)):
                    hint = " (check OPENAI_API_KEY)" if status in (401, 403) else ""
                    hint = hint or (" (is the model name right?)" if status == 404 else "")
                    raise EndpointError(f"{self.url} refused the request: HTTP {status}: {detail}{hint}",
                                        status=status, detail=detail)
                last, last_status, last_detail = f"HTTP {status} from {self.url}: {detail}", status, detail
                wait = parse_retry_after(resp.headers.get("retry-after"))
                if wait is not None and wait > self.max_wait_s:
                    raise ModelError(f"{last}; the server asks to retry after {wait:g} s (> max_wait_s)")
            if attempt + 1 >= attempts:
                break
            if wait is None:  # exponential backoff with jitter
                wait = min(self.max_wait_s, self.backoff_s * 2**attempt) * random.uniform(0.5, 1.5)
            log.warning("model call failed (%s); retry %d/%d in %.2f s", last, attempt + 1, self.max_retries, wait)
            time.sleep(wait)
        message = f"model call failed after {attempts} attempt(s): {last}"
        if last_status:
            raise EndpointError(message, status=last_status, detail=last_detail)
        raise ModelError(message)

    def _decode(self, raw: bytes, status: int) -> dict[str, Any]:
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError) as exc:  # bad JSON or UTF-8, a 5000-digit number, deep nesting
            raise ModelError(
                f"{self.url} sent HTTP {status} with a body that is not valid JSON "
                f"(truncated or not an OpenAI-compatible server?): {exc}; body starts {raw[:120]!r}"
            ) from exc
        if not isinstance(data, dict):
            raise ModelError(f"{self.url} sent JSON that is not an object: {raw[:120]!r}")
        return data

    # -- reply -----------------------------------------------------------------------------

    def _reply(self, data: dict[str, Any], messages: Sequence[ChatMessage], latency_ms: float) -> ChatReply:
        if "error" in data and "choices" not in data:
            raise ModelError(f"{self.url} returned an error: {_error_detail(json.dumps(data).encode())}")
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise ModelError(f"{self.url} reply has no choices: {_clip(json.dumps(data))}")
        message = choices[0].get("message")
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):  # some servers return content parts
            content = "".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
        if not isinstance(content, str):
            raise ModelError(f"{self.url} reply has no message text: {_clip(json.dumps(choices[0]))}")
        finish = str(choices[0].get("finish_reason") or "")
        if finish == "length":
            log.warning("model reply hit max_tokens and was cut off")
        usage, estimated = self._usage(data.get("usage"), messages, content)
        return ChatReply(
            text=content,
            usage=usage,
            model=str(data.get("model") or self.model),
            latency_ms=latency_ms,
            usage_estimated=estimated,
            finish_reason=finish,
        )

    @staticmethod
    def _usage(raw: Any, messages: Sequence[ChatMessage], text: str) -> tuple[TokenUsage, bool]:
        if isinstance(raw, dict):
            try:
                prompt = int(raw.get("prompt_tokens") or 0)
                completion = int(raw.get("completion_tokens") or 0)
            except (TypeError, ValueError, OverflowError):  # OverflowError: Infinity
                prompt = completion = 0
            if min(prompt, completion) < 0 or max(prompt, completion) > 10**9:  # garbage: estimate instead
                prompt = completion = 0
            if prompt or completion:
                return TokenUsage(prompt_tokens=prompt, completion_tokens=completion, calls=1), False
        # Ollama and some proxies omit usage: estimate, and say so in the reply.
        prompt = sum(estimate_tokens(m.text) + sum(estimate_image_tokens(i) for i in m.images) for m in messages)
        return TokenUsage(prompt_tokens=prompt, completion_tokens=estimate_tokens(text), calls=1), True

    def close(self) -> None:
        self._client.close()


def _error_detail(raw: bytes) -> str:
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return _clip(raw.decode("utf-8", "replace").strip()) or "(empty body)"
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, dict):
            return _clip(str(err.get("message") or err.get("detail") or err))
        return _clip(str(err))
    return _clip(str(data))


def _clip(text: str, n: int = 300) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."
