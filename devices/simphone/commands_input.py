"""Shell commands that look at or act on the screen: input, getevent, screencap, uiautomator,
am, monkey, and `simctl` (the admin hook for faults, reachable through adb itself)."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import TYPE_CHECKING, Any

from devices.simphone.fs import FsError
from devices.simphone.keycodes import TYPEABLE, parse_keycode
from devices.simphone.model import ADB_IME
from devices.simphone.shell import CommandFn, Invocation
from devices.simphone.touch import TOUCH_DEVICE, describe_devices, format_event
from devices.simphone.uixml import DUMP_DEFAULT_PATH

if TYPE_CHECKING:
    from devices.simphone.context import PhoneContext

INPUT_SOURCES = {"keyboard", "mouse", "joystick", "touchscreen", "touchpad", "trackball", "stylus", "dpad",
                 "gamepad", "touchnavigation", "rotaryencoder"}


def _phone(inv: Invocation) -> PhoneContext:
    return inv.shell.context


async def _java_error(inv: Invocation, command: str, exc: str) -> int:
    await inv.error(f"Exception occurred while executing '{command}':\n{exc}\n")
    return 255


def decode_input_text(text: str) -> str:
    """Android's `input text`: `%s` becomes a space (InputShellCommand.sendText)."""
    buff = list(text)
    escape = False
    i = 0
    while i < len(buff):
        if escape:
            escape = False
            if buff[i] == "s":
                buff[i] = " "
                del buff[i - 1]
                i -= 1
        if buff[i] == "%":
            escape = True
        i += 1
    return "".join(buff)


async def cmd_input(inv: Invocation) -> int:
    phone = _phone(inv)
    args = list(inv.args)
    if args and args[0] in INPUT_SOURCES:
        args.pop(0)
    if len(args) >= 2 and args[0] == "-d":
        args = args[2:]
    if not args:
        await inv.error("Usage: input [<source>] [-d DISPLAY_ID] <command> [<arg>...]\n")
        return 1
    command, rest = args[0], args[1:]
    try:
        numeric = rest[1:] if command == "motionevent" else rest  # motionevent ACTION X Y
        nums = [float(a) for a in numeric if not a.startswith("-")] if command in (
            "tap", "swipe", "draganddrop", "motionevent") else []
    except ValueError as exc:
        bad = str(exc).split(": ", 1)[-1]
        return await _java_error(inv, command, f"java.lang.NumberFormatException: For input string: {bad}")
    match command:
        case "text":
            if not rest:
                await inv.error("Error: text requires an argument\n")
                return 1
            text = decode_input_text(rest[0])
            if any(c not in TYPEABLE for c in text):
                return await _java_error(
                    inv, "text", "java.lang.NullPointerException: Attempt to get length of null array")
            phone.model.type_text(text)
        case "keyevent" | "keycombination":
            codes = []
            for token in rest:
                if token.startswith("--"):
                    continue
                code = parse_keycode(token)
                if code is None:
                    return await _java_error(inv, command, f"java.lang.IllegalArgumentException: Unknown keycode: {token}")
                codes.append(code)
            if not codes:
                await inv.error(f"Error: {command} requires at least one key code\n")
                return 1
            for code in codes:
                phone.model.key(code)
        case "tap":
            if len(nums) != 2:
                await inv.error("Error: tap takes X Y\n")
                return 1
            await phone.panel.tap(nums[0], nums[1])
        case "swipe" | "draganddrop":
            if len(nums) not in (4, 5):
                await inv.error(f"Error: {command} takes X1 Y1 X2 Y2 [DURATION(ms)]\n")
                return 1
            duration = nums[4] / 1000.0 if len(nums) == 5 else 0.3
            x1, y1, x2, y2 = nums[:4]
            await phone.panel.swipe(x1, y1, x2, y2, duration_s=min(max(duration, 0.0), 30.0))
        case "motionevent":
            action = rest[0].upper() if rest else ""
            if action not in ("DOWN", "UP", "MOVE", "CANCEL") or len(nums) != 2:
                await inv.error("Error: motionevent takes DOWN|UP|MOVE|CANCEL X Y\n")
                return 1
            if action == "DOWN":
                phone.panel.down(*nums)
            elif action == "MOVE":
                phone.panel.move(*nums)
            else:
                phone.panel.up(*nums)
        case "press" | "roll" | "scroll":
            pass  # trackball/mouse: nothing on a touch phone
        case _:
            await inv.error(f"Error: Unknown command: {command}\n")
            return 1
    return 0


