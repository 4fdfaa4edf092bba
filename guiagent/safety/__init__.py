"""Trust: the guard judges every action by what it touches; secrets stay placeholders in
everything written; the foreground app is checked against the allowlist after every action.

The public names are re-exported here so callers import from `guiagent.safety`.
"""

from guiagent.safety.guard import (
    DEFAULT_CLOSING_CHORDS,
    DEFAULT_SENSITIVE_WORDS,
    Approval,
    Approver,
    Guard,
    SafetyPolicy,
    SemanticMatcher,
    approve_all,
    refuse_all,
)

__all__ = [
    "DEFAULT_CLOSING_CHORDS",
    "DEFAULT_SENSITIVE_WORDS",
    "Approval",
    "Approver",
    "Guard",
    "SafetyPolicy",
    "SemanticMatcher",
    "approve_all",
    "refuse_all",
]
