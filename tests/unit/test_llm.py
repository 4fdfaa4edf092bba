"""The ChatModel interface: light imports, frozen messages, backend selection."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import Sequence

import pytest

from grounding.models.base import ChatMessage, ChatModel, ChatReply, estimate_tokens
from guiagent.registry import build_chat_model
from guiagent.schema import TokenUsage
from guiagent.schema.errors import ConfigError


def test_importing_the_model_layer_pulls_no_heavy_dependency() -> None:
    code = (
        "import sys, grounding.models.base, grounding.vlm, grounding.coord_parse, grounding.models.hf_vlm, "
        "grounding.models.openai_client\n"
        "print(sorted(m for m in ('torch', 'transformers', 'httpx', 'tokenizers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_messages_are_frozen_and_models_close_as_context_managers() -> None:
    msg = ChatMessage("user", "hi")
    with pytest.raises(dataclasses.FrozenInstanceError):
        msg.text = "changed"  # type: ignore[misc]

    class Echo(ChatModel):
        name = "echo"
        closed = False

        def chat(self, messages: Sequence[ChatMessage], *, max_tokens: int = 512, temperature: float = 0.0) -> ChatReply:
            text = messages[-1].text[:max_tokens]
            return ChatReply(text, TokenUsage(prompt_tokens=estimate_tokens(text), calls=1), usage_estimated=True)

        def close(self) -> None:
            self.closed = True

    with Echo() as model:
        assert model.chat([msg], max_tokens=1).text == "h"
    assert model.closed
    with pytest.raises(TypeError):
        ChatModel()  # type: ignore[abstract]


def test_estimate_tokens() -> None:
    assert estimate_tokens("") == 0 and estimate_tokens("abc") == 1 and estimate_tokens("a" * 400) == 100


def test_backend_selection(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from grounding.models.openai_client import OpenAIChat

    monkeypatch.delenv("GUIAGENT_MODEL", raising=False)
    model = build_chat_model(base_url="http://127.0.0.1:9/v1", model="m", timeout_s=3, device="cpu")
    assert isinstance(model, OpenAIChat) and model.timeout_s == 3  # unrelated options are ignored
    model.close()
    with pytest.raises(ConfigError, match="unknown chat backend"):
        build_chat_model(backend="onnx")
    from guiagent.schema.errors import ModelError

    with pytest.raises(ModelError, match="no config.json"):
        build_chat_model(model_path=str(tmp_path))  # model_path implies the hf backend
