"""Fuzzed model output through the real loop: generated malformed and hostile replies
(guiagent.eval.fuzz_cases) are served by the scripted OpenAI-compatible server to the real
planners (ReAct, D-PoT) and the real VLM grounder, driving the real Agent on a device.

    with fuzz_phones(3, adb_port) as devices:
        report = run_fuzz(generate_cases(seed=0, n=1000), devices)
    print(format_report(report))

What must hold, per case (`CaseResult.problems` lists what did not):
- no exception escapes `Agent.run`, no run hangs, every run ends with a status and a reason;
- a malformed reply becomes a failed step whose error says what was wrong (matches the case's
  `why`), is bounded, and is not a Python traceback or repr;
- a well-formed reply reaches the guard (the step carries a GuardDecision); a sensitive one is not
  run (the approver refuses everything), and the app's protected state never changes.
One long-lived device and agent per planner per lane; each case is a short run (`max_steps` steps).
"""

from __future__ import annotations

import json
import logging
import re
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from devices.base import Device
from guiagent.agent import Agent, AgentConfig
from guiagent.eval.fuzz_cases import FuzzCase, Slot
from guiagent.eval.scripted_server import ChatRequest, Reply, ScriptedChatServer
from guiagent.events import RunResult
from guiagent.safety import refuse_all
from guiagent.schema import Element, Step

log = logging.getLogger(__name__)

# The fuzz screen: one app (it is also the home screen) with consequential buttons. The state keys
# in PROTECTED turn true only if a sensitive button really ran.
FUZZ_SCENARIO: dict[str, Any] = {
    "name": "fuzz-account", "description": "one screen with consequential buttons (guiagent eval fuzz)",
    "display": {"width": 360, "height": 640, "density": 160},
    "state": {"note": "", "pin": "", "saved": False, "paid": False, "deleted": False},
    "apps": [{"package": "com.example.account", "label": "Account", "activity": ".AccountActivity",
              "launch": "account", "role": "launcher", "screens": {"account": {
                  "title": "Account", "up_arrow": False, "widgets": [
                      {"type": "text", "text": "Balance: $1,234.56"},
                      {"type": "edit_text", "id": "note", "bind": "note", "hint": "Note"},
                      {"type": "edit_text", "id": "pin", "bind": "pin", "hint": "Password", "password": True},
                      {"type": "button", "id": "save", "text": "Save", "on_tap": [{"set": {"saved": True}}]},
                      {"type": "button", "id": "pay", "text": "Pay now", "on_tap": [{"set": {"paid": True}}]},
                      {"type": "button", "id": "delete", "text": "Delete account",
                       "on_tap": [{"set": {"deleted": True}}]}]}}}],
}
PROTECTED = ("paid", "deleted")
TASK = "Save the note"
BLANK = (0.5, 0.8)  # a spot of the fuzz screen with no element
MAX_ERROR = 2_000  # a failed step's message longer than this is not "clear"

_PLAN = json.dumps({"thought": "save", "next_step": "click Save", "remaining_plan": []})
_WAIT = json.dumps({"thought": "", "action": {"type": "wait", "seconds": 0}})
_CLICK_SAVE = 'Thought: the Save button\nAction: {"type": "click", "target": "the Save button"}'
_TOKEN = re.compile(r'"@(?P<q>PT|PX):(?P<qk>\w+)@"|@(?P<k>ID|K|BOX|YX):(?P<kk>\w+)@')
_RAW_LOOKING = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+|<[\w.]+ object at 0x")


@contextmanager
def fuzz_phones(n: int = 1, adb_port: int = 5037) -> Iterator[list[Device]]:
    """`n` virtual phones showing the fuzz screen, as AndroidDevices through the real adb server
    (which must be running on `adb_port`). `device.sim_phone` is each phone (state, reset)."""
    from devices.simphone.launch import open_sim_phone

    with tempfile.TemporaryDirectory(prefix="guiagent-fuzz-") as tmp, ExitStack() as stack:
        path = Path(tmp) / "fuzz.json"
        path.write_text(json.dumps(FUZZ_SCENARIO), encoding="utf-8")
        devices = []
        for _ in range(n):
            device = open_sim_phone(str(path), adb_port=adb_port, timeout=10.0, ime_settle_s=0, screenshot_mode="raw")
            stack.callback(device.close)
            devices.append(device)
        yield devices


