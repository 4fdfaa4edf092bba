"""Secrets as placeholders: references, resolution, the scrubber, the redactor's use of it, logs,
the daemon's references-only task API and the CLI flags."""

from __future__ import annotations

import io
import json
import logging
import pickle
import sqlite3
from pathlib import Path

import pytest
from PIL import Image
from pydantic import ValidationError

from guiagent.cli import build_parser
from guiagent.cli._common import run_options
from guiagent.daemon.models import TaskIn
from guiagent.daemon.store import TaskStore
from guiagent.recorder import EpisodeWriter, Redactor, read_episode
from guiagent.recorder.redact import MASK
from guiagent.safety.secrets import (
    Secrets,
    UnknownSecret,
    parse_secret_flags,
    resolve_secrets,
    scrubbing_logs,
)
from guiagent.schema import Decision, Element, EpisodeMeta, Role, Step, Target, TypeText
from guiagent.schema.errors import ConfigError

VALUE = 'S3cr3t-"q/u+o t é'  # JSON- and URL-hostile on purpose
PW = Secrets({"pw": VALUE})


def test_references_only_with_clear_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_secret_flags(["pw=env:PW", "key = file:~/k"]) == {"pw": "env:PW", "key": "file:~/k"}
    for spec, needle in (("pw=hunter2", "must be a reference"), ("pw", "NAME=env:VAR"), ("p w=env:X", "secret name"),
                         ("pw=env:", "must be a reference"), ("pw=env:A B", "environment variable name"),
                         ("pw=file:", "must be a reference")):
        with pytest.raises(ConfigError, match=needle) as info:
            parse_secret_flags([spec])
        assert "hunter2" not in str(info.value)  # a literal is never echoed
    with pytest.raises(ConfigError, match="twice"):
        parse_secret_flags(["pw=env:A", "pw=env:B"])
    monkeypatch.setenv("GUIAGENT_UNIT_PW", VALUE)
    monkeypatch.delenv("GUIAGENT_UNIT_UNSET", raising=False)
    (tmp_path / "key").write_text("file-value\n")
    (tmp_path / "empty").write_text("")
    s = resolve_secrets({"pw": "env:GUIAGENT_UNIT_PW", "key": f"file:{tmp_path / 'key'}"})
    assert s.substitute("{{pw}}/{{ key }}") == f"{VALUE}/file-value"  # echo's newline dropped
    for ref, needle in (("env:GUIAGENT_UNIT_UNSET", "GUIAGENT_UNIT_UNSET is not set"),
                        (f"file:{tmp_path / 'nope'}", "cannot read"), (f"file:{tmp_path / 'empty'}", "is empty")):
        with pytest.raises(ConfigError, match=needle):
            resolve_secrets({"x": ref})


def test_values_never_show_in_repr_or_pickle() -> None:
    assert VALUE not in repr(PW) and VALUE not in str(PW) and "pw" in repr(PW)
    with pytest.raises(TypeError):
        pickle.dumps(PW)
    with pytest.raises(UnknownSecret, match=r"no secret 'nope'.*nothing was typed"):
        PW.substitute("{{pw}} and {{nope}}")


def test_scrub_every_written_form_and_every_field() -> None:
    for form in (VALUE, json.dumps(VALUE)[1:-1], json.dumps(VALUE, ensure_ascii=False)[1:-1]):
        assert PW.scrub(f"say {form}!") == "say {{pw}}!"
    assert PW.scrub("q=S3cr3t-%22q%2Fu%2Bo+t+%C3%A9&x") == "q={{pw}}&x"
    field = Element(id="3", role=Role.TEXT_FIELD, name="Note", value=VALUE, bbox=(10, 10, 200, 40))
    ocr = Element(id="4", name=VALUE[2:11] + "…", bbox=(10, 50, 120, 70), source="ocr")  # a scrolled/misread part
    raw = json.dumps({"action": {"type": "type", "text": VALUE}})
    step = Step(index=2, elements=[field, ocr], action=TypeText(text=VALUE),
                decision=Decision(thought=f"the field shows {VALUE}", plan=(f"check {VALUE}",), raw=raw,
                                  action=TypeText(text=VALUE)))
    clean = PW.scrub_obj(step)
    dumped = clean.model_dump_json()
    assert VALUE not in dumped and json.dumps(VALUE)[1:-1] not in dumped and VALUE[2:11] not in dumped
    assert clean.elements[0].value == "{{pw}}" and clean.elements[1].name == "{{pw}}"
    assert clean.decision is not None and clean.decision.thought == "the field shows {{pw}}"
    assert json.loads(clean.decision.raw or "")["action"]["text"] == "{{pw}}"
    assert step.elements[0].value == VALUE  # the input is left untouched
    untouched = Step(index=0, elements=[Element(id="1", name="OK", bbox=(0, 0, 5, 5))])
    assert PW.scrub_obj(untouched) is untouched


def test_redactor_masks_point_typing_and_blanks_what_shows_a_secret(tmp_path: Path) -> None:
    pw_field = Element(id="1", role=Role.TEXT_FIELD, name="Password", password=True, bbox=(0, 0, 100, 20))
    shown = Element(id="2", name=f"Welcome {VALUE}", bbox=(0, 40, 100, 60))
    plain = Element(id="3", name="Submit", bbox=(0, 80, 100, 100))
    at_pw = Target.at(0.25, 0.25)  # inside the password field's box on a 200x40 screen
    literal = Step(index=0, screen_size=(200, 40), elements=[pw_field, plain], action=TypeText(text="hunter2", target=at_pw),
                   decision=Decision(thought="typing hunter2", action=TypeText(text="hunter2", target=at_pw)))
    r = Redactor(secrets=PW)
    masked = r.redact_step(literal)
    assert isinstance(masked.action, TypeText) and masked.action.text == MASK
    assert masked.decision is not None and "hunter2" not in masked.decision.model_dump_json()
    named = literal.model_copy(update={"action": TypeText(text="{{pw}}", target=at_pw), "decision": None})
    kept = r.redact_step(named)
    assert isinstance(kept.action, TypeText) and kept.action.text == "{{pw}}"  # the placeholder says nothing
    frame_step = Step(index=1, screen_size=(200, 120), elements=[pw_field, shown, plain])
    boxes = r.boxes_to_blank(frame_step)
    assert pw_field.bbox in boxes and shown.bbox in boxes and plain.bbox not in boxes
    already = frame_step.model_copy(update={"elements": [PW.scrub_obj(shown)]})
    assert shown.bbox in r.boxes_to_blank(already)  # the placeholder marks where a value was
    # --no-redact: literal passwords kept, named secrets still never written
    off = Redactor.secrets_only(PW)
    assert off.redact_step(literal).action == literal.action
    assert pw_field.bbox not in off.boxes_to_blank(frame_step) and shown.bbox in off.boxes_to_blank(frame_step)

    folder = tmp_path / "ep"
    writer = EpisodeWriter(folder, EpisodeMeta(id="e", task=f"log in with {VALUE}"), redactor=r)
    img = Image.new("RGB", (200, 120), "white")
    writer.add_step(frame_step.model_copy(update={"action": TypeText(text=VALUE)}), img)
    writer.close("failed", reason=f"wrong password {VALUE}", answer=VALUE)
    for path in folder.rglob("*"):
        if path.is_file():
            assert VALUE.encode() not in path.read_bytes(), path
    traj = read_episode(folder)
    assert traj.meta.task == "log in with {{pw}}" and traj.meta.answer == "{{pw}}"
    frame = Image.open(folder / (traj.steps[0].frame or ""))
    assert frame.getpixel((50, 50)) == (0, 0, 0) and frame.getpixel((50, 90)) == (255, 255, 255)


def test_a_field_a_secret_went_into_stays_blanked_in_later_frames() -> None:
    """A recorder's tree snapshot can be older than its frame: the field typed into is blanked
    in the later frames of the same app even when their elements do not show the value."""
    name = Element(id="1", role=Role.TEXT_FIELD, name="Name", editable=True, bbox=(10, 10, 110, 30))
    r = Redactor(secrets=PW)
    r.redact_step(Step(index=0, foreground="app", elements=[name], target_element=name, action=TypeText(text=VALUE)))
    later, elsewhere = Step(index=1, foreground="app"), Step(index=2, foreground="other")
    assert name.bbox in r.boxes_to_blank(later) and name.bbox not in r.boxes_to_blank(elsewhere)
    plain = Redactor(secrets=PW)
    plain.redact_step(Step(index=0, foreground="app", elements=[name], target_element=name, action=TypeText(text="Ada")))
    assert plain.boxes_to_blank(later) == []