async def cmd_getevent(inv: Invocation) -> int:
    phone = _phone(inv)
    labels = timestamps = describe = quiet = False
    count: int | None = None
    device: str | None = None
    args = list(inv.args)
    while args:
        a = args.pop(0)
        if a.startswith("-") and len(a) > 1:
            for n, flag in enumerate(a[1:]):
                if flag == "c" and n == len(a) - 2 and args:
                    count = int(args.pop(0)) if args[0].isdigit() else None
                labels |= flag == "l"
                timestamps |= flag == "t"
                describe |= flag in ("p", "i")
                quiet |= flag == "q"
        else:
            device = a
    if device is not None and device not in (TOUCH_DEVICE, "/dev/input/event0"):
        await inv.error(f"could not open {device}, No such file or directory\n")
        return 1
    if describe:
        await inv.print(describe_devices(phone.panel, labels))
        return 0
    if not quiet and device is None:
        await inv.print(f'add device 1: /dev/input/event0\n  name:     "gpio-keys"\n'
                        f'add device 2: {TOUCH_DEVICE}\n  name:     "{phone.panel.name}"\n')
    if device == "/dev/input/event0":
        await asyncio.Event().wait()  # the keys device never fires here; wait until closed
    q = phone.panel.subscribe()
    seen = 0
    try:
        while count is None or seen < count:
            events = [await q.get()]
            while not q.empty():
                events.append(q.get_nowait())
            if count is not None:
                events = events[:count - seen]
            seen += len(events)
            lines = [format_event(e, labels, timestamps, device is None) for e in events]
            await inv.print("\n".join(lines) + "\n")
    finally:
        phone.panel.unsubscribe(q)
    return 0


async def cmd_screencap(inv: Invocation) -> int:
    phone = _phone(inv)
    png, path = False, None
    args = list(inv.args)
    while args:
        a = args.pop(0)
        if a == "-p":
            png = True
        elif a == "-d" and args:
            args.pop(0)
        elif a in ("-h", "--help"):
            await inv.error("usage: screencap [-hp] [-d display-id] [FILENAME]\n")
            return 0
        elif not a.startswith("-"):
            path = a
    if path is not None and path.endswith(".png"):
        png = True
    data = await phone.capture("png" if png else "raw")
    if path is None:
        await inv.out.write(data)
        return 0
    try:
        phone.fs.write(path, data)
    except FsError as exc:
        await inv.error(f"Error opening file: {path} ({str(exc).split(': ', 1)[-1]})\n")
        return 1
    return 0


async def cmd_uiautomator(inv: Invocation) -> int:
    phone = _phone(inv)
    args = list(inv.args)
    if not args or args[0] != "dump":
        await inv.error("Usage: uiautomator <subcommand> [options]\n\nAvailable subcommands:\n\n"
                        "help: displays help message\n\ndump: creates an XML dump of current UI hierarchy\n")
        return 1 if args else 0
    paths = [a for a in args[1:] if not a.startswith("--")]
    path = paths[0] if paths else DUMP_DEFAULT_PATH
    xml = phone.dump_xml()
    if path == "/dev/tty":
        await inv.print(xml)
    else:
        try:
            phone.fs.write(path, xml.encode("utf-8"))
        except FsError:
            await inv.error(f"ERROR: could not write to {path}\n")
            return 1
    await inv.print(f"UI hierchary dumped to: {path}\n")
    return 0


def _intent_args(args: list[str]) -> dict[str, Any]:
    """am's intent flags: -a -d -c -n -p --es --ei --ez --eia ... (values kept as strings)."""
    out: dict[str, Any] = {"extras": {}}
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-a", "-d", "-n", "-p", "-c", "-t", "-f", "--user", "--receiver-permission") and i + 1 < len(args):
            out[a.lstrip("-")] = args[i + 1]
            i += 2
        elif a in ("--es", "--ei", "--ez", "--el", "--ef", "--eia", "--esa", "--eu") and i + 2 < len(args):
            out["extras"][args[i + 1]] = args[i + 2]
            i += 3
        elif a.startswith("-"):
            i += 1
        else:
            out.setdefault("positional", []).append(a)
            i += 1
    return out


