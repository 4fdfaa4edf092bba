"""Name -> factory for devices, planners and grounders, shared by the CLI, the app and the
daemon so that they construct things the same way.

Entries point at "module:callable" and are imported only when built, so that a minimal
install (the daemon on a phone) never imports Qt, torch or onnxruntime. A test imports every
entry, so a typo here fails CI instead of silently registering nothing.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from guiagent.errors import ConfigError

# Device specs are "name" or "name:argument" (e.g. "android:127.0.0.1:5555", "sim:settings").
# Factories are called as factory(argument: str, **options) -> devices.base.Device.
DEVICES: dict[str, str] = {
    "desktop": "devices.desktop:open_desktop",
    "android": "devices.android:open_android",
    "sim": "devices.simphone.launch:open_sim_phone",
    "windows": "devices.windows:open_windows",
}

# Factories are called as factory(**options) -> Planner / Grounder.
PLANNERS: dict[str, str] = {
    "rule": "guiagent.planning.rule:RulePlanner",
    "dpot": "guiagent.planning.dpot:DPoTPlanner.from_options",
    "react": "guiagent.planning.react:ReActPlanner.from_options",
    "autoui": "guiagent.planning.autoui:AutoUIPlanner.from_options",
}

GROUNDERS: dict[str, str] = {
    "text": "grounding.text_matcher:TextGrounder",
    "vlm": "grounding.vlm:VlmGrounder.from_options",
    "openai": "grounding.vlm:OpenAIGrounder.from_options",
}


def resolve(path: str) -> Callable[..., Any]:
    module_name, _, attr = path.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"cannot load {path}: {exc} (is the matching extra installed?)") from exc
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _lookup(table: dict[str, str], kind: str, name: str) -> Callable[..., Any]:
    if name not in table:
        raise ConfigError(f"unknown {kind} {name!r}; choose one of: {', '.join(sorted(table))}")
    return resolve(table[name])


def build_device(spec: str, **options: Any) -> Any:
    name, _, arg = spec.partition(":")
    return _lookup(DEVICES, "device", name)(arg, **options)


def build_planner(name: str, **options: Any) -> Any:
    return _lookup(PLANNERS, "planner", name)(**options)


def build_grounder(name: str, **options: Any) -> Any:
    return _lookup(GROUNDERS, "grounder", name)(**options)
