"""Secret placeholders: a task names a secret as `{{name}}`; planners, models and every file
see only the placeholder, and the device types the real value (guiagent.safety.secrets)."""

from __future__ import annotations

import re

# `{{password}}`, `{{ api_key }}`: a name of letters, digits and underscores.
PLACEHOLDER_RE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def placeholder(name: str) -> str:
    return "{{" + name + "}}"


def placeholders_in(text: str) -> list[str]:
    """The secret names `text` refers to, in order of appearance."""
    return PLACEHOLDER_RE.findall(text)


def only_placeholders(text: str) -> bool:
    """True when `text` is one or more placeholders and nothing else but whitespace: typing it
    into a password field types a named secret, not something the model made up."""
    return bool(text.strip()) and not PLACEHOLDER_RE.sub("", text).strip() and bool(PLACEHOLDER_RE.search(text))
