"""The model planners (D-PoT, ReAct, Auto-UI over a chat endpoint) through the REAL OpenAIChat
client against the local OpenAI-compatible test server, on a PIL-rendered screenshot."""

from __future__ import annotations

import base64
import io
import json

import pytest
from openai_server import OpenAIServer
from PIL import Image, ImageDraw, ImageFont

from grounding.models.openai_client import OpenAIChat
from guiagent.planning.autoui import AutoUIPlanner, ChatAutoUI
from guiagent.planning.dpot import DPoTPlanner
from guiagent.planning.react import ReActPlanner
from guiagent.registry import build_planner
from guiagent.schema import (
    Click,
    Decision,
    Done,
    Element,
    Observation,
    Outcome,
    Point,
    Role,
    Step,
    Swipe,
    Target,
    TypeText,
)
from guiagent.schema.errors import PlanParseError

TASK = "Sign up as Ada with the newsletter"


def form_observation() -> Observation:
    """A real rendered screenshot of a small form, with its elements."""
    im = Image.new("RGB", (800, 500), (240, 240, 240))
    d = ImageDraw.Draw(im)
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 18)
    d.text((40, 52), "Name", fill="black", font=font)
    d.rectangle((140, 40, 500, 80), fill="white", outline="gray")
    d.rectangle((140, 120, 164, 144), fill="white", outline="black")
    d.text((176, 120), "Subscribe", fill="black", font=font)
    d.rounded_rectangle((140, 200, 280, 244), 8, fill=(40, 100, 200))
    d.text((170, 210), "Submit", fill="white", font=font)
    elements = (
        Element(id="1", role=Role.TEXT, name="Name", bbox=(40, 52, 95, 72), source="ocr"),
        Element(id="2", role=Role.TEXT_FIELD, name="Name", bbox=(140, 40, 500, 80), editable=True),
        Element(id="3", role=Role.CHECKBOX, name="Subscribe", bbox=(140, 120, 164, 144), checked=False),
        Element(id="4", role=Role.BUTTON, name="Submit", bbox=(140, 200, 280, 244), clickable=True),
    )
    return Observation(screenshot=im, elements=elements, screen_size=im.size)


def chat(srv: OpenAIServer) -> OpenAIChat:
    return OpenAIChat(base_url=srv.url, model="test", api_key="k", max_retries=0, timeout_s=10)


def done_step(index: int, decision: Decision) -> Step:
    return Step(index=index, decision=decision, action=decision.action,
                outcome=Outcome(status="ok", screen_changed=True))


def decoded_png(url: str) -> Image.Image:
    assert url.startswith("data:image/png;base64,")
    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))


# ---- D-PoT --------------------------------------------------------------------------------
def dpot_plan(step: str, rest: list[str], thought: str) -> str:
    return json.dumps({"thought": thought, "next_step": step, "remaining_plan": rest})


def dpot_act(action: dict, thought: str = "do it") -> str:
    return "Sure:\n```json\n" + json.dumps({"thought": thought, "action": action}) + "\n```"


def test_dpot_two_calls_plan_and_typed_action_without_dialogue() -> None:
    obs = form_observation()
    script = [
        dpot_plan("type Ada into the Name field", ["tick Subscribe", "click Submit"], "MARKER-PLAN-THOUGHT-1"),
        dpot_act({"type": "type", "text": "Ada", "target": "#2"}, "MARKER-ACT-THOUGHT-1"),
        dpot_plan("tick Subscribe", ["click Submit"], "name is filled"),
        dpot_act({"type": "click", "target": [0.19, 0.264]}),
    ]
    with OpenAIServer(script) as srv:
        planner = DPoTPlanner(chat(srv))
        d1 = planner.next(TASK, obs, [])
        assert isinstance(d1.action, TypeText) and d1.action.text == "Ada"
        assert d1.action.target == Target(element="2")
        assert d1.subgoal == "type Ada into the Name field"
        assert d1.plan == ("tick Subscribe", "click Submit")
        assert "MARKER-PLAN-THOUGHT-1" in d1.thought and "MARKER-ACT-THOUGHT-1" in d1.thought
        assert len(srv.requests) == 2  # call 1 = plan, call 2 = act

        d2 = planner.next(TASK, obs, [done_step(0, d1)])
        assert isinstance(d2.action, Click) and d2.action.target.point == Point(x=0.19, y=0.264)
        assert d2.subgoal == "tick Subscribe" and d2.plan == ("click Submit",)

        reqs = srv.requests
        assert len(reqs) == 4
        for r in reqs:  # one fresh user message per call, each with the screenshot
            assert len(r.messages) == 1 and len(r.image_urls) == 1
            assert decoded_png(r.image_urls[0]).size == obs.screen_size
            assert "#4 button 'Submit'" in r.texts[0]  # the element list with ids
        assert "Current step: type Ada into the Name field" in reqs[1].texts[0]
        step2 = "\n".join(reqs[2].texts + reqs[3].texts)
        # the history is the executed step + action, never the previous dialogue
        assert "1. type Ada into the Name field -> type 'Ada' into #2 -> ok, the screen changed" in step2
        assert "MARKER-PLAN-THOUGHT-1" not in step2 and "MARKER-ACT-THOUGHT-1" not in step2
        assert "- tick Subscribe" in reqs[2].texts[0]  # the previous plan, given to be revised
        # usage: both calls of a step summed, equal to what the server billed
        assert d1.usage.calls == 2 and d2.usage.calls == 2
        assert (d1.usage + d2.usage).prompt_tokens == srv.usage_sent.prompt_tokens


