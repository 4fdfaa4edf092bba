"""The one assembly point: names and options -> devices, planners, grounders and chat models.

The CLI, the app, the daemon and the evaluations build everything here, the same way. The
registry owns the options: every name and every option is checked against what its entry takes
(`check_run` does all of a run at once) before any device, model or window starts, and a wrong
one is rejected with the list of valid ones.

Entries point at "module:callable" and are imported only when built, so that a minimal install
(the daemon on a phone) never imports Qt, torch or onnxruntime. A test builds or imports every
entry, so a typo here fails CI instead of silently registering nothing.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from guiagent.schema.errors import ConfigError

if TYPE_CHECKING:
    from devices.base import Device
    from grounding.base import Grounder
    from grounding.models.base import ChatModel
    from guiagent.planning.base import Planner


@dataclass(frozen=True)
class Entry:
    """One buildable thing: its factory, the options it takes, and how it is called.

    `options` names them; `options_of` names a callable whose keyword-only parameters are (more
    of) them, read by signature so a new parameter needs no second list. A `chat` entry is called as
    factory(build_chat_model, **options): it builds its model through the registry."""

    factory: str
    summary: str
    options: frozenset[str] = frozenset()
    options_of: tuple[str, ...] = ()
    chat: bool = False


# Chat-model backends, called as factory(**options) -> grounding.models.base.ChatModel.
CHAT_MODELS: dict[str, Entry] = {
    "openai": Entry("grounding.models.openai_client:OpenAIChat", "any OpenAI-compatible /v1/chat/completions endpoint",
                    frozenset({"base_url", "api_key", "model", "timeout_s", "max_retries", "backoff_s",
                               "image_format"})),
    "hf": Entry("grounding.models.hf_vlm:HfVlmChat", "a local Qwen2-VL-family checkpoint through transformers",
                frozenset({"model_path", "device", "dtype", "max_pixels", "min_pixels", "adapter"})),
}
CHAT_OPTIONS: frozenset[str] = frozenset({"backend"}).union(*(e.options for e in CHAT_MODELS.values()))

# Called as factory(**options) -> Planner, or factory(build_chat_model, **options) when `chat`.
PLANNERS: dict[str, Entry] = {
    "rule": Entry("guiagent.planning.rule:RulePlanner", "explicit instructions, no model (the default)",
                  frozenset({"retry_variants", "verify", "submit_forms"})),
    "dpot": Entry("guiagent.planning.dpot:DPoTPlanner.from_options", "D-PoT: a fresh plan every step",
                  CHAT_OPTIONS, ("guiagent.planning.dpot:DPoTPlanner",), chat=True),
    "react": Entry("guiagent.planning.react:ReActPlanner.from_options", "ReAct: one growing dialogue",
                   CHAT_OPTIONS, ("guiagent.planning.react:ReActPlanner",), chat=True),
    "autoui": Entry("guiagent.planning.autoui:AutoUIPlanner.from_options",
                    "Auto-UI chain-of-action (local checkpoint or endpoint)",
                    CHAT_OPTIONS, ("guiagent.planning.autoui:AutoUIPlanner",), chat=True),
    "rule+dpot": Entry("guiagent.planning.cascade:rule_then_dpot",
                       "the rule planner first, D-PoT for what it cannot parse or finish",
                       CHAT_OPTIONS, ("guiagent.planning.dpot:DPoTPlanner",), chat=True),
    "rule+react": Entry("guiagent.planning.cascade:rule_then_react",
                        "the rule planner first, ReAct for what it cannot parse or finish",
                        CHAT_OPTIONS, ("guiagent.planning.react:ReActPlanner",), chat=True),
}

GROUNDERS: dict[str, Entry] = {
    "text": Entry("grounding.text_matcher:TextGrounder", "names, fuzzy and semantic match, layout rules (default)",
                  frozenset({"semantic", "min_score", "semantic_min", "model", "icons"})),
    "vlm": Entry("grounding.vlm:VlmGrounder.from_options", "a VLM that answers coordinates (local or endpoint)",
                 CHAT_OPTIONS, ("grounding.vlm:VlmGrounder",), chat=True),
    "openai": Entry("grounding.vlm:OpenAIGrounder.from_options", "a VLM behind an OpenAI-compatible endpoint",
                    CHAT_OPTIONS, ("grounding.vlm:VlmGrounder",), chat=True),
}

# Device specs are "name" or "name:argument" (e.g. "android:127.0.0.1:5555", "sim:settings").
# Factories are called as factory(argument: str, **options) -> Device. Every device also takes
# `kill_switch` (a devices.killswitch.KillSwitch), applied as a wrapper by `build_device`.
_ANDROID = frozenset({"adb_host", "adb_port", "timeout", "screenshot_mode", "reconnect_timeout", "ime_settle_s"})
DEVICES: dict[str, Entry] = {
    "desktop": Entry("devices.x11.device:open_desktop", "this X11 desktop (or Xvfb)", frozenset({"monitor"}),
                     options_of=("devices.x11.device:DesktopDevice",)),
    "android": Entry("devices.android.device:open_android", "an Android phone over adb", _ANDROID),
    "sim": Entry("devices.simphone.launch:open_sim_phone", "a virtual phone behind a real adb endpoint",
                 _ANDROID | {"port", "host", "size", "density", "adb_keyboard", "connect_timeout"}),
    "windows": Entry("devices.windows.device:open_windows", "this Windows desktop (UI Automation)", frozenset({"monitor"}),
                     options_of=("devices.windows.device:WindowsDevice",)),
}
WRAPPER_OPTIONS = frozenset({"kill_switch"})


def resolve(path: str) -> Callable[..., Any]:
    """The callable named "module:attr.attr"; a missing extra becomes a ConfigError saying so."""
    module_name, _, attr = path.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"cannot load {path}: {exc} (is the matching extra installed?)") from exc
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def options_of(entry: Entry) -> frozenset[str]:
    """Every option `entry` takes."""
    names = set(entry.options)
    for path in entry.options_of:
        params = inspect.signature(resolve(path)).parameters.values()
        names |= {p.name for p in params if p.kind is p.KEYWORD_ONLY}  # positional ones are not options
    return frozenset(names)


def _entry(table: Mapping[str, Entry], kind: str, name: str) -> Entry:
    if name not in table:
        listing = "; ".join(f"{n} ({e.summary})" for n, e in sorted(table.items()))
        raise ConfigError(f"unknown {kind} {name!r}; choose one of: {listing}")
    return table[name]


def _check_options(kind: str, name: str, given: Iterable[str], allowed: frozenset[str]) -> None:
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise ConfigError(f"the {name} {kind} has no option {', '.join(unknown)}; "
                          f"it takes: {', '.join(sorted(allowed)) or 'none'}")


def check_planner(name: str, options: Mapping[str, Any]) -> Entry:
    entry = _entry(PLANNERS, "planner", name)
    _check_options("planner", name, options, options_of(entry))
    return entry


def check_grounder(name: str, options: Mapping[str, Any]) -> Entry:
    entry = _entry(GROUNDERS, "grounder", name)
    _check_options("grounder", name, options, options_of(entry))
    return entry


def check_device(spec: str, options: Mapping[str, Any]) -> Entry:
    name = spec.partition(":")[0]
    entry = _entry(DEVICES, "device", name)
    _check_options("device", name, options, options_of(entry) | WRAPPER_OPTIONS)
    return entry


def check_run(device: str, device_options: Mapping[str, Any], planner: str, planner_options: Mapping[str, Any],
              grounder: str, grounder_options: Mapping[str, Any]) -> None:
    """Every name and option of a run, checked before anything starts (a wrong planner name is
    reported as such, not as whatever the device says when it fails to open first)."""
    check_planner(planner, planner_options)
    check_grounder(grounder, grounder_options)
    check_device(device, device_options)


def build_device(spec: str, **options: Any) -> Device:
    """The device for `spec`, wrapped (devices.wrappers) so that the CLI, the app and the daemon
    get the same behaviour: `kill_switch` is checked before every action and tripped by the
    device's own stops (the fail-safe corner)."""
    entry = check_device(spec, options)
    kill_switch = options.pop("kill_switch", None)
    device: Device = resolve(entry.factory)(spec.partition(":")[2], **options)
    if kill_switch is None:
        return device
    from devices.wrappers import wrap_device  # lazily, like the factories

    return wrap_device(device, kill_switch=kill_switch)


def build_planner(name: str, **options: Any) -> Planner:
    entry = check_planner(name, options)
    factory = resolve(entry.factory)
    planner: Planner = factory(build_chat_model, **options) if entry.chat else factory(**options)
    return planner


def build_grounder(name: str, **options: Any) -> Grounder:
    entry = check_grounder(name, options)
    factory = resolve(entry.factory)
    grounder: Grounder = factory(build_chat_model, **options) if entry.chat else factory(**options)
    return grounder


def build_chat_model(**options: Any) -> ChatModel:
    """A chat model: backend="openai"|"hf" (default "hf" when `model_path` is given, else
    "openai") plus that backend's options. Options meant for the other backend are dropped,
    so one config section can serve both; options neither backend takes are rejected."""
    _check_options("chat model", "chat model", options, CHAT_OPTIONS)
    backend = options.get("backend") or ("hf" if options.get("model_path") else "openai")
    entry = _entry(CHAT_MODELS, "chat backend", backend)
    if backend == "hf" and not options.get("model_path"):
        raise ConfigError("backend 'hf' needs model_path=DIR (a local checkpoint directory)")
    model: ChatModel = resolve(entry.factory)(
        **{k: v for k, v in options.items() if k in entry.options and v is not None})
    return model
