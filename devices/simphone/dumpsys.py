"""`dumpsys` services, with the lines tools grep for printed the way real devices print them:
window (mCurrentFocus / mFocusedApp), activity, display (DisplayViewport orientation), input
(SurfaceOrientation, touch axes), power, battery, package, input_method, SurfaceFlinger."""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

from devices.simphone.shell import Invocation

if TYPE_CHECKING:
    from devices.simphone.context import PhoneContext

ROTATION_NAMES = ("ROTATION_0", "ROTATION_90", "ROTATION_180", "ROTATION_270")
DISPLAY_ID = "4619827259835644672"


def _hash(text: str) -> str:
    return f"{zlib.crc32(text.encode()) & 0xFFFFFFF:07x}"


def _focus(phone: PhoneContext) -> tuple[str, str, str]:
    """(package, short activity, full activity class)."""
    s = phone.state
    full = s.package + s.activity if s.activity.startswith(".") else s.activity
    return s.package, s.activity, full


def _window(phone: PhoneContext) -> str:
    pkg, act, full = _focus(phone)
    m = phone.model
    w, h = m.size
    task = 10 + sum(ord(c) for c in pkg) % 90
    return (
        "WINDOW MANAGER WINDOWS (dumpsys window windows)\n"
        f"  Window #0 Window{{{_hash('nav')} u0 NavigationBar0}}:\n"
        f"  Window #1 Window{{{_hash('status')} u0 StatusBar}}:\n"
        f"  Window #2 Window{{{_hash(full)} u0 {pkg}/{full}}}:\n"
        f"    mDisplayId=0 rootTaskId={task} mSession=Session{{{_hash(pkg)} 4242:u0a10123}}\n"
        f"    mFrame=[0,0][{w},{h}] mRotation={m.rotation}\n"
        "\n"
        "WINDOW MANAGER DISPLAY CONTENTS (dumpsys window displays)\n"
        f"  Display: mDisplayId=0 rootTasks=2\n"
        f"    init={m.physical_size[0]}x{m.physical_size[1]} {m.scenario.display.density}dpi "
        f"cur={w}x{h} app={w}x{h} rng={min(w, h)}x{min(w, h)}-{max(w, h)}x{max(w, h)}\n"
        f"    mCurrentFocus=Window{{{_hash(full)} u0 {pkg}/{full}}}\n"
        f"    mFocusedApp=ActivityRecord{{{_hash(act)} u0 {pkg}/{act} t{task}}}\n"
        f"  mDisplayRotation:\n    mRotation={m.rotation} ({ROTATION_NAMES[m.rotation]})"
        f" mUserRotation={ROTATION_NAMES[m.rotation]} mUserRotationMode=USER_ROTATION_LOCKED\n"
        "\n"
        f"  mCurrentFocus=Window{{{_hash(full)} u0 {pkg}/{full}}}\n"
        f"  mFocusedApp=ActivityRecord{{{_hash(act)} u0 {pkg}/{act} t{task}}}\n"
        f"  mInputMethodTarget=Window{{{_hash(full)} u0 {pkg}/{full}}}\n"
    )


def _activity(phone: PhoneContext, args: list[str]) -> str:
    pkg, act, _full = _focus(phone)
    rec = f"ActivityRecord{{{_hash(act)} u0 {pkg}/{act} t{10 + sum(ord(c) for c in pkg) % 90}}}"
    if args[:1] == ["top"]:
        return f"TASK {pkg} id={10 + sum(ord(c) for c in pkg) % 90}\n  ACTIVITY {pkg}/{act} {_hash(act)} pid=4242\n"
    return (f"ACTIVITY MANAGER ACTIVITIES (dumpsys activity activities)\n  ResumedActivity: {rec}\n"
            f"  mResumedActivity: {rec}\n  topResumedActivity={rec}\n  mFocusedApp={rec}\n")


