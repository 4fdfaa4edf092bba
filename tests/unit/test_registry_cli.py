"""The registry registers what it says, and every CLI command answers --help; bad flags and
bad names get clear errors."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from guiagent.cli import COMMAND_MODULES, COMMANDS, build_parser, modules_for
from guiagent.registry import (
    CHAT_MODELS,
    DEVICES,
    GROUNDERS,
    PLANNERS,
    build_chat_model,
    build_device,
    build_grounder,
    build_planner,
    options_of,
    resolve,
)
from guiagent.schema.errors import ConfigError

TABLES = {"device": DEVICES, "planner": PLANNERS, "grounder": GROUNDERS, "chat": CHAT_MODELS}
ENTRIES = sorted((kind, name) for kind, table in TABLES.items() for name in table)


@pytest.mark.parametrize(("kind", "name"), ENTRIES)
def test_every_registry_entry_resolves_to_a_callable_and_names_its_options(kind: str, name: str) -> None:
    entry = TABLES[kind][name]
    assert callable(resolve(entry.factory))
    assert options_of(entry), f"{kind} {name} declares no options"  # resolves every options_of path too


def test_unknown_options_are_rejected_with_the_valid_ones_before_anything_starts() -> None:
    with pytest.raises(ConfigError, match=r"the rule planner has no option colour; it takes: retry_variants"):
        build_planner("rule", colour="red")
    with pytest.raises(ConfigError, match=r"the text grounder has no option fuzz; it takes: .*min_score, .*semantic"):
        build_grounder("text", fuzz=1)
    with pytest.raises(ConfigError, match=r"the dpot planner has no option temprature; it takes: .*temperature"):
        build_planner("dpot", temprature=0.2, base_url="http://127.0.0.1:9/v1")
    # read from DesktopDevice's signature: a typo never reaches X (no display is needed to say so)
    with pytest.raises(ConfigError, match=r"the desktop device has no option pauze; it takes: .*pause"):
        build_device("desktop", pauze=0.1)
    with pytest.raises(ConfigError, match=r"chat model has no option temprature"):
        build_chat_model(base_url="http://127.0.0.1:9/v1", temprature=0.1)


def test_every_command_module_exists_and_registers() -> None:
    for name in COMMAND_MODULES:
        assert hasattr(importlib.import_module(f"guiagent.cli.{name}"), "register"), name


def test_the_command_table_is_what_the_modules_register() -> None:
    """`COMMANDS` (which module a command line needs) is exactly what each module registers,
    so building one module's parser for a command can never miss the command."""
    for name in COMMAND_MODULES:
        registered = {tuple(c[:2]) if c[0] in ("bench", "eval", "train") else (c[0],)
                      for c in _subcommands(build_parser((name,)))}
        assert registered == {cmd for cmd, module in COMMANDS.items() if module == name}, name
    assert modules_for(["-v", "run", "click OK"]) == ("run",)
    assert modules_for(["eval", "miniwob", "--tasks", "dev"]) == ("eval_miniwob",)
    assert modules_for(["bench"]) == modules_for(["--help"]) == modules_for(["nosuch"]) == COMMAND_MODULES


def test_unknown_names_are_clear_errors() -> None:
    with pytest.raises(ConfigError, match="unknown device 'toaster'; choose one of"):
        build_device("toaster")
    with pytest.raises(ConfigError, match="unknown planner 'oracle'"):
        build_planner("oracle")


def _subcommands(parser) -> list[list[str]]:
    out = []
    for action in parser._subparsers._group_actions:
        for name, sub in action.choices.items():
            if sub._subparsers is not None:
                out += [[name, *rest] for rest in _subcommands(sub)]
            else:
                out.append([name])
    return out


def test_help_everywhere() -> None:
    commands = _subcommands(build_parser())
    expected = {"run", "devices", "demo", "sim-phone", "daemon", "record", "replay", "app"}
    assert expected <= {c[0] for c in commands}
    assert {("bench", "loop"), ("bench", "android"), ("bench", "daemon"), ("bench", "record"),
            ("bench", "planners"), ("eval", "miniwob"), ("eval", "grounding"), ("eval", "aitw"),
            ("train", "autoui")} <= {tuple(c) for c in commands if len(c) == 2}
    for cmd in commands:
        with pytest.raises(SystemExit) as exc:
            build_parser().parse_args([*cmd, "--help"])
        assert exc.value.code == 0, cmd


def test_wrong_flag_exits_2_with_a_message() -> None:
    p = subprocess.run([sys.executable, "-m", "guiagent", "run", "x", "--max-stepz", "3"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "unrecognized arguments: --max-stepz" in p.stderr
    p = subprocess.run([sys.executable, "-m", "guiagent", "run", "x", "--device", "toaster", "--no-input"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "unknown device 'toaster'" in p.stderr
    # a wrong planner is named as such, even where the device could not start (no display here)
    env = {k: v for k, v in __import__("os").environ.items() if k != "DISPLAY"}
    p = subprocess.run([sys.executable, "-m", "guiagent", "run", "x", "--planner", "nosuch", "--no-input"],
                       capture_output=True, text=True, timeout=60, env=env)
    assert p.returncode == 2 and "unknown planner 'nosuch'; choose one of: autoui" in p.stderr, p.stderr
    p = subprocess.run([sys.executable, "-m", "guiagent", "run", "x", "--grounder-opt", "nosuch=1", "--no-input"],
                       capture_output=True, text=True, timeout=60, env=env)
    assert p.returncode == 2 and "the text grounder has no option nosuch" in p.stderr, p.stderr
