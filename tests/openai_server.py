"""The tests' names for the project's one scripted OpenAI-compatible server
(guiagent.eval.scripted_server, which benchmarks and evaluations use too): `OpenAIServer`,
`RecordedRequest`, `Reply`. See that module for the API."""

from __future__ import annotations

from guiagent.eval.scripted_server import ChatRequest as RecordedRequest
from guiagent.eval.scripted_server import Reply, bill, completion_json
from guiagent.eval.scripted_server import ScriptedChatServer as OpenAIServer

__all__ = ["OpenAIServer", "RecordedRequest", "Reply", "bill", "completion_json"]
