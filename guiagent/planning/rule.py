"""The embedded default planner: explicit instructions -> one typed action per call.

`reset(task)` parses the task into sub-goals (`guiagent.planning.instructions`); `next()`
emits one action for the current one, targets as descriptions the loop grounds ("Name
field", "the link 'lorem'"). It reads `observation.elements` where that makes it robust:
toggles already in the wanted state are skipped, "both text fields" go to the 1st and 2nd
field on screen, a link hidden in another tab / section is searched for tab by tab. A target
the grounder cannot find (`feedback`, or a failed step in `history`) gets one more phrasing,
then `Done(status="impossible")` says why. Progress lives in the planner: a call without
feedback or a failed step means the previous action was carried out. Needs no model.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Generator, Sequence
from dataclasses import dataclass

from guiagent.planning.base import Planner
from guiagent.planning.instructions import (
    BackGoal,
    ClickGoal,
    FocusGoal,
    HomeGoal,
    KeyGoal,
    OpenAppGoal,
    Ref,
    ScrollGoal,
    SearchClickGoal,
    SelectGoal,
    SetToggleGoal,
    SubGoal,
    TypeGoal,
    WaitGoal,
    describe_goal,
    parse_instructions,
)
from guiagent.schema import (
    Action,
    Back,
    Click,
    Decision,
    Done,
    DoubleClick,
    Element,
    Home,
    Key,
    LongPress,
    Observation,
    OpenApp,
    RightClick,
    Role,
    Scroll,
    Step,
    Target,
    TypeText,
    Wait,
    describe_action,
)
from guiagent.schema.errors import ConfigError

log = logging.getLogger(__name__)

_POINTER = {"click": Click, "double": DoubleClick, "right": RightClick, "long": LongPress}
_TOGGLES = (Role.CHECKBOX, Role.RADIO, Role.SWITCH)
_TOGGLE_ROLE = {"checkbox": Role.CHECKBOX, "radio": Role.RADIO, "switch": Role.SWITCH}
_ROLE_OF = {"button": Role.BUTTON, "link": Role.LINK, "tab": Role.TAB, "icon": Role.ICON, "field": Role.TEXT_FIELD,
            "list": Role.COMBOBOX, "item": Role.LIST_ITEM, **_TOGGLE_ROLE}
# feedback that means "the target was not found" (GroundingError messages), as opposed to a
# refusal by the guard or a device failure, which another phrasing would not fix
_NOT_FOUND = re.compile(r"ground|not found|could not find|couldn't find|cannot find|can't find|no element"
                        r"|no match|nothing (?:on the screen )?match", re.I)


@dataclass(frozen=True)
class _Attempt:
    actions: tuple[Action, ...]  # the action, then at most one other phrasing of it
    why: str = ""


_Steps = Generator[_Attempt, Observation, None]


def _words(s: str) -> str:
    return re.sub(r"\W+", " ", s).strip()


def _norm(s: str) -> str:
    return _words(s.casefold())


def _visible(obs: Observation) -> list[Element]:
    w, h = obs.screen_size
    return [e for e in obs.elements if e.width > 0 and e.height > 0 and e.bbox[0] < w and e.bbox[1] < h
            and e.bbox[2] > 0 and e.bbox[3] > 0]


def _reading_order(elements: list[Element]) -> list[Element]:
    return sorted(elements, key=lambda e: (e.bbox[1], e.bbox[0]))


def _state(e: Element) -> bool | None:
    return e.checked if e.checked is not None else e.selected


def _nth(elements: list[Element], ordinal: int | None) -> Element | None:
    n = ordinal or 1
    ordered = _reading_order(elements)
    if n == -1:
        return ordered[-1] if ordered else None
    return ordered[n - 1] if 0 < n <= len(ordered) else None


def _named(obs: Observation, ref: Ref, exclude: Sequence[Element] = (), loose: bool = True) -> Element | None:
    """A visible element whose text is `ref.text`: exact up to case first (preferring the
    role asked for), then as whole words with the same case inside a longer text (an OCR
    line; the case keeps "Scelerisque" at the start of a sentence from passing for the link
    "scelerisque")."""
    if not ref.text:
        return None
    want, skip = _norm(ref.text), {e.id for e in exclude}
    pool = [e for e in _visible(obs) if e.id not in skip and e.label]
    exact = [e for e in pool if _norm(e.label) == want]
    role = _ROLE_OF.get(ref.role or "")
    exact.sort(key=lambda e: e.role != role)
    if exact or not loose:
        return exact[0] if exact else None
    cased = _words(ref.text)
    return next((e for e in pool if f" {cased} " in f" {_words(e.label)} "), None)


def _toggle(obs: Observation, ref: Ref) -> Element | None:
    """The checkbox / radio / switch `ref` names: by its own name, else the one on the same
    row as a text with that name (a label next to its box or switch)."""
    toggles = [e for e in _visible(obs) if e.role in _TOGGLES]
    if not ref.text:
        role = _TOGGLE_ROLE.get(ref.role or "")
        return _nth([e for e in toggles if role is None or e.role == role], ref.ordinal)
    want = _norm(ref.text)
    if named := [e for e in toggles if _norm(e.label) == want]:
        return named[0]
    for label in (e for e in _visible(obs) if e.role not in _TOGGLES and _norm(e.label) == want):
        row = [t for t in toggles if abs(t.center[1] - label.center[1]) <= max(t.height, label.height) / 2 + 4]
        if row:
            return min(row, key=lambda t: abs(t.center[0] - label.center[0]))
    return None


def _text_fields(obs: Observation) -> list[Element]:
    return _reading_order([e for e in _visible(obs) if e.role == Role.TEXT_FIELD or e.editable])


def _targets(ref: Ref, element: Element | None = None) -> tuple[Target, ...]:
    """The target for `ref`, then one other phrasing: without the element id when one was
    resolved here, else without the role word ("Name field" -> "Name")."""
    first = ref.describe()
    if element is not None:
        return Target(element=element.id, description=first), Target(description=first)
    other = ref.describe(with_role=False) if ref.text else ""
    return (Target(description=first),) + ((Target(description=other),) if other and other != first else ())


def _field_targets(ref: Ref, obs: Observation) -> tuple[tuple[Target, ...], Element | None]:
    """Targets for a text field; "the 2nd text field" is resolved from the fields on screen."""
    fields = _text_fields(obs) if not ref.text and ref.role == "field" else []
    focused = [f for f in fields if f.focused] if ref.ordinal is None else []
    el = focused[0] if focused else _nth(fields, ref.ordinal) if fields else None
    return _targets(ref, el), el


class RulePlanner(Planner):
    """Instruction-following without a model. Options: `retry_variants` (default True):
    try one other phrasing of a target the grounder could not find before giving up."""

    name = "rule"
    keeps_plan = True

    def __init__(self, **options: object) -> None:
        unknown = sorted(k for k, v in options.items() if v is not None and k != "retry_variants")
        if unknown:
            raise ConfigError(f"the rule planner has no option {', '.join(unknown)}; it takes: retry_variants")
        self.retry_variants = bool(options.get("retry_variants", True))
        self._task: str | None = None
        self._goals: list[SubGoal] = []
        self._clear()

    def _clear(self) -> None:
        self._index = 0
        self._steps: _Steps | None = None
        self._attempt: _Attempt | None = None
        self._variant = 0
        self._repeated = False
        self._seen = self._step_index = 0
        self._final: Decision | None = None
        self._notes: list[str] = []

    def reset(self, task: str) -> None:
        """Parse `task` (raises InstructionNotUnderstood) and start from its first sub-goal."""
        self._task, self._goals = None, []
        self._clear()
        self._goals = parse_instructions(task)
        self._task = task
        log.debug("rule plan for %r: %s", task, [describe_goal(g) for g in self._goals])

    def next(
        self,
        task: str,
        observation: Observation,
        history: Sequence[Step],
        feedback: str | None = None,
    ) -> Decision:
        if task != self._task or (self._final is not None and not history and not feedback):
            self.reset(task)  # a new task, or the same one run again
        self._seen = history[-1].index + 1 if history else 0  # the index of the step being decided
        if self._final is not None:
            return self._final
        if self._attempt is not None:
            if feedback:  # the loop could not ground (or use) the last decision
                return self._rejected(feedback, not_found=bool(_NOT_FOUND.search(feedback)), device=False)
            step = next((s for s in reversed(history) if s.index == self._step_index), None)
            if step is not None and step.outcome.status == "failed":
                # no action recorded: it never got past grounding; else the device failed
                error = step.outcome.error or "the step failed"
                return self._rejected(error, not_found=step.action is None, device=step.action is not None)
            if step is not None and step.outcome.status == "blocked":
                return self._give_up(step.outcome.error or "the guard blocked it")
        return self._advance(observation)

    # ------------------------------------------------------------ the queue

    def _advance(self, obs: Observation) -> Decision:
        while self._index < len(self._goals):
            try:
                if self._steps is None:
                    self._steps = self._run(self._goals[self._index], obs)
                    attempt = next(self._steps)
                else:
                    attempt = self._steps.send(obs)
            except StopIteration:
                self._steps = None
                self._index += 1
                continue
            self._attempt, self._variant, self._repeated = attempt, 0, False
            decision = self._decide(attempt.actions[0], attempt.why)
            if isinstance(decision.action, Done):
                self._final = decision
            return decision
        self._attempt = None
        done = "; ".join(self._notes)
        self._final = Decision(thought=f"All {len(self._goals)} sub-goals are done." + (f" {done}." if done else ""),
                               action=Done(status="success"))
        return self._final

    def _rejected(self, reason: str, *, not_found: bool, device: bool) -> Decision:
        """The last attempt did not happen: another phrasing once when its target was not
        found, the same action once more after a device error, else give up."""
        assert self._attempt is not None
        tried = self._attempt.actions[self._variant]
        reason = reason.strip()
        if self.retry_variants and not_found and self._variant + 1 < len(self._attempt.actions):
            self._variant += 1
            other = self._attempt.actions[self._variant]
            return self._decide(other, f"{describe_action(tried)} failed ({reason}); "
                                       f"trying {describe_action(other)} instead")
        if device and not self._repeated:
            self._repeated = True
            return self._decide(tried, f"retrying after a device error: {reason}")
        return self._give_up(reason)

    def _give_up(self, reason: str) -> Decision:
        answer = f"I could not {describe_goal(self._goals[self._index])}: {reason}"
        self._attempt = None
        self._final = self._decide(Done(status="impossible", answer=answer), "giving up")
        return self._final

    def _decide(self, action: Action, why: str) -> Decision:
        goal = describe_goal(self._goals[self._index])
        notes = "".join(f"{n}. " for n in self._notes)
        self._notes = []
        thought = f"{notes}Sub-goal {self._index + 1}/{len(self._goals)}: {goal}" + (f" ({why})" if why else "")
        plan = tuple(describe_goal(g) for g in self._goals[self._index + 1:])
        self._step_index = self._seen  # the history index of the step this decision becomes
        return Decision(thought=thought, subgoal=goal, plan=plan, action=action)

    # ------------------------------------------------------------ one sub-goal -> actions

    def _run(self, goal: SubGoal, obs: Observation) -> _Steps:
        """Yields the attempts for `goal`; receives the observation after each one."""
        match goal:
            case ClickGoal(target=ref, kind=kind):
                yield _Attempt(tuple(_POINTER[kind](target=t) for t in _targets(ref)))
            case FocusGoal(target=ref):
                targets, _ = _field_targets(ref, obs)
                yield _Attempt(tuple(Click(target=t) for t in targets))
            case TypeGoal():
                yield self._typing(goal, obs)
            case KeyGoal(keys=keys, times=times):
                for i in range(times):
                    obs = yield _Attempt((Key(keys=keys),), f"{i + 1} of {times}" if times > 1 else "")
            case ScrollGoal(direction=d, times=times, amount=amount, anchor=anchor):
                anchors = _targets(anchor) if anchor else (None,)
                for i in range(times):
                    why = f"{i + 1} of {times}" if times > 1 else ""
                    obs = yield _Attempt(tuple(Scroll(direction=d, amount=amount, anchor=a) for a in anchors), why)
            case OpenAppGoal(name=name):
                yield _Attempt((OpenApp(name=name),))
            case WaitGoal(seconds=s):
                yield _Attempt((Wait(seconds=s),))
            case BackGoal():
                yield _Attempt((Back(),))
            case HomeGoal():
                yield _Attempt((Home(),))
            case SetToggleGoal(target=ref, on=on):
                el = _toggle(obs, ref)
                state = _state(el) if el is not None else None
                if state is on:
                    self._notes.append(f"skipped '{describe_goal(goal)}': it is already {'on' if on else 'off'}")
                    return
                why = "state unknown, clicking it" if state is None else f"it is {'off' if on else 'on'}"
                yield _Attempt(tuple(Click(target=t) for t in _targets(ref, el)), why)
            case SelectGoal():
                attempt = self._select(goal, obs)
                if attempt is None:
                    self._notes.append(f"skipped '{describe_goal(goal)}': it is already selected")
                    return
                yield attempt
            case SearchClickGoal():
                yield from self._search(goal, obs)

    def _typing(self, goal: TypeGoal, obs: Observation) -> _Attempt:
        field: Element | None = None
        if goal.field is not None:
            targets: tuple[Target | None, ...]
            targets, field = _field_targets(goal.field, obs)
            why = ""
        else:
            fields = _text_fields(obs)
            focused = next((f for f in fields if f.focused), None)
            if focused is not None or not fields:
                targets, why = (None,), "into the focused field" if focused else "no text field seen; typing as is"
            else:
                field = fields[0]
                targets, why = _targets(Ref("", "field", 1 if len(fields) > 1 else None), field), ""
        clear = bool(field is not None and field.value)  # replace what is there, do not append to it
        return _Attempt(tuple(TypeText(text=goal.text, target=t, submit=goal.submit, clear=clear) for t in targets),
                        why)

    def _select(self, goal: SelectGoal, obs: Observation) -> _Attempt | None:
        """None when the option is already selected."""
        option = goal.option
        toggle = _toggle(obs, option)
        if toggle is not None:  # a checkbox / radio option
            if _state(toggle) is True:
                return None
            return _Attempt(tuple(Click(target=t) for t in _targets(option, toggle)))
        boxes = [e for e in _visible(obs) if e.role == Role.COMBOBOX]
        if goal.in_list is not None and goal.in_list.text:
            wanted = _norm(goal.in_list.text)
            boxes.sort(key=lambda e: _norm(e.name) != wanted)
        if boxes and _norm(boxes[0].value or "") == _norm(option.text):
            return None
        shown = _named(obs, option, exclude=boxes)
        if shown is not None and shown.role in (Role.LIST_ITEM, Role.MENU_ITEM) and _state(shown) is True:
            return None
        if shown is None and boxes:  # a closed drop-down: focus it, type the option, Enter
            desc = f"{goal.in_list.text} drop-down".strip() if goal.in_list and goal.in_list.text else "the drop-down"
            targets = (Target(element=boxes[0].id, description=desc), Target(description=desc))
            return _Attempt(tuple(TypeText(text=option.text, target=t, submit=True) for t in targets),
                            f"{option.text!r} is inside a closed list")
        return _Attempt(tuple(Click(target=t) for t in _targets(option)))

    def _search(self, goal: SearchClickGoal, obs: Observation) -> _Steps:
        """Click the target when it is visible, else open the next tab / section not yet
        tried. A first sweep wants the exact text; only when no tab has it does a second
        sweep accept it inside a longer text (an OCR line)."""
        kind, ref, tried, loose = goal.container, goal.target, set[str](), False
        while True:
            containers = _reading_order([
                e for e in _visible(obs)
                if e.role == Role.TAB or re.match(rf"{kind}\b", e.label, re.I) or "expanded" in e.extras])
            hit = _named(obs, ref, exclude=containers, loose=loose)
            if hit is not None or not ref.text:
                yield _Attempt(tuple(Click(target=t) for t in _targets(ref)))
                return
            for c in containers:  # the open one was looked at already
                if _state(c) is True or c.extras.get("expanded") is True:
                    tried.add(_norm(c.label) or c.id)
            todo = next((c for c in containers if (_norm(c.label) or c.id) not in tried), None)
            if todo is None and not loose and containers:
                loose, tried = True, set()
                continue
            if todo is None:
                answer = f"{ref.describe()} is in none of the {len(containers)} {kind}s"
                yield _Attempt((Done(status="impossible", answer=answer),), f"looked through every {kind}")
                return
            tried.add(_norm(todo.label) or todo.id)
            desc = todo.label or f"the {kind}"
            obs = yield _Attempt((Click(target=Target(element=todo.id, description=desc)),
                                  Click(target=Target(description=desc))),
                                 f"{ref.describe()} is not visible; opening {kind} {todo.label!r}")