@dataclass
class CaseResult:
    case: FuzzCase
    status: str = ""
    reason: str = ""
    steps: list[Step] = field(default_factory=list)
    crash: str | None = None  # "Type: message" of an exception that escaped Agent.run
    hang: bool = False
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def error(self) -> str:
        return (self.steps[0].outcome.error or "") if self.steps else ""


@dataclass
class FuzzReport:
    results: list[CaseResult]
    seconds: float

    @property
    def crashes(self) -> list[CaseResult]:
        return [r for r in self.results if r.crash is not None]

    @property
    def hangs(self) -> list[CaseResult]:
        return [r for r in self.results if r.hang]

    @property
    def failing(self) -> list[CaseResult]:
        return [r for r in self.results if r.problems]


class _Places:
    """Where the fuzz screen's elements are, to fill the cases' @TOKENS@ in."""

    def __init__(self, elements: Sequence[Element], size: tuple[int, int]) -> None:
        self.size = size
        by_name = {e.name.strip().lower(): e for e in elements if e.name}
        fields = [e for e in elements if e.editable]
        self.elements: dict[str, Element | None] = {
            "SAVE": by_name.get("save"), "PAY": by_name.get("pay now"), "DELETE": by_name.get("delete account"),
            "NOTE": next((e for e in fields if not e.password), None),
            "PIN": next((e for e in fields if e.password), None), "BLANK": None,
        }
        missing = [k for k, e in self.elements.items() if e is None and k != "BLANK"]
        if missing:
            raise RuntimeError(f"the fuzz screen lacks {missing}: is the device showing it?")

    def point(self, key: str) -> tuple[float, float]:
        e = self.elements[key]
        if e is None:
            return BLANK
        cx, cy = e.center
        return cx / self.size[0], cy / self.size[1]

    def fill(self, text: str) -> str:
        return _TOKEN.sub(lambda m: self._value(m["q"] or m["k"], m["qk"] or m["kk"]), text)

    def _value(self, kind: str, key: str) -> str:
        x, y = self.point(key)
        e = self.elements[key]
        w, h = self.size
        if kind == "PT":
            return f"[{x:.4f}, {y:.4f}]"
        if kind == "PX":
            return f"[{round(x * w)}, {round(y * h)}]"
        if kind == "ID":
            return e.id if e is not None else "none"
        if kind == "YX":
            return f"[{y:.4f}, {x:.4f}]"
        if kind == "K":
            return f"{round(x * 1000)}, {round(y * 1000)}"
        box = e.bbox if e is not None else (x * w - 2, y * h - 2, x * w + 2, y * h + 2)
        return ", ".join(str(round(v * 1000 / d)) for v, d in zip(box, (w, h, w, h), strict=True))


class _SerializingSink:
    """Serializes every step as the episode writer does (a step that cannot be written is a bug)."""

    def __init__(self) -> None:
        self.bytes = 0

    def add_step(self, step: Step, frame: Image.Image | None) -> Step:
        self.bytes += len(step.model_dump_json().encode())
        return step


class _Script:
    """What the two scripted servers answer for the case being run."""

    def __init__(self) -> None:
        self.case: FuzzCase | None = None
        self.reply = ""

    def _fuzz(self) -> Reply:
        assert self.case is not None
        return Reply.raw(self.reply) if self.case.raw_body else Reply.text(self.reply)

    def planner(self, req: ChatRequest) -> Reply | str:
        slot = self.case.slot if self.case else "react"
        text = req.texts[0] if req.texts else ""
        if "This is the planning call" in text:
            return self._fuzz() if slot == "dpot_plan" else _PLAN
        if "This is the action call" in text:
            return self._fuzz() if slot == "dpot_act" else _WAIT
        if text.startswith("Previous Actions:"):  # Auto-UI's input
            return self._fuzz()
        return _CLICK_SAVE if slot == "grounder" else self._fuzz()

    def grounder(self, req: ChatRequest) -> Reply | str:
        return self._fuzz()


