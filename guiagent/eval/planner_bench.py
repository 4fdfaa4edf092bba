"""Planner token benchmark: D-PoT vs ReAct on scripted multi-step episodes.

Both planners run for real (real `OpenAIChat`, real HTTP, real PNG screenshots) against the
local `ScriptedChatServer`, which answers each call with a plausible reply for the current step
and bills tokens like OpenAI (text ~ chars/4, screenshots by the high-detail tile rule). The
episode is N steps on a synthetic 1280x800 form with ~20 elements; the last step is `done`.
What is measured is what each planner SENDS: prompt tokens per task and per step.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from guiagent.eval.scripted_server import ChatRequest, ScriptedChatServer
from guiagent.planning.base import Planner
from guiagent.schema import Element, Observation, Outcome, Role, Step

TASK = "Fill in the registration form field by field and submit it"
_THOUGHT = ("The form is open and the fields above are filled in; the next empty field is the one to work on "
            "now, so I act on it and then continue with the remaining fields in order.")


@dataclass
class EpisodeTokens:
    prompt_per_step: list[int] = field(default_factory=list)
    completion: int = 0
    calls: int = 0
    seconds: float = 0.0

    @property
    def prompt(self) -> int:
        return sum(self.prompt_per_step)


@dataclass
class BenchRow:
    steps: int
    dpot: EpisodeTokens
    react: EpisodeTokens
    dpot_seconds: float  # median over repeats
    react_seconds: float

    @property
    def ratio(self) -> float:
        return self.dpot.prompt / max(self.react.prompt, 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "dpot_prompt_tokens": self.dpot.prompt, "react_prompt_tokens": self.react.prompt,
            "ratio_dpot_react": round(self.ratio, 3),
            "dpot_calls": self.dpot.calls, "react_calls": self.react.calls,
            "dpot_per_step": self.dpot.prompt_per_step, "react_per_step": self.react.prompt_per_step,
            "dpot_median_s": round(self.dpot_seconds, 3), "react_median_s": round(self.react_seconds, 3),
        }


def synthetic_screens(n_elements: int = 20, size: tuple[int, int] = (1280, 800)) -> tuple[list[Any], list[Element]]:
    """A form-like screenshot (two variants) and its elements."""
    from PIL import Image, ImageDraw

    elements: list[Element] = []
    w, h = size
    for i in range(n_elements):
        col, row = i % 2, i // 2
        left, top = 80 + col * 600, 60 + row * 68
        if i % 2 == 0:
            elements.append(Element(id=str(i + 1), role=Role.TEXT, name=f"Field {row + 1} label",
                                    bbox=(left, top, left + 220, top + 40), source="ocr"))
        else:
            elements.append(Element(id=str(i + 1), role=Role.TEXT_FIELD, name=f"Field {row + 1}", editable=True,
                                    bbox=(left, top, left + 420, top + 40), clickable=True))
    screens = []
    for variant in range(2):
        im = Image.new("RGB", size, (245, 245, 245))
        d = ImageDraw.Draw(im)
        for e in elements:
            d.rectangle(e.bbox, outline=(60, 60, 60), fill=(255, 255, 255) if e.editable else None)
            d.text((e.bbox[0] + 6, e.bbox[1] + 12), e.name if not e.editable else "", fill=(0, 0, 0))
        d.text((w - 200, h - 40), f"variant {variant}", fill=(0, 0, 0))
        screens.append(im)
    return screens, elements


def _reply_fn(kind: str, state: dict[str, int], n_steps: int, fields: list[Element]) -> Callable[[ChatRequest], str]:
    def action(k: int) -> dict[str, Any]:
        if k >= n_steps - 1:
            return {"type": "done", "status": "success"}
        return {"type": "type", "text": f"value {k}", "target": f"#{fields[k % len(fields)].id}"}

    def reply(req: ChatRequest) -> str:
        k = state["step"]
        if kind == "react":
            return f"Thought: {_THOUGHT}\nAction: {json.dumps(action(k))}"
        if "Current step:" in req.text:  # D-PoT call 2
            return json.dumps({"thought": _THOUGHT, "action": action(k)})
        remaining = [f"fill in field {j + 1}" for j in range(k + 1, n_steps - 1)] + ["submit the form"]
        return json.dumps({"thought": _THOUGHT, "next_step": f"fill in field {k + 1}", "remaining_plan": remaining})

    return reply


def run_episode(planner: Planner, n_steps: int, state: dict[str, int], screens: Sequence[Any],
                elements: Sequence[Element]) -> EpisodeTokens:
    out = EpisodeTokens()
    history: list[Step] = []
    planner.reset(TASK)
    t0 = time.perf_counter()
    for k in range(n_steps):
        state["step"] = k
        image = screens[k % len(screens)]
        obs = Observation(screenshot=image, elements=tuple(elements), screen_size=image.size)
        decision = planner.next(TASK, obs, history)
        out.prompt_per_step.append(decision.usage.prompt_tokens)
        out.completion += decision.usage.completion_tokens
        out.calls += decision.usage.calls
        history.append(Step(index=k, decision=decision, action=decision.action, usage=decision.usage,
                            outcome=Outcome(status="ok", screen_changed=True)))
    out.seconds = time.perf_counter() - t0
    return out


def bench_planners(steps: Sequence[int] = (2, 5, 10, 15), repeats: int = 3, n_elements: int = 20,
                   on_row: Callable[[BenchRow], None] | None = None) -> list[BenchRow]:
    """Run both planners on N-step episodes for each N; tokens are deterministic, times are medians."""
    from grounding.models.openai_client import OpenAIChat
    from guiagent.planning.dpot import DPoTPlanner
    from guiagent.planning.react import ReActPlanner

    screens, elements = synthetic_screens(n_elements)
    fields = [e for e in elements if e.editable]
    rows = []
    for n in steps:
        results: dict[str, list[EpisodeTokens]] = {"dpot": [], "react": []}
        for kind in ("dpot", "react"):
            state = {"step": 0}
            with ScriptedChatServer(_reply_fn(kind, state, n, fields)) as srv:
                chat = OpenAIChat(base_url=srv.url, model="scripted", api_key="none", max_retries=0)
                planner: Planner = DPoTPlanner(chat) if kind == "dpot" else ReActPlanner(chat)
                try:
                    for _ in range(max(1, repeats)):
                        results[kind].append(run_episode(planner, n, state, screens, elements))
                finally:
                    planner.close()
        row = BenchRow(n, results["dpot"][0], results["react"][0],
                       statistics.median(r.seconds for r in results["dpot"]),
                       statistics.median(r.seconds for r in results["react"]))
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows
