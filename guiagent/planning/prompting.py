"""Shared prompt building for the model planners: templates, the screen as image + element
list, the executed-steps history, JSON decision parsing and token accounting.

Templates live in `assets/prompts/<name>.txt` (read through guiagent.schema.assets) and use
`$name` placeholders (string.Template), so the JSON examples inside them need no escaping. A
template may hold several sections headed by `=== section ===` lines.
"""

from __future__ import annotations

import inspect
import logging
import re
import string
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

from guiagent.formats.action_json import clip, extract_json_object, parse_action, show
from guiagent.schema import (
    Action,
    Element,
    Observation,
    Step,
    TokenUsage,
    action_targets,
    assets,
    describe_action,
    with_targets,
)
from guiagent.schema.errors import ConfigError, PlanParseError

if TYPE_CHECKING:
    from PIL.Image import Image

    from grounding.models.base import ChatMessage, ChatModel, ChatReply

log = logging.getLogger(__name__)

MAX_ELEMENTS = 60  # beyond this the element list is cut (the screenshot still shows everything)
# Model output is bounded before it is kept: a reply can be megabytes (a runaway generation, a
# hostile endpoint), and what is kept goes into every later prompt and every recorded step.
MAX_THOUGHT = 2_000  # characters of a thought kept in the decision
MAX_STEP = 500  # characters of one plan step; longer is malformed
MAX_PLAN_STEPS = 50
MAX_RAW = 20_000  # characters of a raw reply kept in a decision or a dialogue
MAX_REPLY = 200_000  # a longer reply is refused unparsed (max_tokens makes real ones far shorter)

ACTION_SPACE = """\
{"type": "click", "target": "#12"}                  (also "double_click", "right_click", "long_press")
{"type": "hover", "target": "#7"}                   (desktop: the pointer rests there, nothing is pressed)
{"type": "click", "target": [0.42, 0.18]}
{"type": "click", "target": "the Save button"}
{"type": "type", "text": "hello", "target": "#3", "submit": false}   (target optional; submit presses Enter)
{"type": "key", "keys": "ctrl+s"}                   (one key or a chord: "enter", "tab", "ctrl+a")
{"type": "scroll", "direction": "down", "amount": 0.5}
{"type": "swipe", "start": [0.5, 0.8], "end": [0.5, 0.2]}
{"type": "drag", "start": "#4", "end": "#9"}
{"type": "open_app", "name": "Settings"}
{"type": "back"}   {"type": "home"}   {"type": "wait", "seconds": 1}
{"type": "done", "status": "success", "answer": "<optional answer>"}   ("impossible" when it cannot be done)"""


@lru_cache(maxsize=16)
def _template_text(name: str) -> str:
    try:
        return assets.prompt(name)
    except OSError as exc:
        raise ConfigError(f"prompt template {name!r} is missing: {exc}") from exc


def load_sections(name: str) -> dict[str, str]:
    """The `=== section ===` parts of a template (the whole text under "main" if none)."""
    text = _template_text(name)
    parts = re.split(r"^===\s*(\w+)\s*===\s*$", text, flags=re.M)
    if len(parts) == 1:
        return {"main": text.strip()}
    return {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}


def fill(template: str, **values: Any) -> str:
    try:
        return string.Template(template).substitute({k: str(v) for k, v in values.items()})
    except (KeyError, ValueError) as exc:
        raise ConfigError(f"prompt template needs a value for {exc}") from exc


# ---- the screen ---------------------------------------------------------------------------
def _element_line(e: Element, size: tuple[int, int]) -> str:
    w, h = max(size[0], 1), max(size[1], 1)
    cx, cy = e.center
    flags = [f for f, on in (("focused", e.focused), ("disabled", not e.enabled), ("editable", e.editable),
                             ("password", e.password)) if on]
    if e.checked is not None:
        flags.append("checked" if e.checked else "unchecked")
    value = "" if not e.value or e.value == e.name else (
        " value='•••'" if e.password else f" value={e.value!r}")  # never a secret in a prompt
    state = f" [{', '.join(flags)}]" if flags else ""
    return f"#{e.id} {e.role.value} {e.name!r}{value}{state} @ {cx / w:.3f},{cy / h:.3f}"


def describe_screen(observation: Observation, max_elements: int = MAX_ELEMENTS) -> str:
    """The element list for prompts: one line per element with its id and normalized centre."""
    elements = list(observation.elements)
    if not elements:
        return "(no elements were detected; use points or descriptions)"
    lines = [_element_line(e, observation.screen_size) for e in elements[:max_elements]]
    if len(elements) > max_elements:
        lines.append(f"... and {len(elements) - max_elements} more (see the screenshot)")
    return "\n".join(lines)


def screen_image(observation: Observation, marks: bool = True) -> tuple[Image, bool]:
    """The screenshot to send, with set-of-marks boxes when `grounding.som` is available.
    Returns (image, marked)."""
    if marks and observation.elements:
        try:
            from grounding import som
        except ImportError:
            log.debug("grounding.som not available: sending the plain screenshot")
        else:
            render = getattr(som, "render_marks", None) or getattr(som, "draw_marks", None)
            try:
                if render is not None:
                    return render(observation.screenshot, list(observation.elements)), True
            except Exception as exc:  # a drawing failure must not cost the step
                log.warning("set-of-marks rendering failed (%s): sending the plain screenshot", exc)
    return observation.screenshot, False


def marks_note(marked: bool) -> str:
    return " (numbered boxes mark the elements by id)" if marked else ""


# ---- the history --------------------------------------------------------------------------
def executed_action(step: Step) -> Action | None:
    """The action a step ran (grounded), else the one it decided."""
    if step.action is not None:
        return step.action
    return step.decision.action if step.decision is not None else None


def step_result(step: Step) -> str:
    o = step.outcome
    if o.status == "ok":
        changed = "" if o.screen_changed is None else (
            ", the screen changed" if o.screen_changed else ", the screen did not change")
        return f"ok{changed}"
    return f"{o.status}: {o.error}" if o.error else o.status


def history_lines(history: Sequence[Step]) -> str:
    """Executed steps and actions, oldest first: what D-PoT keeps instead of a dialogue."""
    if not history:
        return "(none yet)"
    lines = []
    for n, step in enumerate(history, 1):
        action = executed_action(step)
        what = describe_action(action) if action is not None else "no action"
        goal = step.decision.subgoal if step.decision is not None and step.decision.subgoal else ""
        lines.append(f"{n}. {goal + ' -> ' if goal else ''}{what} -> {step_result(step)}")
    return "\n".join(lines)


# ---- replies ------------------------------------------------------------------------------
def safe_text(value: Any, limit: int) -> str:
    """Model-given free text (a thought) made safe to keep: a string, at most `limit` characters,
    valid Unicode (a lone surrogate cannot be written to a file)."""
    text = value if isinstance(value, str) else ("" if value is None else show(value, limit))
    text = text.encode("utf-8", "replace").decode("utf-8")
    return clip(text.strip(), limit)


def keep_raw(raw: str) -> str:
    """A raw reply as kept in a decision or a dialogue (bounded, valid Unicode)."""
    return safe_text(raw, MAX_RAW)


def plan_step(value: Any, what: str, raw: str) -> str:
    """One plan step: text of at most MAX_STEP characters."""
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise PlanParseError(f"{what} must be text, not {show(value)}", raw=raw)
    text = str(value).strip()
    if len(text) > MAX_STEP:
        raise PlanParseError(f"{what} is {len(text)} characters long (at most {MAX_STEP})", raw=raw)
    return text.encode("utf-8", "replace").decode("utf-8")


def check_reply_size(text: str) -> None:
    if len(text) > MAX_REPLY:
        raise PlanParseError(f"the reply is {len(text)} characters long (at most {MAX_REPLY}); "
                             "answer with one short JSON object", raw=text[:MAX_RAW])