def test_dpot_prompt_stays_flat_while_react_grows() -> None:
    obs = form_observation()

    def dpot_script(req):  # the same answers at every step
        if any("Current step:" in t for t in req.texts):
            return dpot_act({"type": "click", "target": "#4"})
        return dpot_plan("click Submit", [], "t")

    react_reply = 'Thought: click it\nAction: {"type": "click", "target": "#4"}'
    sizes: dict[str, list[int]] = {"dpot": [], "react": []}
    for kind in ("dpot", "react"):
        with OpenAIServer(dpot_script if kind == "dpot" else (lambda req: react_reply)) as srv:
            planner = DPoTPlanner(chat(srv)) if kind == "dpot" else ReActPlanner(chat(srv))
            history: list[Step] = []
            for k in range(5):
                d = planner.next(TASK, obs, history)
                sizes[kind].append(d.usage.prompt_tokens)
                history.append(done_step(k, d))
    dpot, react = sizes["dpot"], sizes["react"]
    assert dpot[-1] - dpot[0] < 0.2 * dpot[0]  # a few history lines more, nothing else
    assert react == sorted(react) and react[-1] > 2 * react[0]  # the whole dialogue, every step
    assert react[-1] - react[0] > 5 * (dpot[-1] - dpot[0])


def test_dpot_malformed_replies_raise_plan_parse_error_with_raw() -> None:
    obs = form_observation()
    with OpenAIServer(["I think we should click it.",
                       dpot_plan("click Submit", [], "t"), '{"thought": "x", "action": {"type": "fly"}}',
                       dpot_plan("click Submit", [], "t"), '{"action": {"type": "click", "target": [3, 4]}']) as srv:
        planner = DPoTPlanner(chat(srv))
        with pytest.raises(PlanParseError, match="plan call") as e1:
            planner.next(TASK, obs, [])
        assert e1.value.raw == "I think we should click it."
        assert e1.value.usage.calls == 1  # the spent call is kept on the error
        with pytest.raises(PlanParseError, match="unknown action type 'fly'") as e2:
            planner.next(TASK, obs, [])
        assert '"fly"' in e2.value.raw
        with pytest.raises(PlanParseError, match="not closed"):
            planner.next(TASK, obs, [])


def test_dpot_feedback_reaches_the_model() -> None:
    obs = form_observation()
    with OpenAIServer([dpot_plan("click Submit", [], "t"), dpot_act({"type": "click", "target": "#4"})]) as srv:
        DPoTPlanner(chat(srv)).next(TASK, obs, [], feedback="there is no element #9 on this screen")
        for r in srv.requests:
            assert "rejected: there is no element #9 on this screen" in r.texts[0]


def test_planners_build_from_the_registry_with_chat_options() -> None:
    obs = form_observation()
    with OpenAIServer(['Thought: done\nAction: {"type": "done", "status": "success"}']) as srv:
        planner = build_planner("react", base_url=srv.url, model="test", api_key="k", max_tokens=64)
        assert isinstance(planner, ReActPlanner) and planner.max_tokens == 64
        assert isinstance(planner.next(TASK, obs, []).action, Done)
        assert srv.requests[0].body["max_tokens"] == 64
    assert isinstance(build_planner("dpot", base_url="http://127.0.0.1:9/v1", model="m"), DPoTPlanner)
    assert build_planner("dpot", base_url="http://127.0.0.1:9/v1", model="m").keeps_plan


# ---- ReAct --------------------------------------------------------------------------------
def test_react_appends_to_one_growing_dialogue() -> None:
    obs = form_observation()
    replies = [
        'Thought: the name field is empty\nAction: {"type": "type", "text": "Ada", "target": "#2"}',
        'Thought: now subscribe\nAction: {"type": "click", "target": "#3"}',
        'Thought: submit\nAction: {"type": "click", "target": "the Submit button"}',
    ]
    with OpenAIServer(replies) as srv:
        planner = ReActPlanner(chat(srv))
        history: list[Step] = []
        decisions = []
        for k in range(3):
            d = planner.next(TASK, obs, history)
            decisions.append(d)
            history.append(done_step(k, d))
        assert decisions[0].thought == "the name field is empty"
        assert isinstance(decisions[2].action, Click)
        assert decisions[2].action.target == Target(description="the Submit button")
        roles = [[m["role"] for m in r.messages] for r in srv.requests]
        assert roles[0] == ["system", "user"]
        assert roles[1] == ["system", "user", "assistant", "user"]
        assert roles[2] == ["system", "user", "assistant", "user", "assistant", "user"]
        last = srv.requests[2]
        assert replies[0] in last.texts and replies[1] in last.texts  # earlier turns are resent
        assert len(last.image_urls) == 3  # one screenshot per observation, all kept
        assert "your last action (click #3) ran: ok, the screen changed" in last.texts[-1]
        prompts = [d.usage.prompt_tokens for d in decisions]
        assert prompts[0] < prompts[1] < prompts[2]