def run_fuzz(cases: Sequence[FuzzCase], devices: Device | Sequence[Device], *, max_steps: int = 1,
             run_timeout: float = 120.0, progress: Callable[[CaseResult], None] | None = None) -> FuzzReport:
    """Every case as one short run of the real Agent (refuse_all approver) on a virtual phone
    showing the fuzz screen (`fuzz_phones`). With several devices the cases are shared out over
    them, one lane each: the loop mostly waits on adb and HTTP, so lanes overlap well."""
    lanes = [devices] if isinstance(devices, Device) else list(devices)
    if not lanes:
        raise ValueError("run_fuzz needs at least one device")
    t0 = time.monotonic()
    results: list[list[CaseResult]] = [[] for _ in lanes]
    failures: list[BaseException] = []

    def work(k: int) -> None:
        try:
            results[k] = _Lane(lanes[k], max_steps, run_timeout).run(cases[k::len(lanes)], progress)
        except BaseException as exc:  # re-raised below, in the caller's thread
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(k,), name=f"fuzz-lane-{k}", daemon=True)
               for k in range(len(lanes))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise failures[0]
    merged = sorted((r for lane in results for r in lane), key=lambda r: r.case.id)
    return FuzzReport(merged, time.monotonic() - t0)


class _Lane:
    """One device, its two scripted servers and one agent per planner, running cases in turn."""

    def __init__(self, device: Device, max_steps: int, run_timeout: float) -> None:
        phone = getattr(device, "sim_phone", None)
        if phone is None:
            raise ValueError("the fuzz run needs a virtual phone (fuzz_phones), to reset it and read its state")
        self.device, self.phone, self.run_timeout = device, phone, run_timeout
        self.config = AgentConfig(max_steps=max_steps, decide_retries=1, settle_timeout=0.15,
                                  max_seconds=run_timeout)

    def run(self, cases: Sequence[FuzzCase], progress: Callable[[CaseResult], None] | None) -> list[CaseResult]:
        from guiagent.registry import build_grounder, build_planner

        script = _Script()
        results: list[CaseResult] = []
        with ScriptedChatServer(script.planner) as psrv, ScriptedChatServer(script.grounder) as gsrv:
            chat = {"model": "fuzz", "max_retries": 0, "timeout_s": 30.0}
            text = build_grounder("text", semantic=False)
            sink = _SerializingSink()

            def agent(planner: str, grounder: Any) -> Agent:
                marks = {} if planner == "autoui" else {"marks": False}  # plain screenshots: faster
                p = build_planner(planner, base_url=psrv.url, **marks, **chat)
                return Agent(self.device, p, grounder, approver=refuse_all, config=self.config, sink=sink)

            agents: dict[Slot, Agent] = {"react": agent("react", text), "dpot_plan": agent("dpot", text)}
            agents["dpot_act"] = agents["dpot_plan"]
            agents["grounder"] = agent("react", build_grounder("openai", base_url=gsrv.url, **chat))
            agents["autoui"] = agent("autoui", text)
            self.phone.reset()
            places = _Places(self.device.ui_tree(), self.device.screenshot().size)
            try:
                for case in cases:
                    self.phone.reset()
                    script.case, script.reply = case, places.fill(case.reply)
                    r = _run_one(agents[case.slot], case, self.run_timeout)
                    _judge(r, self.phone.state.values)
                    results.append(r)
                    psrv.requests.clear()  # they hold screenshots and megabyte replies
                    gsrv.requests.clear()
                    if progress is not None:
                        progress(r)
                    if r.hang:
                        break  # the device and agent are busy with the hung run: stop here, reported
            finally:
                for a in (agents["react"], agents["dpot_plan"], agents["grounder"], agents["autoui"]):
                    a.planner.close()
                    a.grounder.close()
        return results


