"""The embedded default planner: explicit instructions -> one typed action per call.

`reset(task)` parses the task into sub-goals (`guiagent.planning.instructions`); `next()`
emits one action for the current one, targets as descriptions the loop grounds ("Name
field", "the link 'lorem'"). The skills (`guiagent.planning.skills`) turn a sub-goal into
attempts, reading `observation.elements` where that makes them robust (toggles already in
the wanted state are skipped, a link hidden in another tab is searched for tab by tab).

Every attempt states its postcondition (the field holds the text, the box is ticked, the tab
opened); the planner checks it on the next observation. A contradicted postcondition gets
one retry, which the guard judges again like any action and which is never a second submit /
send / pay; then `Done(status="impossible")` says what was expected and what was seen. A
target the grounder cannot find gets one more phrasing, then an honest give-up. `done
(success)` comes only after the last postcondition was checked, and says which effects could
not be read. Progress lives in the planner: a call without feedback or a failed step means
the previous action was carried out. Needs no model.
"""

from __future__ import annotations

import logging
import re
import statistics
import time
from collections.abc import Sequence
from dataclasses import replace

from guiagent.planning.base import Planner
from guiagent.planning.instructions import (
    ClickGoal,
    SelectGoal,
    SubGoal,
    TypeGoal,
    WaitGoal,
    describe_goal,
    parse_instructions,
)
from guiagent.planning.instructions.forms import finish_form
from guiagent.planning.skills import Attempt, Notes, Seen, Steps, run_goal
from guiagent.planning.skills.aim import aim
from guiagent.planning.skills.interrupt import first_segment, interruption, sole_button, sole_input
from guiagent.planning.skills.verify import IRREVERSIBLE, Verdict, evaluate, new_alert
from guiagent.schema import (
    Action,
    Click,
    Decision,
    Done,
    Observation,
    Role,
    Step,
    Target,
    TypeText,
    Wait,
    describe_action,
)
from guiagent.schema.errors import ConfigError

log = logging.getLogger(__name__)

# feedback that means "the target was not found" (GroundingError messages), as opposed to a
# refusal by the guard or a device failure, which another phrasing would not fix
_NOT_FOUND = re.compile(r"ground|not found|could not find|couldn't find|cannot find|can't find|no element"
                        r"|no match|nothing (?:on the screen )?match", re.I)


_WAITS, _PAUSE = 3, 0.5  # looks for a target that is not on the screen yet, and the pause before each


def _unanswered(action: Action, seen: Seen, first: Observation | None) -> bool:
    """A click on a button that came up after the task began (a late button) after which not
    one pixel changed: most likely it was not wired yet. A button there from the start may
    only record the click, and a second one would count twice: never repeated."""
    el = seen.target
    if not isinstance(action, Click) or seen.changed is not False or el is None or el.role != Role.BUTTON:
        return False
    return first is not None and all(e.label.strip().casefold() != el.label.strip().casefold() for e in first.elements)


def _again(action: Action) -> Action:
    """The same action once more; typing replaces what the first try may have left."""
    return action.model_copy(update={"clear": True}) if isinstance(action, TypeText) else action


def irreversible(action: Action) -> bool:
    """A submit / send / pay (by its target's words) or Enter after typing: never repeated."""
    if isinstance(action, TypeText) and action.submit:
        return True
    target = getattr(action, "target", None)
    desc = (target.description or "") if target is not None else ""
    return bool(IRREVERSIBLE.search(desc))


def _flag(value: object) -> bool:
    """An option's truth, from a bool or a CLI string ("false", "0", "no" are false)."""
    return str(value).lower() not in ("false", "0", "no")