def test_react_malformed_reply_then_feedback_retry() -> None:
    obs = form_observation()
    with OpenAIServer(["Thought: hmm\nAction: click the thing",
                       'Thought: ok\nAction: {"type": "click", "target": "#4"}']) as srv:
        planner = ReActPlanner(chat(srv), max_images=1)
        with pytest.raises(PlanParseError, match="no JSON object") as exc:
            planner.next(TASK, obs, [])
        assert exc.value.raw == "Thought: hmm\nAction: click the thing"
        d = planner.next(TASK, obs, [], feedback="your last answer was rejected: no JSON object")
        assert isinstance(d.action, Click) and d.action.target == Target(element="4")
        retry = srv.requests[1]
        assert [m["role"] for m in retry.messages] == ["system", "user", "assistant", "user"]
        assert "Your last answer was rejected: your last answer was rejected: no JSON object" in retry.texts[-1]
    planner.reset("another task")
    assert planner.dialogue == []


# ---- Auto-UI over a chat endpoint ---------------------------------------------------------
def test_autoui_chat_backend_chain_of_action() -> None:
    obs = form_observation()
    reply = ('Action Plan: [DUAL_POINT, TYPE, DUAL_POINT, PRESS_ENTER] ; Action Decision: "action_type": '
             '"DUAL_POINT", "touch_point": "[0.1200, 0.4000]", "lift_point": "[0.1200, 0.4000]", "typed_text": ""')
    swipe = ('Action Plan: [DUAL_POINT] ; Action Decision: "action_type": "DUAL_POINT", '
             '"touch_point": "[0.8, 0.5]", "lift_point": "[0.2, 0.5]", "typed_text": ""')
    prev = Step(index=0, action=TypeText(text="Ada"), outcome=Outcome())
    prev2 = Step(index=1, action=Click(target=Target.at(0.25, 0.75)), outcome=Outcome())
    with OpenAIServer([reply, swipe, "I don't know"]) as srv:
        planner = AutoUIPlanner(ChatAutoUI(chat(srv)))
        d = planner.next(TASK, obs, [prev, prev2])
        assert isinstance(d.action, Click)
        assert d.action.target.point == Point(x=0.4, y=0.12)  # AITW (y, x) -> our (x, y)
        assert d.subgoal == "tap" and d.plan == ("type", "dual point", "press enter")
        text = srv.requests[0].texts[0]
        assert text.startswith("Previous Actions: ") and text.endswith(f"Goal: {TASK}")
        assert '"action_type": "TYPE"' in text and '"typed_text": "Ada"' in text
        assert '"touch_point": "[0.7500, 0.2500]"' in text  # the click, as (y, x)
        assert len(srv.requests[0].image_urls) == 1
        d2 = planner.next(TASK, obs, [], feedback="try again")
        assert isinstance(d2.action, Swipe) and d2.action.start.point == Point(x=0.5, y=0.8)
        assert "rejected: try again" in srv.requests[1].texts[0]
        with pytest.raises(PlanParseError, match="action_type") as exc:
            planner.next(TASK, obs, [])
        assert exc.value.raw == "I don't know"


def test_screen_goes_as_set_of_marks_and_secrets_stay_out() -> None:
    from PIL import ImageChops

    obs = form_observation()
    secret = Element(id="5", role=Role.TEXT_FIELD, name="Password", value="hunter2", password=True,
                     bbox=(140, 300, 500, 340), editable=True)
    obs = obs.model_copy(update={"elements": (*obs.elements, secret)})
    reply = 'Thought: t\nAction: {"type": "click", "target": "#4"}'
    for marks in (True, False):
        with OpenAIServer([reply]) as srv:
            ReActPlanner(chat(srv), marks=marks).next(TASK, obs, [])
            sent = decoded_png(srv.requests[0].image_urls[0]).convert("RGB")
            text = "\n".join(srv.requests[0].texts)
        differs = ImageChops.difference(sent, obs.screenshot.convert("RGB")).getbbox() is not None
        assert differs == marks  # numbered boxes drawn only with marks on
        assert "hunter2" not in text and "#5 text_field 'Password' value='•••'" in text
