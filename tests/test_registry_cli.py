"""The registry registers what it says, and every CLI command answers --help; bad flags and
bad names get clear errors."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from guiagent.cli import COMMAND_MODULES, build_parser
from guiagent.errors import ConfigError
from guiagent.registry import DEVICES, GROUNDERS, PLANNERS, build_device, build_planner, resolve


@pytest.mark.parametrize("path", sorted({*DEVICES.values(), *PLANNERS.values(), *GROUNDERS.values()}))
def test_every_registry_entry_resolves_to_a_callable(path: str) -> None:
    assert callable(resolve(path))


def test_every_command_module_exists_and_registers() -> None:
    for name in COMMAND_MODULES:
        assert hasattr(importlib.import_module(f"guiagent.cli.{name}"), "register"), name


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
