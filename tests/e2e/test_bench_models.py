"""`guiagent bench models` against the scripted server: the table, the JSON rows, and a mode the
endpoint refuses. (The scripted "model" answers free text unconstrained and the schema's minimal
instance constrained: the bench's plumbing is checked, not a model.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openai_server import OpenAIServer, Reply

from guiagent.cli import main
from guiagent.eval.models_bench import SCREENS, bench_models, cases


def test_cli_prints_the_table_and_writes_the_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rows.json"
    with pytest.raises(SystemExit) as done:
        main(["bench", "models", "--scripted", "--steps", "3", "--json-out", str(out)])
    assert done.value.code == 0
    table = capsys.readouterr().out
    assert "planner structured" in table and "react   json_schema" in table
    rows = {(r["planner"], r["mode"]): r for r in json.loads(out.read_text())}
    assert set(rows) == {(p, m) for p in ("dpot", "react") for m in ("off", "json_object", "json_schema")}
    for planner in ("dpot", "react"):
        assert rows[planner, "off"]["valid"] == 0.0  # free text is no action
        for mode in ("json_object", "json_schema"):
            row = rows[planner, mode]
            assert (row["steps"], row["valid"], row["not_done"], row["on_screen"]) == (3, 1.0, 1.0, 1.0)
            assert row["median_tokens"] > 0


def test_a_refused_mode_is_reported_and_the_others_still_run() -> None:
    with OpenAIServer(lambda req: Reply.from_schema(), refuse={"json_schema"}) as srv:
        rows = bench_models({"base_url": srv.url, "model": "m", "max_retries": 0}, steps=2, planners=["dpot"],
                            modes=["json_schema", "json_object"])
    refused, ok = rows
    assert refused.refused.startswith("HTTP 400: response_format type 'json_schema'") and not refused.steps
    assert ok.valid == 1.0 and len(ok.steps) == 2


def test_the_steps_cycle_over_every_screen() -> None:
    names = {screen.name for screen, _ in cases(sum(len(s.tasks) for s in SCREENS))}
    assert names == {s.name for s in SCREENS} and len(names) == 5