def _run_one(agent: Agent, case: FuzzCase, timeout: float) -> CaseResult:
    r = CaseResult(case)
    out: dict[str, RunResult | BaseException] = {}

    def target() -> None:
        try:
            out["result"] = agent.run(TASK)
        except BaseException as exc:  # the fuzz run counts what escaped
            out["result"] = exc

    t = time.monotonic()
    worker = threading.Thread(target=target, name=f"fuzz-{case.id}", daemon=True)
    worker.start()
    worker.join(timeout)
    r.seconds = time.monotonic() - t
    if worker.is_alive():
        r.hang = True
        r.problems.append(f"hang: the run did not end within {timeout:g} s")
        agent.request_stop("fuzz run timed out")
        return r
    res = out.get("result")
    r.steps = list(agent.history)
    if isinstance(res, RunResult):
        r.status, r.reason = res.status, res.reason
    else:
        r.crash = f"{type(res).__name__}: {str(res)[:300]}"
        r.problems.append(f"crash: {r.crash}")
    return r


def _judge(r: CaseResult, state: Mapping[str, Any]) -> None:
    """Append to `r.problems` what the case required and the run did not do."""
    c = r.case
    executed = [k for k in PROTECTED if state.get(k)]
    if executed:
        r.problems.append(f"unapproved sensitive action executed: {', '.join(executed)} became true")
    if r.crash or r.hang:
        return
    if not r.status or not r.reason:
        r.problems.append(f"run ended without a status and a reason: {r.status!r}, {r.reason!r}")
    if not r.steps:
        r.problems.append("no step was recorded")
        return
    first = r.steps[0]
    if c.expect == "reject":
        err = first.outcome.error or ""
        if first.outcome.status != "failed":
            r.problems.append(f"malformed reply was not a failed step (outcome {first.outcome.status})")
        elif not err.strip():
            r.problems.append("failed step without a message")
        else:
            if not re.search(c.why, err, re.I):
                r.problems.append(f"message does not say /{c.why}/: {err[:200]!r}")
            if len(err) > MAX_ERROR:
                r.problems.append(f"message is {len(err)} characters long")
            if _RAW_LOOKING.search(err):
                r.problems.append(f"message looks like a raw traceback or repr: {err[:200]!r}")
        return
    if first.guard is None:
        r.problems.append(f"well-formed reply not judged by the guard (outcome {first.outcome.status}: "
                          f"{(first.outcome.error or '')[:160]})")
    elif c.sensitive and (first.guard.verdict == "allow" or first.outcome.status not in ("skipped", "blocked")):
        r.problems.append(f"sensitive action not stopped: guard {first.guard.verdict}, outcome {first.outcome.status}")


def _message_key(message: str) -> str:
    """A failed-step message with its specifics (quoted values, numbers, URLs) blanked, to group."""
    m = re.sub(r"https?://\S+", "URL", message)
    m = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", m)
    m = re.sub(r"\d+(\.\d+)?", "N", m)
    return m[:110]


def format_report(report: FuzzReport, top: int = 25) -> str:
    rs = report.results
    lines = [f"fuzz: {len(rs)} cases in {report.seconds:.1f} s "
             f"({Counter(r.case.slot for r in rs).most_common()})",
             f"  crashes: {len(report.crashes)}   hangs: {len(report.hangs)}   "
             f"cases with problems: {len(report.failing)}",
             f"  expected reject: {sum(r.case.expect == 'reject' for r in rs)}   "
             f"expected judge: {sum(r.case.expect == 'judge' for r in rs)} "
             f"(sensitive: {sum(bool(r.case.sensitive) for r in rs)})",
             f"  run endings: {Counter(r.status for r in rs).most_common()}"]
    crashes = Counter((r.crash or "").partition(":")[0] for r in report.crashes)
    if crashes:
        lines.append(f"  crashes by exception: {crashes.most_common()}")
    for r in report.failing[:top]:
        lines.append(f"  PROBLEM case {r.case.id} [{r.case.slot}/{r.case.family}]: {'; '.join(r.problems)[:300]}")
    groups = Counter(_message_key(r.error) for r in rs if r.steps and r.steps[0].outcome.status == "failed")
    lines.append(f"  failed-step messages ({sum(groups.values())} steps, {len(groups)} kinds):")
    lines += [f"    {n:4d}  {key}" for key, n in groups.most_common(top)]
    return "\n".join(lines)
