"""Secrets as placeholders: a task says `type {{password}} into Password`, planners and models see
only the placeholder, the device types the value, and nothing written ever holds it.

- A secret is named by a reference, never by its value: `env:VAR` or `file:PATH`, resolved on the
  host that runs the task (`resolve_secrets`).
- `Secrets.scrub` / `scrub_obj` turn every value back into its placeholder (raw, JSON-escaped and
  URL-encoded forms); the sinks (episode writer, daemon store, subscribers, logs) apply it.
- `SecretsDevice` substitutes values into `type` actions at execute time only, and scrubs what the
  device reads back (a11y values, error messages). `ScrubbingParser` does the same for OCR text.
- `scrubbing_logs` scrubs every log record of the process while a run with secrets is live.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import os
import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, quote_plus

from PIL import Image
from pydantic import BaseModel

from devices.base import Device
from devices.wrappers import DeviceWrapper
from guiagent.schema import Action, Element, Outcome, TypeText
from guiagent.schema.errors import ConfigError, DeviceError, GuiAgentError
from guiagent.schema.placeholders import PLACEHOLDER_RE, placeholder, placeholders_in

log = logging.getLogger(__name__)

NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Text read from the screen may show only part of a secret (a scrolled field, an OCR misread):
# any run of this many characters of a value marks the text as showing it.
FRAGMENT = 8
T = TypeVar("T")


class UnknownSecret(DeviceError):
    """A `type` action names a placeholder the run has no secret for: the step fails, nothing is typed."""


# -- references --------------------------------------------------------------------------------


def check_secret_name(name: str) -> str:
    if not NAME_RE.fullmatch(name):
        raise ConfigError(f"secret name {name!r} must be letters, digits and underscores (used as {{{{name}}}})")
    return name


def check_secret_ref(name: str, ref: str) -> str:
    """`env:VAR` or `file:PATH`; anything else is refused without echoing it (it may be a value)."""
    kind, sep, rest = ref.partition(":")
    if not sep or kind not in ("env", "file") or not rest.strip():
        raise ConfigError(f"secret {name!r} must be a reference, env:VAR or file:PATH "
                          "(a literal value is never accepted: it would show in `ps` and shell history)")
    if kind == "env" and not NAME_RE.fullmatch(rest):
        raise ConfigError(f"secret {name!r}: env:VAR needs an environment variable name")
    return ref


def parse_secret_flags(specs: Iterable[str], flag: str = "--secret") -> dict[str, str]:
    """['pw=env:PW', 'key=file:/run/key'] -> {'pw': 'env:PW', 'key': 'file:/run/key'}."""
    refs: dict[str, str] = {}
    for spec in specs:
        name, sep, ref = spec.partition("=")
        if not sep:
            raise ConfigError(f"{flag} expects NAME=env:VAR or NAME=file:PATH")
        name = check_secret_name(name.strip())
        if name in refs:
            raise ConfigError(f"{flag} names the secret {name!r} twice")
        refs[name] = check_secret_ref(name, ref.strip())
    return refs


def check_secret_refs(refs: Mapping[str, str]) -> dict[str, str]:
    return {check_secret_name(n): check_secret_ref(n, r) for n, r in refs.items()}


def _resolve(name: str, ref: str) -> str:
    kind, _, rest = check_secret_ref(name, ref).partition(":")
    if kind == "env":
        value = os.environ.get(rest)
        if value is None:
            raise ConfigError(f"secret {name!r}: environment variable {rest} is not set")
    else:
        path = Path(rest).expanduser()
        try:
            value = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"secret {name!r}: cannot read {path}: {exc.strerror or type(exc).__name__}") from None
        value = value.removesuffix("\n").removesuffix("\r")  # a file written by `echo` ends with a newline
    if not value:
        raise ConfigError(f"secret {name!r}: {ref} is empty")
    return value


def resolve_secrets(refs: Mapping[str, str] | None) -> Secrets:
    """The values the references name, read now (on the host that runs the task)."""
    refs = dict(refs or {})
    return Secrets({name: _resolve(name, ref) for name, ref in refs.items()}, refs)


# -- the values and the scrubber ---------------------------------------------------------------


class Secrets:
    """Resolved secrets. Its repr, str and pickling never show a value."""

    def __init__(self, values: Mapping[str, str] | None = None, refs: Mapping[str, str] | None = None) -> None:
        self._values = dict(values or {})
        self.refs = dict(refs or {})
        # every written form of every value -> its placeholder, longest first (a value inside another)
        forms: dict[str, str] = {}
        for name, value in self._values.items():
            for form in (value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1],
                         quote(value, safe=""), quote(value), quote_plus(value)):
                forms.setdefault(form, placeholder(name))
        self._forms = sorted(forms.items(), key=lambda kv: -len(kv[0]))
        self._pattern = re.compile("|".join(re.escape(f) for f, _ in self._forms)) if forms else None
        self._by_form = dict(self._forms)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._values)

    def __bool__(self) -> bool:
        return bool(self._values)

    def __repr__(self) -> str:
        return f"Secrets(names={list(self._values)})"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("Secrets are not picklable (they would be written somewhere)")

    # -- substitution (the device side) ----------------------------------------------------

    def substitute(self, text: str) -> str:
        """`text` with each placeholder replaced by its value; UnknownSecret for a name with none."""
        unknown = [n for n in placeholders_in(text) if n not in self._values]
        if unknown:
            known = ", ".join(self._values) or "none"
            raise UnknownSecret(f"the text names the secret {placeholder(unknown[0])}, but this run has no secret "
                                f"{unknown[0]!r} (its secrets: {known}; pass --secret {unknown[0]}=env:VAR); "
                                "nothing was typed")
        return PLACEHOLDER_RE.sub(lambda m: self._values[m.group(1)], text)

    # -- scrubbing (every sink) ------------------------------------------------------------

    def scrub(self, text: str) -> str:
        """`text` with every value (in any of its written forms) replaced by its placeholder."""
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(lambda m: self._by_form[m.group(0)], text)

    def shows_secret(self, text: str | None) -> bool:
        """True when screen text shows a value or a run of FRAGMENT characters of one."""
        return bool(text) and any(_overlaps(v, text or "") for v in self._values.values())

    def names_secret(self, text: str | None) -> bool:
        """True when `text` holds the placeholder of one of these secrets (the scrubbed trace of one)."""
        return bool(text) and any(n in self._values for n in placeholders_in(text or ""))

    def _scrub_screen(self, text: str) -> str:
        clean = self.scrub(text)
        shown = [n for n, v in self._values.items() if _overlaps(v, clean)]
        # only a fragment is left (a scrolled field, an OCR misread): the whole text goes
        return " ".join(placeholder(n) for n in shown) if shown else clean

    def scrub_element(self, e: Element) -> Element:
        updates: dict[str, Any] = {}
        for attr in ("name", "value"):
            text = getattr(e, attr)
            if text and (clean := self._scrub_screen(text)) != text:
                updates[attr] = clean
        extras = self.scrub_obj(e.extras)
        if extras is not e.extras:
            updates["extras"] = extras
        return e.model_copy(update=updates) if updates else e

    def scrub_obj(self, obj: T) -> T:
        """A copy of `obj` (pydantic models, dataclasses, lists, tuples, dicts, strings, nested) with
        every value scrubbed; `obj` itself when nothing changed. Images and other objects pass as is."""
        if not self._values:
            return obj
        return self._walk(obj)

    def _walk(self, x: Any) -> Any:
        if isinstance(x, str):
            return self.scrub(x)
        if isinstance(x, Element):
            return self.scrub_element(x)
        if isinstance(x, BaseModel):
            updates = {}
            for name in type(x).model_fields:
                v = getattr(x, name)
                nv = self._walk(v)
                if nv is not v:
                    updates[name] = nv
            return x.model_copy(update=updates) if updates else x
        if type(x) in (list, tuple):
            items = [self._walk(v) for v in x]
            return type(x)(items) if any(a is not b for a, b in zip(items, x, strict=True)) else x
        if isinstance(x, dict):
            pairs = {self._walk(k): self._walk(v) for k, v in x.items()}
            changed = any(k2 is not k or pairs[k2] is not v for (k, v), k2 in zip(x.items(), pairs, strict=True))
            return pairs if changed or len(pairs) != len(x) else x
        if dataclasses.is_dataclass(x) and not isinstance(x, type):
            changes = {}
            for f in dataclasses.fields(x):
                if not f.init:
                    continue
                v = getattr(x, f.name)
                nv = self._walk(v)
                if nv is not v:
                    changes[f.name] = nv
            return dataclasses.replace(x, **changes) if changes else x
        return x

    def scrub_error(self, exc: BaseException) -> BaseException | None:
        """A copy of `exc` with its message scrubbed, or None when it holds no secret."""
        if not self._values or not exc.args:
            return None
        args = tuple(self._walk(a) for a in exc.args)
        if all(a is b for a, b in zip(args, exc.args, strict=True)):
            return None
        clean = copy.copy(exc)
        clean.args = args
        return clean


def _overlaps(value: str, text: str) -> bool:
    if value in text:
        return True
    return len(value) > FRAGMENT and any(value[i:i + FRAGMENT] in text for i in range(len(value) - FRAGMENT + 1))


NO_SECRETS = Secrets()


# -- the device and the parser -----------------------------------------------------------------


class SecretsDevice(DeviceWrapper):
    """Types the values of `{{name}}` placeholders; everything read back is scrubbed. Installed on
    every agent run (even without secrets), so an unknown placeholder fails the step instead of
    being typed literally."""

    def __init__(self, device: Device, secrets: Secrets) -> None:
        super().__init__(device)
        self.secrets = secrets

    def execute(self, action: Action) -> Outcome:
        if isinstance(action, TypeText) and placeholders_in(action.text):
            action = action.model_copy(update={"text": self.secrets.substitute(action.text)})
        try:
            outcome = self.device.execute(action)
        except GuiAgentError as exc:
            clean = self.secrets.scrub_error(exc)
            if clean is None:
                raise
            raise clean from None  # the original (and its traceback locals) holds the value
        return self.secrets.scrub_obj(outcome)

    def ui_tree(self) -> list[Element]:
        return self.secrets.scrub_obj(self.device.ui_tree())


class ScrubbingParser:
    """A ScreenParser whose elements (OCR text included) hold placeholders instead of values."""

    def __init__(self, parser: Any, secrets: Secrets) -> None:
        self.parser, self.secrets = parser, secrets

    def parse(self, image: Image.Image, a11y: Sequence[Element]) -> list[Element]:
        return self.secrets.scrub_obj(self.parser.parse(image, a11y))

    def __getattr__(self, name: str) -> Any:
        if name == "parser":
            raise AttributeError(name)
        return getattr(self.parser, name)


# -- logs --------------------------------------------------------------------------------------

_lock = threading.Lock()
_active: list[Secrets] = []
_previous_factory: Any = None


def _scrub_all(text: str) -> str:
    for s in list(_active):
        text = s.scrub(text)
    return text


def _scrubbing_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record: logging.LogRecord = _previous_factory(*args, **kwargs)
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: logging reports it later; keep the record as is
        return record
    clean = _scrub_all(message)
    if clean != message:
        record.msg, record.args = clean, ()
    if record.exc_info and record.exc_info[1] is not None:
        text = logging.Formatter().formatException(record.exc_info)
        if (clean_exc := _scrub_all(text)) != text:
            record.exc_text, record.exc_info = clean_exc, None
    return record


@contextmanager
def scrubbing_logs(secrets: Secrets) -> Iterator[None]:
    """While inside, every log record of the process (any logger, any handler) holds placeholders
    instead of these values. Nests and overlaps (the daemon runs several tasks at once)."""
    global _previous_factory
    if not secrets:
        yield
        return
    with _lock:
        if not _active:
            _previous_factory = logging.getLogRecordFactory()
            logging.setLogRecordFactory(_scrubbing_factory)
        _active.append(secrets)
    try:
        yield
    finally:
        with _lock:
            _active.remove(secrets)
            if not _active:
                logging.setLogRecordFactory(_previous_factory)
                _previous_factory = None