def _display(phone: PhoneContext) -> str:
    m = phone.model
    pw, ph = m.natural_size
    w, h = m.size
    vp = (f"DisplayViewport{{type=INTERNAL, valid=true, isActive=true, displayId=0, uniqueId='local:{DISPLAY_ID}', "
          f"physicalPort=0, orientation={m.rotation}, logicalFrame=Rect(0, 0 - {w}, {h}), "
          f"physicalFrame=Rect(0, 0 - {w}, {h}), deviceWidth={w}, deviceHeight={h}}}")
    return (
        "DISPLAY MANAGER (dumpsys display)\n"
        f"  mViewports=[{vp}]\n"
        f"  DisplayDeviceInfo{{\"Built-in Screen\": uniqueId=\"local:{DISPLAY_ID}\", {pw} x {ph}, "
        f"modeId 1, defaultModeId 1, density {m.density}, {m.density}.0 x {m.density}.0 dpi, "
        f"touch INTERNAL, rotation 0, type INTERNAL, state {'ON' if m.screen_on else 'OFF'}}}\n"
        f"  mDefaultViewport={vp}\n"
        f"  mOverrideDisplayInfo=DisplayInfo{{\"Built-in Screen\", displayId 0, real {w} x {h}, "
        f"rotation {m.rotation}, density {m.density}}}\n"
    )


def _input(phone: PhoneContext) -> str:
    m = phone.model
    mx, my = phone.panel.axis_max
    return (
        "INPUT MANAGER (dumpsys input)\n\nInput Reader State:\n"
        f"  Device 2: {phone.panel.name}\n    Classes: TOUCH | TOUCH_MT\n    Touch Input Mapper (mode - DIRECT):\n"
        f"      Viewport INTERNAL: displayId=0, orientation={m.rotation}, deviceWidth={m.size[0]}, "
        f"deviceHeight={m.size[1]}\n"
        f"      SurfaceOrientation: {m.rotation}\n"
        f"      RawPointerAxes:\n        X: min=0, max={mx}, flat=0, fuzz=0, resolution=0\n"
        f"        Y: min=0, max={my}, flat=0, fuzz=0, resolution=0\n"
    )


def _package(phone: PhoneContext, args: list[str]) -> str:
    pkg = args[0] if args else ""
    if phone.scenario.app(pkg) is None and pkg != "com.android.adbkeyboard":
        return ""
    return (f"Packages:\n  Package [{pkg}] ({_hash(pkg)}):\n    versionCode=1 minSdk=21 targetSdk=34\n"
            f"    versionName=1.0\n    pkgFlags=[ HAS_CODE ALLOW_CLEAR_USER_DATA ]\n"
            f"    firstInstallTime=2024-01-01 12:00:00\n    lastUpdateTime=2024-01-01 12:00:00\n"
            f"    PackageSignatures{{{_hash(pkg + 'sig')} version:3, signatures:[{_hash(pkg + 'key')}]}}\n")


async def cmd_dumpsys(inv: Invocation) -> int:
    phone: PhoneContext = inv.shell.context
    service = inv.args[0] if inv.args else ""
    rest = inv.args[1:]
    m = phone.model
    match service:
        case "window":
            text = _window(phone)
        case "activity":
            text = _activity(phone, rest)
        case "display":
            text = _display(phone)
        case "input":
            text = _input(phone)
        case "power":
            on = m.screen_on
            text = (f"POWER MANAGER (dumpsys power)\n  mWakefulness={'Awake' if on else 'Asleep'}\n"
                    f"  mHoldingDisplaySuspendBlocker={'true' if on else 'false'}\n  Display Power: state={'ON' if on else 'OFF'}\n")
        case "battery":
            text = ("Current Battery Service state:\n  AC powered: false\n  USB powered: true\n  Wireless powered: false\n"
                    "  Max charging current: 500000\n  Max charging voltage: 5000000\n  Charge counter: 4000000\n"
                    "  status: 2\n  health: 2\n  present: true\n  level: 100\n  scale: 100\n  voltage: 4200\n"
                    "  temperature: 250\n  technology: Li-ion\n")
        case "package":
            text = _package(phone, rest)
        case "input_method":
            text = f"Current Input Method Manager state:\n  mCurMethodId={m.ime}\n  mInputShown=false\n"
        case "SurfaceFlinger":
            text = f"Display {DISPLAY_ID} (HWC display 0): port=0 pnpId=SIM displayName=\"SimPhone display\"\n"
        case "":
            text = "Currently running services:\n  activity\n  battery\n  display\n  input\n  input_method\n" \
                   "  package\n  power\n  SurfaceFlinger\n  window\n"
        case _:
            await inv.error(f"Can't find service: {service}\n")
            return 0
    await inv.print(text)
    return 0
