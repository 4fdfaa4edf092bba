"""The AITW action-matching metric on hand-computed cases, and `guiagent eval aitw` end to end
(the autoui planner over the local OpenAI-compatible server, real images on disk)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from openai_server import OpenAIServer
from PIL import Image

from guiagent.cli import Cli
from guiagent.eval.aitw_metric import AitwReport, actions_match, enlarge_box, score_step, taps_match
from guiagent.formats.aitw import AitwAction, AitwEpisodeStep, AitwType

T = AitwType


def tap(y: float, x: float) -> AitwAction:
    return AitwAction(action_type=T.DUAL_POINT, touch_point=(y, x), lift_point=(y, x))


def swipe(y0: float, x0: float, y1: float, x1: float) -> AitwAction:
    return AitwAction(action_type=T.DUAL_POINT, touch_point=(y0, x0), lift_point=(y1, x1))


def typed(text: str) -> AitwAction:
    return AitwAction(action_type=T.TYPE, typed_text=text)


def test_taps_match_within_0_14_in_yx_distance() -> None:
    assert actions_match(tap(0.5, 0.5), tap(0.6, 0.58))  # sqrt(0.01 + 0.0064) = 0.128
    assert not actions_match(tap(0.5, 0.5), tap(0.6, 0.6))  # 0.1414 > 0.14
    assert actions_match(tap(0.5, 0.5), tap(0.5, 0.64))  # exactly on the threshold
    # a DUAL_POINT whose ends are <= 0.04 apart is still a tap
    assert actions_match(swipe(0.5, 0.5, 0.53, 0.52), tap(0.5, 0.5))


def test_enlarged_box_is_2_4x_around_the_centre() -> None:
    top, left, h, w = enlarge_box((0.4, 0.5, 0.1, 0.2))
    assert (top, left, h, w) == pytest.approx((0.33, 0.36, 0.24, 0.48))
    assert enlarge_box((0.02, 0.9, 0.1, 0.5)) == pytest.approx((0.0, 0.55, 0.24, 1.0))  # clamped


def test_taps_far_apart_match_inside_one_enlarged_annotation_box() -> None:
    box = (0.4, 0.4, 0.1, 0.1)  # enlarged: y and x in [0.33, 0.57]
    a, b = tap(0.335, 0.335), tap(0.565, 0.565)  # 0.325 apart: too far for the distance rule
    assert not actions_match(a, b)
    assert actions_match(a, b, [box])
    assert not actions_match(tap(0.325, 0.335), b, [box])  # one point just outside the enlarged box
    # both points must share ONE box
    assert not taps_match((0.335, 0.335), (0.9, 0.9), [box, (0.85, 0.85, 0.1, 0.1)])


def test_swipes_match_by_main_axis_only_and_never_a_tap() -> None:
    up = swipe(0.8, 0.5, 0.2, 0.5)
    assert actions_match(up, swipe(0.2, 0.5, 0.9, 0.52))  # same axis, opposite sign
    assert actions_match(up, swipe(0.6, 0.1, 0.3, 0.3))  # |dy| .3 > |dx| .2: vertical too
    assert not actions_match(up, swipe(0.5, 0.2, 0.5, 0.8))  # horizontal
    assert not actions_match(up, tap(0.8, 0.5))  # tap vs swipe, same touch point
    assert not actions_match(tap(0.8, 0.5), up)


def test_non_dual_point_actions_compare_types_only() -> None:
    assert actions_match(typed("hello"), typed("something else"))  # text not compared here
    assert not actions_match(AitwAction(action_type=T.PRESS_BACK), AitwAction(action_type=T.PRESS_HOME))
    assert actions_match(AitwAction(action_type=T.PRESS_ENTER), AitwAction(action_type=T.PRESS_ENTER))
    assert not actions_match(typed("a"), tap(0.5, 0.5))
    assert not actions_match(AitwAction(action_type=T.STATUS_TASK_COMPLETE),
                             AitwAction(action_type=T.STATUS_TASK_IMPOSSIBLE))


def test_scores_and_report_on_hand_computed_steps() -> None:
    cases = [
        (tap(0.5, 0.5), tap(0.55, 0.5)),  # match
        (tap(0.1, 0.1), tap(0.9, 0.9)),  # type right, action wrong
        (typed("Ada Lovelace"), typed("ada")),  # match, text contained (lowercased)
        (typed("Bob"), typed("ada")),  # match, text wrong
        (AitwAction(action_type=T.PRESS_BACK), typed("x")),  # all wrong
        (None, AitwAction(action_type=T.PRESS_HOME)),  # no prediction
    ]
    report = AitwReport()
    for pred, ref in cases:
        report.add(score_step(pred, ref, error=None if pred else "PlanParseError: junk"), ref)
    d = report.to_dict()
    assert d["steps"] == 6 and d["errors"] == 1
    assert d["overall"] == pytest.approx(3 / 6, abs=1e-4)
    assert d["action_type_accuracy"] == pytest.approx(4 / 6, abs=1e-4)
    assert d["text_steps"] == 3 and d["text_accuracy"] == pytest.approx(1 / 3, abs=1e-4)
    assert d["per_type"]["TAP"] == {"matched": 1, "total": 2}
    assert d["per_type"]["TYPE"] == {"matched": 2, "total": 3}


def _cli(module: str) -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(prog="guiagent")
    commands = parser.add_subparsers(dest="command", required=True)
    subs = {n: commands.add_parser(n).add_subparsers(dest=n, required=True) for n in ("bench", "eval", "train")}
    importlib.import_module(f"guiagent.cli.{module}").register(
        Cli(parser, commands, subs["bench"], subs["eval"], subs["train"]))
    return parser


def _decision(a: AitwAction, plan: str = "DUAL_POINT") -> str:
    from guiagent.models.autoui_text import format_action

    return f"Action Plan: [{plan}] ; Action Decision: {format_action(a)}"


def test_eval_aitw_cli_scores_the_autoui_planner(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Image.new("RGB", (360, 720), (30, 30, 30)).save(tmp_path / "s0.png")
    refs = [
        AitwEpisodeStep(goal="open wifi settings", image="s0.png", action=tap(0.3, 0.5)),
        AitwEpisodeStep(goal="open wifi settings", image="s0.png", action=typed("wifi"),
                        previous_actions=[tap(0.3, 0.5)]),
        AitwEpisodeStep(goal="open wifi settings", image=str(tmp_path / "s0.png"), action=tap(0.75, 0.2),
                        previous_actions=[tap(0.3, 0.5), typed("wifi")]),
    ]
    lines = [r.model_dump(mode="json") for r in refs]
    lines[2]["ui_positions"] = [[0.6, 0.1, 0.1, 0.1]]  # (top, left, h, w): enlarged y .53-.77, x .03-.27
    (tmp_path / "data.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    replies = [
        _decision(tap(0.32, 0.52)),  # within 0.14: match
        _decision(typed("WiFi networks"), "TYPE"),  # match, text contains
        _decision(tap(0.56, 0.11)),  # 0.21 away from (0.75, 0.2), both in the enlarged box
    ]
    out = tmp_path / "scores.json"
    with OpenAIServer(replies) as srv:
        args = _cli("evaluate").parse_args(["eval", "aitw", "--data", str(tmp_path / "data.jsonl"), "--planner",
                                            "autoui", "--base-url", srv.url, "--model", "t", "--json-out", str(out)])
        assert args.func(args) == 0
        assert '"typed_text": "wifi"' in srv.requests[2].texts[0]  # gold history goes in
    result = json.loads(out.read_text())
    assert result["scores"]["overall"] == 1.0 and result["scores"]["text_accuracy"] == 1.0
    assert result["usage"]["calls"] == 3
    printed = capsys.readouterr().out
    assert "100.00%" in printed and "action-type accuracy" in printed

    with OpenAIServer(["nonsense", _decision(tap(0.3, 0.5)), _decision(tap(0.1, 0.9))]) as srv:
        args = _cli("evaluate").parse_args(["eval", "aitw", "--data", str(tmp_path), "--planner", "autoui",
                                            "--base-url", srv.url, "--model", "t", "--json-out", str(out)])
        assert args.func(args) == 0
    result = json.loads(out.read_text())
    assert result["scores"]["overall"] == 0.0  # a parse error, a tap for a TYPE, a far tap
    assert result["scores"]["action_type_accuracy"] == pytest.approx(1 / 3, abs=1e-3)
    assert result["steps"][0]["error"].startswith("PlanParseError") and result["steps"][0]["raw"] == "nonsense"