_RAW_CONTROLS = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def parse_json_reply(text: str) -> dict[str, Any]:
    """The JSON object of a reply. A raw line break or tab inside a string (small models write
    them, constrained or not) is escaped and the object parsed again; what then still fails is
    reported as the first error was."""
    check_reply_size(text)
    try:
        return extract_json_object(text)
    except PlanParseError:
        repaired = escape_raw_controls(text)
        if repaired == text:
            raise
        try:
            obj = extract_json_object(repaired)
        except PlanParseError:
            pass
        else:
            log.debug("a reply with raw control characters inside a JSON string was repaired")
            return obj
        raise


def escape_raw_controls(text: str) -> str:
    """`text` with raw line breaks and tabs inside JSON strings (from the first "{" on) escaped.
    Other control characters stay (and fail): no model writes them by accident."""
    start = text.find("{")
    if start == -1:
        return text
    out, in_str, esc = [text[:start]], False, False
    for ch in text[start:]:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
            elif ch in _RAW_CONTROLS:
                ch = _RAW_CONTROLS[ch]
        elif ch == '"':
            in_str = True
        out.append(ch)
    return "".join(out)


def parse_reply_action(obj: dict[str, Any], raw: str, screen_size: tuple[int, int]) -> Action:
    """The action inside a decoded reply ({"action": {...}} or a flat action object)."""
    data = obj.get("action", obj)
    if not isinstance(data, dict):
        raise PlanParseError(f"'action' must be a JSON object, not {show(data)}", raw=raw)
    try:
        action = parse_action(data, screen_size)
    except PlanParseError as exc:
        raise PlanParseError(str(exc), raw=raw) from None
    # "#12" -> "12": element ids are the observation's ids
    targets = [t.model_copy(update={"element": t.element.lstrip("#")}) if t.element else t
               for t in action_targets(action)]
    return with_targets(action, targets)


def as_plan(value: Any, raw: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        items: list[Any] = re.split(r"\n|;", value)
    elif isinstance(value, list):
        items = value
    else:
        raise PlanParseError(f"the plan must be a list of step strings, not {show(value)}", raw=raw)
    if len(items) > MAX_PLAN_STEPS:
        raise PlanParseError(f"the plan has {len(items)} steps (at most {MAX_PLAN_STEPS})", raw=raw)
    steps = (plan_step(s, f"plan step {i + 1}", raw) for i, s in enumerate(items))
    return tuple(s for s in steps if s)


class StructuredCaller(Protocol):
    """How a planner asks for a reply following a schema (guiagent.planning.structured.Structured)."""

    def chat(self, model: ChatModel, messages: Sequence[ChatMessage], name: str, schema: dict[str, Any], *,
             max_tokens: int, temperature: float) -> ChatReply: ...


class UsageMeter:
    """Sums the usage of every model call made for one decision."""

    def __init__(self) -> None:
        self.usage = TokenUsage()

    def chat(self, model: ChatModel, messages: Sequence[ChatMessage], *, max_tokens: int,
             temperature: float, structured: StructuredCaller | None = None,
             schema: tuple[str, dict[str, Any]] | None = None) -> str:
        """One model call; with `structured` on and a (name, schema), the reply is asked to
        follow the schema (it is validated like any other all the same)."""
        if structured is not None and schema is not None:
            reply = structured.chat(model, messages, schema[0], schema[1], max_tokens=max_tokens,
                                    temperature=temperature)
        else:
            reply = model.chat(messages, max_tokens=max_tokens, temperature=temperature)
        usage = reply.usage if reply.usage.calls else reply.usage.model_copy(update={"calls": 1})
        self.usage = self.usage + usage
        return reply.text

    def fail(self, exc: PlanParseError) -> PlanParseError:
        """Charge a parse error with the usage spent so far (the loop counts it)."""
        exc.with_usage(self.usage)
        return exc


def split_options(options: dict[str, Any], planner: type) -> tuple[dict[str, Any], dict[str, Any]]:
    """(planner options, chat-model options) from one flat options dict: the planner's are the
    keyword-only parameters of its constructor (the registry reads the same signature)."""
    params = inspect.signature(planner).parameters.values()
    own = {p.name for p in params if p.kind is p.KEYWORD_ONLY}
    mine = {k: v for k, v in options.items() if k in own and v is not None}
    rest = {k: v for k, v in options.items() if k not in own}
    return mine, rest