async def _adb_keyboard(inv: Invocation, action: str, extras: dict[str, str]) -> None:
    """What ADB Keyboard's receiver does; only when it is the current input method."""
    model = _phone(inv).model
    if model.ime != ADB_IME:
        return
    if action == "ADB_INPUT_TEXT":
        model.type_text(extras.get("msg", ""))
    elif action == "ADB_INPUT_B64":
        try:
            model.type_text(base64.b64decode(extras.get("msg", "")).decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            pass  # the real IME ignores undecodable input too
    elif action == "ADB_INPUT_CHARS":
        chars = "".join(chr(int(c)) for c in extras.get("chars", "").split(",") if c.strip().isdigit())
        model.type_text(chars)
    elif action == "ADB_INPUT_CODE":
        code = extras.get("code", "")
        if code.isdigit():
            model.key(int(code))
    elif action == "ADB_EDITOR_CODE":
        model.key(66)
    elif action == "ADB_CLEAR_TEXT":
        model.clear_text()


async def cmd_am(inv: Invocation) -> int:
    phone = _phone(inv)
    if not inv.args:
        await inv.error("usage: am [subcommand] [options]\n")
        return 1
    sub, rest = inv.args[0], inv.args[1:]
    intent = _intent_args(rest)
    if sub in ("start", "start-activity"):
        comp = intent.get("n")
        if comp is None:
            pkg = intent.get("p") or ""
            if intent.get("c") == "android.intent.category.LAUNCHER" and phone.model.launch(pkg):
                await inv.print(f"Starting: Intent {{ cat=[{intent['c']}] pkg={pkg} }}\n")
                return 0
            desc = " ".join(f"{k}={intent[k]}" for k in ("a", "d") if k in intent)
            await inv.print(f"Starting: Intent {{ {desc} }}\n")
            await inv.error(f"Error: Activity not started, unable to resolve Intent {{ {desc} flg=0x10000000 }}\n")
            return 1
        pkg, _, act = comp.partition("/")
        await inv.print(f"Starting: Intent {{ cmp={comp} }}\n")
        if not act or not phone.model.start_activity(pkg, act):
            await inv.error(f"Error type 3\nError: Activity class {{{pkg}/{act if not act.startswith('.') else pkg + act}}} "
                            "does not exist.\n")
            return 1
        return 0
    if sub == "broadcast":
        action = intent.get("a", "")
        await inv.print(f"Broadcasting: Intent {{ act={action} flg=0x400000 (has extras) }}\n")
        if action.startswith("ADB_"):
            await _adb_keyboard(inv, action, intent["extras"])
        if action == "android.intent.action.AIRPLANE_MODE":
            pass  # the state follows `settings put global airplane_mode_on`
        await inv.print("Broadcast completed: result=0\n")
        return 0
    if sub in ("force-stop", "kill"):
        if rest:
            phone.model.force_stop(rest[-1])
        return 0
    await inv.error(f"Error: unknown command '{sub}'\n")
    return 1


async def cmd_monkey(inv: Invocation) -> int:
    phone = _phone(inv)
    args = list(inv.args)
    packages = [args[i + 1] for i, a in enumerate(args[:-1]) if a == "-p"]
    counts = [a for i, a in enumerate(args) if a.isdigit() and (i == 0 or args[i - 1] not in ("-p", "-c", "-s", "--throttle"))]
    if not packages:
        await inv.error("** monkey: random event injection is not simulated; use -p PACKAGE "
                        "-c android.intent.category.LAUNCHER 1\n")
        return 1
    if not phone.model.launch(packages[0]):
        await inv.error("** No activities found to run, monkey aborted.\n")
        return 252
    await inv.print(f"  bash arg: {' '.join(args)}\nEvents injected: {counts[-1] if counts else 1}\n"
                    "## Network stats: elapsed time=12ms (0ms mobile, 0ms wifi, 12ms not connected)\n")
    return 0


async def cmd_simctl(inv: Invocation) -> int:
    """Admin hook: `simctl fault drop|stall SECONDS`, `simctl fault black on|off`, `simctl fault clear`,
    `simctl state`, `simctl rotate N`, `simctl set KEY JSON`."""
    phone = _phone(inv)
    a = inv.args
    loop = asyncio.get_running_loop()
    try:
        if a[:1] == ["state"]:
            s = phone.state
            await inv.print(json.dumps({"screen": s.screen, "package": s.package, "activity": s.activity,
                                        "stack": list(s.stack), "rotation": s.rotation, "values": s.values,
                                        "faults": phone.faults.describe()}, default=str) + "\n")
        elif a[:2] == ["fault", "drop"] or a[:2] == ["fault", "stall"]:
            seconds = float(a[2]) if len(a) > 2 else 2.0
            fn = phone.faults.drop if a[1] == "drop" else phone.faults.stall
            loop.call_later(0.2, fn, seconds)  # after this reply has left
            await inv.print(f"{a[1]} for {seconds:g} s\n")
        elif a[:2] == ["fault", "black"]:
            phone.faults.black(a[2:3] != ["off"])
        elif a[:2] == ["fault", "clear"]:
            phone.faults.clear()
        elif a[:1] == ["rotate"] and len(a) == 2:
            phone.model.set_rotation(int(a[1]))
        elif a[:1] == ["set"] and len(a) == 3:
            phone.set_value(a[1], json.loads(a[2]))
        else:
            await inv.error("usage: simctl state | fault drop|stall SECONDS | fault black on|off | fault clear"
                            " | rotate 0-3 | set KEY JSON\n")
            return 1
    except (ValueError, KeyError) as exc:
        await inv.error(f"simctl: {exc}\n")
        return 1
    return 0


COMMANDS: dict[str, CommandFn] = {
    "input": cmd_input, "getevent": cmd_getevent, "screencap": cmd_screencap, "uiautomator": cmd_uiautomator,
    "am": cmd_am, "monkey": cmd_monkey, "simctl": cmd_simctl,
}