def test_logs_are_scrubbed_while_a_run_with_secrets_is_live() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("guiagent.test_secrets")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    other = Secrets({"key": "K3y-value-1234"})
    factory = logging.getLogRecordFactory()
    try:
        with scrubbing_logs(PW), scrubbing_logs(other):
            logger.info("typed %s and %s", VALUE, "K3y-value-1234")
            try:
                raise ValueError(f"bad {VALUE}")
            except ValueError:
                logger.exception("failed")
        assert logging.getLogRecordFactory() is factory  # restored once the last run ended
        logger.info("after: %s", VALUE)
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "typed {{pw}} and {{key}}" in text and "ValueError: bad {{pw}}" in text
    assert text.count(VALUE) == 1 and text.rstrip().endswith(f"after: {VALUE}")


def test_daemon_tasks_take_references_and_store_them(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as info:
        TaskIn(task="type {{pw}} into Password", secrets={"pw": "hunter2"})
    assert "env:VAR or file:PATH" in str(info.value)
    body = TaskIn(task="type {{pw}} into Password", secrets={"pw": "env:PW"})
    # a queue from before secrets gets the column
    old = tmp_path / "old.db"
    con = sqlite3.connect(old)
    con.executescript("CREATE TABLE tasks (id TEXT PRIMARY KEY, task TEXT NOT NULL, device TEXT, planner TEXT NOT NULL,"
                      " max_steps INTEGER NOT NULL, timeout_s REAL NOT NULL, status TEXT NOT NULL, attempts INTEGER"
                      " NOT NULL DEFAULT 0, max_attempts INTEGER NOT NULL, created REAL NOT NULL, queued_at REAL NOT"
                      " NULL, started REAL, finished REAL, updated REAL NOT NULL, assigned TEXT, owner TEXT,"
                      " lease_until REAL, run_id INTEGER, steps INTEGER NOT NULL DEFAULT 0, result TEXT, error TEXT,"
                      " approval TEXT, cancel_requested INTEGER NOT NULL DEFAULT 0)")
    con.close()
    store = TaskStore(old)
    try:
        record = store.add_task(body.task, planner="rule", max_steps=5, timeout_s=10, max_attempts=1,
                                secrets=body.secrets)
        plain = store.add_task("wait 1 second", planner="rule", max_steps=5, timeout_s=10, max_attempts=1)
        assert record.secrets == {"pw": "env:PW"} and plain.secrets == {}
        claim = store.claim("d/x", "x", lease_s=5)
        assert claim is not None and claim.task.secrets == {"pw": "env:PW"}
        with pytest.raises(ConfigError, match="must be a reference"):
            store.add_task("t", planner="rule", max_steps=5, timeout_s=10, max_attempts=1, secrets={"pw": "hunter2"})
    finally:
        store.close()


def test_cli_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUIAGENT_UNIT_PW", VALUE)
    parser = build_parser()
    args = parser.parse_args(["run", "type {{pw}} into Password", "--secret", "pw=env:GUIAGENT_UNIT_PW"])
    options = run_options(args)
    assert options.redact and options.secrets.names == ("pw",) and VALUE not in repr(options)
    assert not run_options(parser.parse_args(["run", "x", "--no-redact"])).redact
    assert run_options(parser.parse_args(["run", "x", "--redact"])).redact  # the old flag, now a no-op
    record = parser.parse_args(["record", "--task", "t", "--out", "o", "--secret", "pw=env:GUIAGENT_UNIT_PW"])
    assert record.secret == ["pw=env:GUIAGENT_UNIT_PW"] and not record.no_redact
    with pytest.raises(ConfigError, match="must be a reference"):
        run_options(parser.parse_args(["run", "x", "--secret", "pw=hunter2"]))
