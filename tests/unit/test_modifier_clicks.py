"""Clicks with modifier keys held: the schema's canonical form, its log line, and the exports
that have no modifier keys refusing such a click (as they refuse a hover)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from guiagent.formats.aitw import NotRepresentable, to_aitw
from guiagent.recorder.sft_actions import agentnet_code, qwen25vl_arguments, showui_answers, uitars_action
from guiagent.schema import ACTION_ADAPTER, Click, Hover, Target, describe_action, mouse_only

T = Target.at(0.25, 0.5)


def test_modifiers_are_canonical_and_round_trip() -> None:
    c = Click(target=T, modifiers=("Shift", "control", "shift"))  # type: ignore[arg-type]
    assert c.modifiers == ("ctrl", "shift")  # aliases resolved, repeats dropped, one order
    assert Click(target=T, modifiers="cmd+ctrl").modifiers == ("ctrl", "meta")  # type: ignore[arg-type]
    assert ACTION_ADAPTER.validate_json(ACTION_ADAPTER.dump_json(c)) == c
    assert Click(target=T).modifiers == () and describe_action(Click(target=T)).startswith("click ")
    assert describe_action(Click(target=Target.described("Ashlie"), modifiers=("ctrl",))) == "ctrl+click 'Ashlie'"


@pytest.mark.parametrize("bad", [("a",), ("enter",), ("hyper",)])
def test_a_key_that_is_no_modifier_is_refused(bad: tuple[str, ...]) -> None:
    with pytest.raises(ValidationError):
        Click(target=T, modifiers=bad)  # type: ignore[arg-type]


def test_mouse_only() -> None:
    assert mouse_only(Hover(target=T)) and mouse_only(Click(target=T, modifiers=("alt",)))
    assert not mouse_only(Click(target=T))


def test_exports_without_modifier_keys_refuse_a_modified_click() -> None:
    c = Click(target=T, modifiers=("ctrl",))
    for export in (to_aitw, uitars_action, agentnet_code, lambda a: qwen25vl_arguments(a, (100, 100), False),
                   lambda a: showui_answers(a, False)):
        with pytest.raises(NotRepresentable, match="modifier"):
            export(c)
        export(Click(target=T))  # the plain click still exports
