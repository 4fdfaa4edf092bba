"""Clauses that pick the Nth item of a list of results ("open the 7th result", "click the
second link in the search results", "follow the 3rd hit"): a click on the Nth search result,
whatever the verb, so that the results skill counts them (across pages)."""

from __future__ import annotations

import re

from guiagent.planning.instructions.goals import ClickGoal, Ref
from guiagent.planning.instructions.phrases import ordinal

_PICK = re.compile(
    r"^(?:(?:please|now)\s+)?(?:(?:find|locate)\s+and\s+)?"
    r"(?:click|tap|open|select|choose|pick|follow|visit|go\s+to)(?:\s+on)?\s+(?:the\s+)?(?P<o>\w+)\s+"
    r"(?:(?:search\s+)?(?:result|hit)(?:\s+(?:link|entry|item))?"
    r"|(?:link|entry|item|one)\s+(?:in|of|from|among|on)\s+(?:the\s+)?(?:search\s+)?(?:results|hits)(?:\s+(?:list|page))?)"
    r"(?:\s+(?:in|of|from|among|on)\s+(?:the\s+)?(?:search\s+)?(?:results|hits)(?:\s+(?:list|page))?)?"
    r"\s*[.!]?$", re.I)


def result_clause(clause: str) -> list[ClickGoal] | None:
    """The click on the Nth search result a clause asks for, else None."""
    m = _PICK.match(clause.strip())
    if m is None or (n := ordinal(m.group("o"))) is None or n < 1:
        return None
    return [ClickGoal(Ref("search result", None, n))]
