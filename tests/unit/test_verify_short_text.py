"""A field's read-back for a very short typed value: OCR of one or two characters next to a
caret is no evidence either way, so a different reading leaves the effect unverified."""

from __future__ import annotations

from test_rule_skills import el, obs

from guiagent.planning.skills.verify import Check, Verdict, evaluate
from guiagent.schema import Role


def test_a_short_value_read_differently_is_unseen_not_contradicted() -> None:
    field = el("f", Role.TEXT_FIELD, "Answer", 0, 1, editable=True)
    before = obs(field)

    def verdict(typed: str, read: str | None, changed: bool = True) -> Verdict:
        after = obs(field.model_copy(update={"value": read}))
        return evaluate(Check("holds", f"to hold {typed!r}", text=typed, where=field), before, after, None, changed)[0]

    assert verdict("L", "4") is Verdict.unseen and verdict("ab", "o6") is Verdict.unseen
    assert verdict("L", "L") is Verdict.ok
    assert verdict("abc", "xyz") is Verdict.failed  # three characters read otherwise still contradict
    assert verdict("L", None, changed=False) is Verdict.failed  # nothing read where nothing changed
