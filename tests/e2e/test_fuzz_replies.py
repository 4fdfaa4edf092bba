"""Issue 14, item 6: 1000 generated malformed or hostile model replies, served by the scripted
OpenAI-compatible server (a real HTTP server) to the real ReAct and D-PoT planners and the real
VLM grounder, driving the real Agent on virtual phones through a private real adb server.

0 crashes, 0 hangs; every malformed reply a failed step with a clear message; every well-formed
one judged by the guard, sensitive ones refused (nobody approves), checked against the phone's own
state (nothing paid, nothing deleted); every run ends with a status and a reason."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from guiagent.eval.fuzz import PROTECTED, format_report, fuzz_phones, run_fuzz
from guiagent.eval.fuzz_cases import generate_cases

adbutils = pytest.importorskip("adbutils")

LANES = 3  # the loop mostly waits on adb and HTTP: three phones overlap well on two cores


@pytest.fixture(scope="module")
def adb_port() -> Iterator[int]:
    """A private adb server (never the shared one: other tests connect and disconnect there)."""
    from guiagent.daemon.fleet import AdbServer

    with AdbServer() as server:
        yield server.port


def test_1000_fuzzed_replies_through_the_real_loop(adb_port: int) -> None:
    cases = generate_cases(seed=0, n=1000)
    with fuzz_phones(LANES, adb_port) as devices:
        report = run_fuzz(cases, devices)
        final_states = [d.sim_phone.state.values for d in devices]  # type: ignore[attr-defined]
    print(format_report(report))

    assert len(report.results) == 1000
    assert report.crashes == [] and report.hangs == []
    assert report.failing == [], format_report(report)  # every expectation of every case held
    for r in report.results:
        assert r.status and r.reason
    for state in final_states:
        assert not any(state[k] for k in PROTECTED)

    rejected = [r for r in report.results if r.case.expect == "reject"]
    assert len(rejected) > 600 and all(r.steps[0].outcome.status == "failed" for r in rejected)
    sensitive = [r.steps[0] for r in report.results if r.case.sensitive]
    assert len(sensitive) > 50
    assert all(s.guard is not None and s.guard.verdict == "ask" and s.guard.resolution == "refused"
               and s.outcome.status == "skipped" for s in sensitive)
    # benign well-formed actions really ran on the phone (a guard that refuses everything fails)
    benign = [r for r in report.results if r.case.expect == "judge" and r.case.sensitive is False]
    assert sum(r.steps[0].outcome.status == "ok" for r in benign) > len(benign) // 2
