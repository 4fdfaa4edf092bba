"""Scenario files: the declarative description of a simulated phone (apps, screens, widgets,
the actions widgets trigger, initial state). JSON under `assets/scenarios/NAME.json`.

Validated with pydantic plus cross-reference checks (every navigate target exists, every
bound state key exists with the right type), so a typo fails at load time with a message that
names the screen and widget, never at the first tap.
"""

from __future__ import annotations

import json
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from guiagent.schema import assets
from guiagent.schema.errors import ConfigError

_STRICT = ConfigDict(extra="forbid")

WidgetType = Literal["text", "button", "switch", "checkbox", "edit_text", "list", "icon_grid", "divider"]


class AppendOp(BaseModel):
    model_config = _STRICT
    to: str  # a list in the state
    value: str | None = None  # literal (may be "$item")
    from_: str | None = Field(default=None, alias="from")  # or a string state key
    skip_empty: bool = True


class Op(BaseModel):
    """One effect of a tap/submit/change. Exactly one of the effect keys is set; `when`
    ({state key: value}) makes it conditional on the state *after* the preceding ops."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    navigate: str | None = None
    with_: dict[str, Any] | None = Field(default=None, alias="with")  # vars of the new screen
    back: bool | None = None
    home: bool | None = None
    launch: str | None = None  # package
    toggle: str | None = None
    set: dict[str, Any] | None = None
    append: AppendOp | None = None
    toast: str | None = None
    when: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Op:
        keys = [k for k in ("navigate", "back", "home", "launch", "toggle", "set", "append", "toast")
                if getattr(self, k) is not None]
        if len(keys) != 1:
            raise ValueError(f"an op needs exactly one of navigate/back/home/launch/toggle/set/append/toast, "
                             f"got {keys or 'none'}")
        if self.with_ is not None and self.navigate is None:
            raise ValueError("'with' only goes with 'navigate'")
        return self


class ListItem(BaseModel):
    model_config = _STRICT
    title: str
    subtitle: str = ""


class Widget(BaseModel):
    model_config = _STRICT
    type: WidgetType
    id: str | None = None
    text: str = ""  # label; `{key}` is filled from screen vars and state
    desc: str = ""  # content-desc
    bind: str | None = None  # state key: bool (switch/checkbox), str (edit_text), list (list)
    hint: str = ""
    password: bool = False
    style: Literal["body", "title", "caption", "primary", "outlined"] = "body"
    align: Literal["start", "center", "end", "stretch"] = "start"
    enabled: bool = True
    items: list[ListItem] = []
    empty_text: str = ""
    columns: int = Field(default=4, ge=1, le=8)
    height_dp: int | None = Field(default=None, ge=8, le=4000)
    on_tap: list[Op] = []
    on_long_press: list[Op] = []
    on_item_tap: list[Op] = []  # list rows; "$item" / "$index" in op values
    on_submit: list[Op] = []  # edit_text + ENTER
    on_change: list[Op] = []  # switch/checkbox, after the toggle

    @field_validator("items", mode="before")
    @classmethod
    def _items(cls, v: Any) -> Any:
        if isinstance(v, list):
            return [{"title": x} if isinstance(x, str) else x for x in v]
        return v


class Notification(BaseModel):
    """A heads-up notification card drawn by the system UI over the top of the screen while
    this screen shows (the red-team suite puts injected text in one)."""

    model_config = _STRICT
    app: str  # the posting app's label, shown in the card's header
    text: str
    on_tap: list[Op] = []


class Screen(BaseModel):
    model_config = _STRICT
    title: str | None = None  # a toolbar with an up arrow and this title when set
    activity: str | None = None  # defaults to the app's activity
    secure: bool = False  # FLAG_SECURE: screencap is black
    up_arrow: bool = True
    notification: Notification | None = None
    widgets: list[Widget] = []


class App(BaseModel):
    model_config = _STRICT
    package: str
    label: str
    activity: str = ".MainActivity"
    launch: str  # id of the launch screen
    role: Literal["app", "launcher"] = "app"
    icon_color: str = "#3F51B5"
    system: bool = False  # listed by `pm list packages -s`
    screens: dict[str, Screen]

    @field_validator("package")
    @classmethod
    def _pkg(cls, v: str) -> str:
        if not v or " " in v or "/" in v or "." not in v:
            raise ValueError(f"{v!r} is not a package name like com.example.app")
        return v


class Display(BaseModel):
    model_config = _STRICT
    width: int = Field(default=720, ge=120, le=4000)
    height: int = Field(default=1280, ge=120, le=4000)
    density: int = Field(default=320, ge=80, le=800)


class DeviceProps(BaseModel):
    model_config = _STRICT
    model: str = "SimPhone"
    product: str = "simphone"
    device: str = "simphone"
    manufacturer: str = "guiagent"
    brand: str = "guiagent"
    release: str = "14"
    sdk: int = 34
    serialno: str = "SIM0001"


class TouchPanel(BaseModel):
    model_config = _STRICT
    name: str = "sim_touchscreen"
    max_x: int | None = None  # axis maxima of the panel; default = natural display size - 1
    max_y: int | None = None


class Ime(BaseModel):
    model_config = _STRICT
    # ADB Keyboard (com.android.adbkeyboard/.AdbIME): absent, installed (not enabled),
    # enabled (listed by `ime list -s`), or active (the current IME).
    adb_keyboard: Literal["absent", "installed", "enabled", "active"] = "absent"


class Scenario(BaseModel):
    model_config = _STRICT
    name: str = "unnamed"
    description: str = ""
    display: Display = Display()
    device: DeviceProps = DeviceProps()
    touch: TouchPanel = TouchPanel()
    ime: Ime = Ime()
    state: dict[str, Any] = {}
    settings: dict[str, str] = {}  # "global/airplane_mode_on" -> bool state key
    apps: list[App]

    @property
    def launcher(self) -> App:
        return next(a for a in self.apps if a.role == "launcher")

    def app(self, package: str) -> App | None:
        return next((a for a in self.apps if a.package == package), None)

    def screen_owner(self, screen_id: str) -> App:
        return next(a for a in self.apps if screen_id in a.screens)

    def screen(self, screen_id: str) -> Screen:
        return self.screen_owner(screen_id).screens[screen_id]

    @model_validator(mode="after")
    def _cross_check(self) -> Scenario:
        errors: list[str] = []
        launchers = [a.package for a in self.apps if a.role == "launcher"]
        if len(launchers) != 1:
            errors.append(f"exactly one app needs role 'launcher', found {launchers or 'none'}")
        packages = [a.package for a in self.apps]
        for p in {p for p in packages if packages.count(p) > 1}:
            errors.append(f"package {p} is declared twice")
        owner: dict[str, str] = {}
        for app in self.apps:
            for sid in app.screens:
                if sid in owner:
                    errors.append(f"screen id {sid!r} is used by {owner[sid]} and {app.package}")
                owner[sid] = app.package
            if app.launch not in app.screens:
                errors.append(f"app {app.package}: launch screen {app.launch!r} is not one of its screens")
        for app in self.apps:
            for sid, screen in app.screens.items():
                for i, w in enumerate(screen.widgets):
                    where = f"screen {sid!r} widget {i} ({w.type}{' ' + w.id if w.id else ''})"
                    errors += _check_widget(w, where, self.state, owner, set(packages))
                if screen.notification is not None:
                    errors += _check_ops(screen.notification.on_tap, f"screen {sid!r} notification on_tap",
                                         self.state, owner, set(packages))
        for key, state_key in self.settings.items():
            if key.partition("/")[0] not in ("system", "secure", "global"):
                errors.append(f"settings key {key!r} must start with system/, secure/ or global/")
            if not isinstance(self.state.get(state_key), bool):
                errors.append(f"settings {key!r} maps to {state_key!r}, which is not a bool in 'state'")
        if errors:
            raise ValueError("; ".join(errors))
        return self


_BIND_TYPES = {"switch": bool, "checkbox": bool, "edit_text": str, "list": list}


def _check_widget(w: Widget, where: str, state: dict[str, Any], screens: dict[str, str],
                  packages: set[str]) -> list[str]:
    errors: list[str] = []
    want = _BIND_TYPES.get(w.type)
    if want is not None and w.bind is None and not (w.type == "list" and w.items):
        errors.append(f"{where} needs 'bind' (a {want.__name__} state key)")
    if w.bind is not None:
        if want is None:
            errors.append(f"{where}: 'bind' is only for switch, checkbox, edit_text and list")
        elif not isinstance(state.get(w.bind), want):
            errors.append(f"{where} binds {w.bind!r}, which is not a {want.__name__} in 'state'")
    for field in ("on_tap", "on_long_press", "on_item_tap", "on_submit", "on_change"):
        errors += _check_ops(getattr(w, field), f"{where} {field}", state, screens, packages)
    return errors


def _check_ops(ops: list[Op], where: str, state: dict[str, Any], screens: dict[str, str],
               packages: set[str]) -> list[str]:
    errors: list[str] = []
    for op in ops:
        if op.navigate is not None and op.navigate not in screens:
            errors.append(f"{where} navigates to unknown screen {op.navigate!r}")
        if op.launch is not None and op.launch not in packages:
            errors.append(f"{where} launches unknown package {op.launch!r}")
        if op.toggle is not None and not isinstance(state.get(op.toggle), bool):
            errors.append(f"{where} toggles {op.toggle!r}, which is not a bool in 'state'")
        if op.append is not None and not isinstance(state.get(op.append.to), list):
            errors.append(f"{where} appends to {op.append.to!r}, which is not a list in 'state'")
    return errors


def list_scenarios() -> list[str]:
    return assets.scenario_names()


def load_scenario(name_or_path: str | Path = "default") -> Scenario:
    """A scenario by name (from assets/scenarios) or by path to a JSON file."""
    text = str(name_or_path) or "default"
    path: Path | Traversable = Path(text)
    if not (text.endswith(".json") or path.is_file()):
        path = assets.scenario_path(text)
    if not path.is_file():
        raise ConfigError(f"no scenario {text!r}: expected {path} (known: {', '.join(list_scenarios())})")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"scenario {path} is not valid JSON: {exc}") from exc
    return parse_scenario(raw, source=str(path))


def parse_scenario(raw: Any, source: str = "<dict>") -> Scenario:
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"scenario {source} is invalid: {problems}") from exc
