"""Structured outputs: how a JSON schema for the reply is sent, in each endpoint's dialect.

    json_schema  OpenAI, vLLM, LM Studio:  "response_format": {"type": "json_schema",
                                            "json_schema": {"name", "schema", "strict"}}
    json_object  llama.cpp servers:         "response_format": {"type": "json_object", "schema": ...}
    ollama       Ollama's native field:     "format": <schema>

A mode is one of those, "off", or "auto": try json_schema, and when the endpoint refuses it
(an HTTP error naming the format) fall back to json_object, then to off, logging why. The probe
runs on the first structured call of a client; what worked is kept for its later calls.

A constrained reply is still only text: callers parse and validate it like any other.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeGuard, get_args, runtime_checkable

from guiagent.schema.errors import ConfigError, ModelError

if TYPE_CHECKING:
    from grounding.models.base import ChatMessage, ChatReply

Dialect = Literal["json_schema", "json_object", "ollama"]
StructuredMode = Literal["auto", "json_schema", "json_object", "ollama", "off"]
DIALECTS: tuple[str, ...] = get_args(Dialect)
MODES: tuple[str, ...] = get_args(StructuredMode)
AUTO_ORDER: tuple[Dialect, ...] = ("json_schema", "json_object")  # then off

# What a refusal of the format looks like in an endpoint's error message.
_FORMAT_WORDS = re.compile(r"response_format|json_schema|json_object|schema|grammar|\bformat\b", re.I)
# Statuses that say something else than "I do not take this format".
_NOT_A_FORMAT_REFUSAL = frozenset({401, 403, 404, 408, 429})


def is_mode(value: object) -> TypeGuard[StructuredMode]:
    return value in MODES


def check_mode(value: object) -> StructuredMode:
    """A structured mode from an option value, or a ConfigError listing the valid ones."""
    text = value.strip().lower() if isinstance(value, str) else value
    if text in (None, False, "", "none", "false", "no"):
        return "off"
    if text is True:
        return "auto"
    if not is_mode(text):
        raise ConfigError(f"structured must be one of {', '.join(MODES)}, not {value!r}")
    return text


@dataclass(frozen=True)
class StructuredRequest:
    """A schema the reply must follow, and how to ask for it."""

    name: str  # [A-Za-z0-9_-]{1,64}: OpenAI's rule for json_schema names
    schema: dict[str, Any]
    mode: StructuredMode = "auto"
    strict: bool = False  # OpenAI's strict mode needs every property required: off by default


def request_fields(dialect: Dialect, request: StructuredRequest) -> dict[str, Any]:
    """The body fields that ask the endpoint for `request.schema` in `dialect`."""
    if dialect == "json_schema":
        return {"response_format": {"type": "json_schema", "json_schema": {
            "name": request.name, "schema": request.schema, "strict": request.strict}}}
    if dialect == "json_object":
        return {"response_format": {"type": "json_object", "schema": request.schema}}
    if dialect == "ollama":
        return {"format": request.schema}
    raise ConfigError(f"unknown structured-output dialect {dialect!r}")


class EndpointError(ModelError):
    """An HTTP error status from a model endpoint, with the status and the server's message."""

    def __init__(self, message: str, *, status: int, detail: str) -> None:
        super().__init__(message)
        self.status, self.detail = status, detail


def refuses_format(status: int, detail: str) -> bool:
    """Whether an error status + message means "this response format is not supported"."""
    return 400 <= status < 600 and status not in _NOT_A_FORMAT_REFUSAL and bool(_FORMAT_WORDS.search(detail))


def next_dialect(dialect: Dialect) -> Dialect | None:
    """The next dialect `auto` tries after `dialect` was refused (None: off)."""
    if dialect not in AUTO_ORDER:
        return None
    i = AUTO_ORDER.index(dialect)
    return AUTO_ORDER[i + 1] if i + 1 < len(AUTO_ORDER) else None


@dataclass
class Probe:
    """What `auto` found out about one client: the dialect in use and why others were dropped."""

    settled: bool = False
    dialect: Dialect | None = "json_schema"
    fallbacks: list[str] = field(default_factory=list)  # one reason per fallback, in order

    def refused(self, dialect: Dialect, exc: EndpointError) -> Dialect | None:
        nxt = next_dialect(dialect)
        self.fallbacks.append(f"{dialect} refused (HTTP {exc.status}: {exc.detail}); "
                              f"falling back to {nxt or 'off'}")
        self.dialect = nxt
        if nxt is None:
            self.settled = True
        return nxt


def first_dialect(mode: StructuredMode, probe: Probe) -> Dialect | None:
    """The dialect to send first for `mode` (auto: what the probe holds)."""
    if mode == "off":
        return None
    if mode == "auto":
        return probe.dialect
    return mode


@runtime_checkable
class StructuredChatModel(Protocol):
    """A chat model that can ask its endpoint for a reply following a JSON schema."""

    def chat_structured(self, messages: Sequence[ChatMessage], request: StructuredRequest, *,
                        max_tokens: int = 512, temperature: float = 0.0) -> ChatReply: ...
