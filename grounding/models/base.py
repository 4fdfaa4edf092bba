"""The chat-model interface every model-backed planner and grounder talks to.

A `ChatModel` takes a list of messages (text plus optional screenshots) and returns one
reply with its token usage. Two backends implement it: `OpenAIChat` (any OpenAI-compatible
/v1/chat/completions endpoint: OpenAI, vLLM, Ollama, LM Studio) and `HfVlmChat` (a local
Qwen2-VL-family checkpoint through transformers). `guiagent.registry.build_chat_model(**options)`
picks one: this base module knows none of its backends.

This module is light: it imports neither httpx nor torch; the backends import them lazily.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from guiagent.schema import TokenUsage

if TYPE_CHECKING:  # PIL is a core dependency, but keep import-time work minimal
    from PIL.Image import Image

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class ChatImage:
    """One image in a message: sent as a data URL (OpenAI) or as processor input (HF)."""

    image: Image


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    text: str
    images: tuple[Image, ...] = ()


@dataclass(frozen=True)
class ChatReply:
    text: str
    usage: TokenUsage
    model: str = ""
    latency_ms: float = 0.0
    usage_estimated: bool = False  # True when the backend did not report usage and we counted
    finish_reason: str = ""  # "stop", "length" (cut off at max_tokens), ... when known
    # For image backends: (original (w, h), size the model saw (w, h)) of each image sent,
    # in order, so coordinates in `text` can be mapped back to the original screenshot.
    image_sizes: tuple[tuple[tuple[int, int], tuple[int, int]], ...] = ()


class ChatModel(abc.ABC):
    """A chat model: messages in, one reply out. Raises `ModelError` when the backend fails."""

    name: str = "chat"
    # True when replies carry `image_sizes` (the backend knows how it resized each image).
    reports_image_sizes: bool = False

    @abc.abstractmethod
    def chat(
        self, messages: Sequence[ChatMessage], *, max_tokens: int = 512, temperature: float = 0.0
    ) -> ChatReply:
        """Send `messages`, return the reply. Deterministic at temperature 0 where possible."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections and model weights."""

    def __enter__(self) -> ChatModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def estimate_tokens(text: str) -> int:
    """A rough token count (~4 characters per token) for backends that report no usage."""
    return max(1, (len(text) + 3) // 4) if text else 0