class RulePlanner(Planner):
    """Instruction-following without a model. Options: `retry_variants` (default True):
    try one other phrasing of a target the grounder could not find before giving up;
    `verify` (default True): check each sub-goal's postcondition; `submit_forms` (default False):
    an instruction that only fills a form, and says nothing of how it ends, ends by pressing the
    form's one Submit button (environments whose forms count only once submitted, like MiniWoB++)."""

    name = "rule"
    keeps_plan = True

    def __init__(self, **options: object) -> None:
        known = ("retry_variants", "verify", "submit_forms")
        unknown = sorted(k for k, v in options.items() if v is not None and k not in known)
        if unknown:
            raise ConfigError(f"the rule planner has no option {', '.join(unknown)}; it takes: {', '.join(known)}")
        self.retry_variants = bool(options.get("retry_variants", True))
        self.verify = _flag(options.get("verify", True))
        self.submit_forms = _flag(options.get("submit_forms", False))
        self._task: str | None = None
        self._goals: list[SubGoal] = []
        self._clear()

    def _clear(self) -> None:
        self._index = 0
        self._steps: Steps | None = None
        self._attempt: Attempt | None = None
        self._before: Observation | None = None  # the observation the attempt was decided on
        self._variant = 0
        self._repeated = self._retried = False
        self._seen = self._step_index = 0
        self._final: Decision | None = None
        self._notes = Notes()
        self._checked = self._dismissals = 0
        self._unverified: list[str] = []
        self._first: Observation | None = None  # the screen when the task began
        self._redo = False  # the attempt a popup interrupted is to run again
        self._still = False  # the last checked action changed nothing at all
        self._history: Sequence[Step] = ()
        self._waits = 0  # looks for a target not on the screen yet (bounded)
        self._waiting = False  # the last decision was such a wait: decide the attempt again

    def reset(self, task: str) -> None:
        """Parse `task` (raises InstructionNotUnderstood) and start from its first sub-goal."""
        self._task, self._goals = None, []
        self._clear()
        goals = parse_instructions(task)
        self._goals = finish_form(goals, task) if self.submit_forms else goals
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
        self._history = history
        if self._final is not None:
            return self._final
        if self._first is None:
            self._first = observation
        seen = Seen(observation)
        if self._attempt is not None:
            if feedback:  # the loop could not ground (or use) the last decision
                return self._interrupted(observation) or self._rejected(
                    feedback, observation, not_found=bool(_NOT_FOUND.search(feedback)), device=False)
            step = next((s for s in reversed(history) if s.index == self._step_index), None)
            if step is not None and step.outcome.status == "failed":
                # no action recorded: it never got past grounding; else the device failed
                error = step.outcome.error or "the step failed"
                return self._interrupted(observation) or self._rejected(
                    error, observation, not_found=step.action is None, device=step.action is not None)
            if step is not None and step.outcome.status == "blocked":
                return self._give_up(step.outcome.error or "the guard blocked it")
            if self._waiting:  # waited for a target that was not there yet: look for it again
                self._waiting, self._variant = False, 0
                self._before = observation
                self._attempt = self._aimed(self._attempt, observation)
                return self._decide(self._attempt.actions[0], "looking for it again after the wait")
            if (resumed := self._interrupted(observation)) is not None:
                return resumed
            if step is not None:
                seen = Seen(observation, step.target_element, step.outcome.screen_changed)
            if (checked := self._check(seen)) is not None:
                return checked
        return self._advance(seen)

    # ------------------------------------------------------------ postconditions

    def _check(self, seen: Seen) -> Decision | None:
        """The last attempt's postcondition on the new screen: None to go on, else a retry or
        an honest failure."""
        attempt, before = self._attempt, self._before
        if attempt is None or attempt.check is None or before is None or not self.verify:
            return None
        verdict, what = evaluate(attempt.check, before, seen.obs, seen.target, seen.changed)
        if verdict is Verdict.ok:
            self._checked += 1
            self._still = False
            return None
        tried = attempt.actions[self._variant]
        if verdict is Verdict.unseen and not self._retried and _unanswered(tried, seen, self._first) and not irreversible(tried):
            self._retried = True  # once, judged by the guard again like any action
            return self._decide(tried, f"{describe_action(tried)} changed nothing at all; clicking once more")
        if verdict is Verdict.unseen:
            self._unverified.append(f"{attempt.check.expect} ({what})")
            # typed then submitted: a note / chat box clears on Enter and the same screen comes
            # back (the new entry may land below the fold), which is no sign that nothing happened
            self._still = seen.changed is False and not (isinstance(tried, TypeText) and tried.submit)
            return None
        self._still = False
        if not self._retried and attempt.check.lags:  # read it again after a pause, act no second time
            self._retried = True
            return self._decide(Wait(seconds=1.0), f"expected {attempt.check.expect}, but {what}; looking again")
        if not self._retried and not irreversible(tried):
            self._retried = True
            return self._decide(_again(tried), f"expected {attempt.check.expect}, but {what}; trying once more")
        return self._give_up(f"expected {attempt.check.expect}, but {what}")

    def _interrupted(self, obs: Observation) -> Decision | None:
        """A popup that was not there when the task began: dismiss it (least privileged
        control, through the guard like any click), then run the interrupted attempt again."""
        assert self._attempt is not None
        if self._dismissals < 3 and (ctl := interruption(self._first, obs)) is not None:
            self._dismissals += 1
            self._redo = True
            return self._decide(Click(target=Target(element=ctl.id, description=ctl.label)),
                                f"a popup interrupted it; dismissing it with {ctl.label!r}")
        if self._redo:
            self._redo = False
            tried = self._attempt.actions[self._variant]
            return self._decide(_again(tried), "resuming after the popup")
        return None

    # ------------------------------------------------------------ the queue

    def _advance(self, seen: Seen) -> Decision:
        while self._index < len(self._goals):
            try:
                if self._steps is None:
                    self._steps = run_goal(self._goals[self._index], seen, self._notes)
                    attempt = next(self._steps)
                else:
                    attempt = self._steps.send(seen)
            except StopIteration:
                self._steps = None
                self._index += 1
                continue
            attempt = self._aimed(attempt, seen.obs)
            self._attempt, self._variant, self._repeated, self._retried = attempt, 0, False, False
            self._before = seen.obs
            decision = self._decide(attempt.actions[0], attempt.why)
            if isinstance(decision.action, Done):
                self._final = decision
            return decision
        self._attempt = None
        return self._finish(seen.obs)

    def _aimed(self, attempt: Attempt, obs: Observation) -> Attempt:
        """A click on a name that can be read only inside a longer OCR label (two links read as
        one line, a menu read as one box) goes to a point on its words, not the label's centre,
        where the grounder would send it: a wrong click can cost more than a failed one."""
        goal = self._goals[self._index]
        ref = goal.target if isinstance(goal, ClickGoal) else goal.option if isinstance(goal, SelectGoal) else None
        first = attempt.actions[0]
        if ref is None or not isinstance(first, Click) or first.target.point or first.target.element:
            return attempt
        if (spot := aim(obs, ref)) is None:
            return attempt
        return replace(attempt, actions=(first.model_copy(update={"target": spot}), *attempt.actions))

    def _timed(self, wait: Wait) -> Wait:
        """"click A, wait 2 seconds, then click B": the seconds run from the action before, and
        the next action comes one look after the wait ends. Both delays, measured on this run
        (the settle of an unchanged screen, the quickest look), are taken off the wait."""
        last = next((s for s in reversed(self._history) if s.action is not None), None)
        if last is None or isinstance(last.action, Wait | Done) or last.outcome.status != "ok":
            return wait
        t = last.timings_ms
        acted = last.timestamp + sum(t.get(k, 0.0) for k in ("decide", "ground", "guard", "act")) / 1000
        still = [s.timings_ms["settle"] for s in self._history if s.outcome.screen_changed is False
                 and "settle" in s.timings_ms]
        looks = [s.timings_ms.get("capture", 0.0) + s.timings_ms.get("parse", 0.0) for s in self._history]
        after = (statistics.median(still) if still else 500.0) + (min(looks) if looks else 100.0)
        left = wait.seconds - (time.time() - acted) - after / 1000
        return Wait(seconds=round(max(0.0, left), 3))

    def _finish(self, obs: Observation) -> Decision:
        n = len(self._goals)
        if self._first is not None and (alert := new_alert(self._first, obs)) is not None:
            self._final = Decision(thought="An error dialog is open.", action=Done(
                status="impossible", answer=f"an error appeared: {alert!r}"))
            return self._final
        if self._still and self._unverified:  # the last action changed nothing: no success to claim
            self._final = Decision(thought="The last action changed nothing on the screen.", action=Done(
                status="impossible", answer=f"expected {self._unverified[-1]}"))
            return self._final
        said = [f"All {n} sub-goals are done; {self._checked} effect(s) checked on the screen."]
        if self._unverified:
            said.append("Not readable from the screen: " + "; ".join(self._unverified) + ".")
        said.extend(f"{line}." for line in self._notes.lines)
        self._final = Decision(thought=" ".join(said), action=Done(status="success"))
        return self._final

    def _rejected(self, reason: str, obs: Observation, *, not_found: bool, device: bool) -> Decision:
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
        if not_found and (instead := self._fallback(tried, obs)) is not None:
            return instead
        if not_found and self._waits < _WAITS:  # it may appear late (a delayed button, a slow page)
            self._waits += 1
            self._waiting = True
            return self._decide(Wait(seconds=_PAUSE), f"{describe_action(tried)} failed ({reason}); "
                                                      f"waiting for it to appear ({self._waits} of {_WAITS})")
        if device and not self._repeated:
            self._repeated = True
            return self._decide(tried, f"retrying after a device error: {reason}")
        return self._give_up(reason)

    def _fallback(self, tried: Action, obs: Observation) -> Decision | None:
        """When no phrasing found the target: a form's submit named by its purpose ("press
        login") is the form's only button; a value for a field nothing is called ("as the
        date") goes into the only input on screen. Once per attempt."""
        if self._repeated:
            return None
        goal = self._goals[self._index]
        el = None
        if isinstance(goal, ClickGoal) and isinstance(tried, Click):
            el = sole_button(obs, goal.target, self._first)
        elif isinstance(goal, TypeGoal) and isinstance(tried, TypeText) and goal.field is not None:
            el = sole_input(obs)
        if el is None:
            return None
        self._repeated = True
        target = Target(element=el.id, description=el.label or "the only input")
        if isinstance(goal, TypeGoal):
            target = first_segment(el, obs, target)
        return self._decide(tried.model_copy(update={"target": target}),
                            f"nothing is called that; using the only {'button' if isinstance(tried, Click) else 'input'}"
                            f" on the screen ({el.label!r})")

    def _give_up(self, reason: str) -> Decision:
        answer = f"I could not {describe_goal(self._goals[self._index])}: {reason}"
        self._attempt = None
        self._final = self._decide(Done(status="impossible", answer=answer), "giving up")
        return self._final

    def _decide(self, action: Action, why: str) -> Decision:
        if isinstance(action, Wait) and isinstance(self._goals[self._index], WaitGoal):
            action = self._timed(action)
        goal = describe_goal(self._goals[self._index])
        notes = "".join(f"{n}. " for n in self._notes.lines)
        self._notes.lines.clear()
        thought = f"{notes}Sub-goal {self._index + 1}/{len(self._goals)}: {goal}" + (f" ({why})" if why else "")
        plan = tuple(describe_goal(g) for g in self._goals[self._index + 1:])
        self._step_index = self._seen  # the history index of the step this decision becomes
        return Decision(thought=thought, subgoal=goal, plan=plan, action=action)


__all__ = ["RulePlanner", "irreversible"]
