"""System shell commands: getprop, settings, wm, pm, ime, svc, cmd (dumpsys lives in dumpsys.py)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from devices.simphone.dumpsys import cmd_dumpsys
from devices.simphone.model import ADB_IME, LATIN_IME
from devices.simphone.shell import CommandFn, Invocation

if TYPE_CHECKING:
    from devices.simphone.context import PhoneContext


def _phone(inv: Invocation) -> PhoneContext:
    return inv.shell.context


def properties(phone: PhoneContext) -> dict[str, str]:
    d = phone.scenario.device
    return {
        "ro.product.model": d.model, "ro.product.name": d.product, "ro.product.device": d.device,
        "ro.product.manufacturer": d.manufacturer, "ro.product.brand": d.brand,
        "ro.build.version.release": d.release, "ro.build.version.sdk": str(d.sdk),
        "ro.serialno": d.serialno, "ro.boot.serialno": d.serialno, "ro.product.cpu.abi": "x86_64",
        "ro.build.type": "user", "ro.build.tags": "release-keys", "ro.debuggable": "0", "ro.secure": "1",
        "ro.build.fingerprint": f"{d.brand}/{d.product}/{d.device}:{d.release}/SIM1.0/1:user/release-keys",
        "ro.sf.lcd_density": str(phone.scenario.display.density), "sys.boot_completed": "1",
        "persist.sys.locale": "en-US", "ro.build.characteristics": "default",
        "init.svc.adbd": "running", "service.adb.tcp.port": str(phone.port),
    }


async def cmd_getprop(inv: Invocation) -> int:
    props = properties(_phone(inv))
    if inv.args:
        await inv.print(props.get(inv.args[0], inv.args[1] if len(inv.args) > 1 else "") + "\n")
    else:
        await inv.print("".join(f"[{k}]: [{v}]\n" for k, v in sorted(props.items())))
    return 0


def _setting_get(phone: PhoneContext, key: str) -> str | None:
    m = phone.model
    if key == "system/user_rotation":
        return str(m.rotation)
    if key == "secure/default_input_method":
        return m.ime
    if key == "secure/enabled_input_methods":
        return ":".join(m.imes_enabled)
    bound = phone.scenario.settings.get(key)
    if bound is not None:
        return "1" if m.values.get(bound) else "0"
    return m.settings.get(key)


def _setting_put(phone: PhoneContext, key: str, value: str) -> None:
    m = phone.model
    with m.lock:
        if key == "system/user_rotation" and value.isdigit():
            m.set_rotation(int(value))
            return
        bound = phone.scenario.settings.get(key)
        if bound is not None:
            m.values[bound] = value.strip() not in ("0", "", "false")
        else:
            m.settings[key] = value
        m.changed()


async def cmd_settings(inv: Invocation) -> int:
    a = [x for x in inv.args if not x.startswith("--")]
    if len(a) < 2 or a[0] not in ("get", "put", "delete", "list") or a[1] not in ("system", "secure", "global"):
        await inv.error("usage:  settings [--user <USER_ID> | current] get namespace key\n"
                        "        settings [--user <USER_ID> | current] put namespace key value\n")
        return 1
    phone = _phone(inv)
    verb, ns = a[0], a[1]
    if verb == "list":
        keys = sorted({k for k in phone.model.settings if k.startswith(ns + "/")}
                      | {k for k in phone.scenario.settings if k.startswith(ns + "/")})
        await inv.print("".join(f"{k.split('/', 1)[1]}={_setting_get(phone, k)}\n" for k in keys))
        return 0
    if len(a) < 3:
        await inv.error(f"settings {verb}: missing key\n")
        return 1
    key = f"{ns}/{a[2]}"
    if verb == "get":
        value = _setting_get(phone, key)
        await inv.print(("null" if value is None else value) + "\n")
    elif verb == "put":
        if len(a) < 4:
            await inv.error("settings put: missing value\n")
            return 1
        _setting_put(phone, key, a[3])
    else:
        phone.model.settings.pop(key, None)
        await inv.print("Deleted 1 rows\n")
    return 0


async def cmd_wm(inv: Invocation) -> int:
    m = _phone(inv).model
    a = inv.args
    if a[:1] == ["size"]:
        if len(a) == 1:
            w, h = m.physical_size
            text = f"Physical size: {w}x{h}\n"
            if m.size_override:
                text += f"Override size: {m.size_override[0]}x{m.size_override[1]}\n"
            await inv.print(text)
        elif a[1] == "reset":
            m.size_override = None
            m.changed()
        elif re.fullmatch(r"\d+x\d+", a[1]):
            w, h = (int(v) for v in a[1].split("x"))
            if not (120 <= w <= 4000 and 120 <= h <= 4000):
                await inv.error(f"Error: bad size {a[1]}\n")
                return 1
            m.size_override = (w, h)
            m.changed()
        else:
            await inv.error(f"Error: bad size {a[1]}\n")
            return 1
        return 0
    if a[:1] == ["density"]:
        if len(a) == 1:
            text = f"Physical density: {m.scenario.display.density}\n"
            if m.density_override:
                text += f"Override density: {m.density_override}\n"
            await inv.print(text)
        elif a[1] == "reset":
            m.density_override = None
            m.changed()
        elif a[1].isdigit() and 80 <= int(a[1]) <= 800:
            m.density_override = int(a[1])
            m.changed()
        else:
            await inv.error(f"Error: bad density {a[1]}\n")
            return 1
        return 0
    await inv.error("Window manager (window) commands:\n  size [reset|WxH]\n  density [reset|DENSITY]\n")
    return 1


def _packages(phone: PhoneContext) -> list[tuple[str, bool]]:
    """(package, is_system)."""
    pkgs = [("android", True), ("com.android.systemui", True), ("com.android.inputmethod.latin", True)]
    pkgs += [(a.package, a.system or a.role == "launcher") for a in phone.scenario.apps]
    if ADB_IME in phone.model.imes_installed:
        pkgs.append(("com.android.adbkeyboard", False))
    return pkgs


async def cmd_pm(inv: Invocation) -> int:
    phone = _phone(inv)
    a = inv.args
    if a[:2] == ["list", "packages"]:
        flags = {x for x in a[2:] if x.startswith("-")}
        needle = next((x for x in a[2:] if not x.startswith("-")), "")
        lines = []
        for pkg, system in sorted(_packages(phone)):
            if ("-s" in flags and not system) or ("-3" in flags and system) or needle not in pkg:
                continue
            lines.append(f"package:/system/app/{pkg}/base.apk={pkg}" if "-f" in flags else f"package:{pkg}")
        await inv.print("".join(line + "\n" for line in lines))
        return 0
    if a[:1] == ["path"] and len(a) > 1:
        if a[1] in {p for p, _ in _packages(phone)}:
            await inv.print(f"package:/system/app/{a[1]}/base.apk\n")
            return 0
        return 1
    if a[:1] == ["clear"] and len(a) > 1:
        phone.model.force_stop(a[-1])
        await inv.print("Success\n")
        return 0
    await inv.error(f"Unknown command: {' '.join(a[:1]) or '(none)'}\n")
    return 1


async def cmd_ime(inv: Invocation) -> int:
    m = _phone(inv).model
    a = inv.args
    if a[:1] == ["list"]:
        ids = m.imes_installed if "-a" in a else m.imes_enabled
        if "-s" in a:
            await inv.print("".join(i + "\n" for i in ids))
        else:
            await inv.print("".join(f"{i}:\n  mId={i} mSettingsActivity=null\n" for i in ids))
        return 0
    if a[:1] in (["enable"], ["disable"], ["set"]) and len(a) > 1:
        ime = a[-1]
        if ime not in m.imes_installed:
            await inv.print(f"Unknown input method {ime} cannot be {a[0]}d for user #0\n")
            return 255
        with m.lock:
            if a[0] == "enable":
                already = ime in m.imes_enabled
                if not already:
                    m.imes_enabled.append(ime)
                await inv.print(f"Input method {ime}: {'already enabled' if already else 'now enabled'} for user #0\n")
            elif a[0] == "disable":
                if ime in m.imes_enabled and ime != LATIN_IME:
                    m.imes_enabled.remove(ime)
                    if m.ime == ime:
                        m.ime = LATIN_IME
                await inv.print(f"Input method {ime}: now disabled for user #0\n")
            else:
                if ime not in m.imes_enabled:
                    await inv.print(f"Input method {ime} is not enabled for user #0\n")
                    return 255
                m.ime = ime
                await inv.print(f"Input method {ime} selected for user #0\n")
        return 0
    if a[:1] == ["reset"]:
        m.ime = LATIN_IME
        await inv.print(f"Reset current and enabled IMEs for user #0\n  Selected: {LATIN_IME}\n")
        return 0
    await inv.error("ime <command>:\n  list [-a] [-s]\n  enable ID\n  disable ID\n  set ID\n  reset\n")
    return 1


async def cmd_svc(inv: Invocation) -> int:
    phone = _phone(inv)
    a = inv.args
    keys = {"wifi": "global/wifi_on", "bluetooth": "global/bluetooth_on", "data": "global/mobile_data"}
    if len(a) >= 2 and a[0] in keys and a[1] in ("enable", "disable"):
        _setting_put(phone, keys[a[0]], "1" if a[1] == "enable" else "0")
        return 0
    if a[:1] == ["power"]:
        return 0
    await inv.error("Available commands:\n    wifi enable|disable\n    bluetooth enable|disable\n")
    return 1


CMD_SERVICES = {"package": "pm", "input_method": "ime", "window": "wm", "activity": "am", "input": "input",
                "settings": "settings"}


async def cmd_cmd(inv: Invocation) -> int:
    if not inv.args:
        await inv.error("cmd: No service specified; use -l to list all running services.\n")
        return 20
    target = CMD_SERVICES.get(inv.args[0])
    fn = inv.shell.commands.get(target or "")
    if fn is None:
        await inv.error(f"cmd: Can't find service: {inv.args[0]}\n")
        return 20
    return await fn(Invocation([target or "", *inv.args[1:]], inv.stdin, inv.out, inv.err, inv.shell))


COMMANDS: dict[str, CommandFn] = {
    "getprop": cmd_getprop, "settings": cmd_settings, "wm": cmd_wm, "pm": cmd_pm, "ime": cmd_ime,
    "svc": cmd_svc, "cmd": cmd_cmd, "dumpsys": cmd_dumpsys,
}
