"""`SimPhone`: one virtual phone = a scenario model + an ADB endpoint on 127.0.0.1:PORT, served
by its own asyncio loop in a background thread (several phones per process are fine).

    with SimPhone(port=0, scenario="default") as phone:
        phone.serial, phone.state["wifi"], phone.faults.drop(2), phone.tap(360, 640)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from PIL import Image

from devices.simphone import commands_input, commands_sys, commands_toybox
from devices.simphone.faults import Faults
from devices.simphone.fs import VirtualFs
from devices.simphone.model import PhoneModel
from devices.simphone.protocol import device_banner
from devices.simphone.render import encode_framebuffer, encode_png, encode_raw, render
from devices.simphone.scenario import Scenario, load_scenario
from devices.simphone.services import resolve
from devices.simphone.shell import CommandFn, Shell
from devices.simphone.state import PhoneState
from devices.simphone.touch import TouchPanel
from devices.simphone.transport import Connection, ServiceFn
from devices.simphone.uixml import dump_xml
from guiagent.schema.errors import DeviceError

log = logging.getLogger(__name__)
_T = TypeVar("_T")

FEATURES = ["shell_v2", "cmd", "fixed_push_mkdir"]
COMMANDS: dict[str, CommandFn] = {**commands_toybox.COMMANDS, **commands_sys.COMMANDS, **commands_input.COMMANDS}


class SimPhone:
    def __init__(self, port: int = 0, scenario: str | Scenario = "default", host: str = "127.0.0.1",
                 size: tuple[int, int] | None = None, density: int | None = None,
                 adb_keyboard: str | None = None) -> None:
        sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        if size is not None or density is not None or adb_keyboard is not None:
            display = sc.display.model_copy(update={k: v for k, v in (
                ("width", size[0] if size else None), ("height", size[1] if size else None),
                ("density", density)) if v is not None})
            ime = sc.ime.model_copy(update={"adb_keyboard": adb_keyboard}) if adb_keyboard else sc.ime
            sc = sc.model_copy(update={"display": display, "ime": ime})
        self.scenario = sc
        self.host = host
        self.port = port
        self.model = PhoneModel(sc)
        self.fs = VirtualFs()
        self.panel = TouchPanel(self.model)
        self.faults = Faults()
        self.faults._on_drop = self._drop_threadsafe
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.base_events.Server | None = None
        self._connections: set[Connection] = set()
        self._frame_lock = threading.Lock()
        self._frame: tuple[Any, Image.Image, int] | None = None
        self._frame_gen = 0
        self._encoded: dict[str, tuple[int, bytes]] = {}
        self._relisten: asyncio.TimerHandle | None = None

    # --- lifecycle ------------------------------------------------------------------------------

    @property
    def serial(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> SimPhone:
        if self.running:
            return self
        ready: concurrent.futures.Future[int] = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._run, args=(ready,), name=f"simphone-{self.port}", daemon=True)
        self._thread.start()
        try:
            self.port = ready.result(timeout=10)
        except OSError as exc:
            self._thread.join(timeout=5)
            raise DeviceError(f"virtual phone cannot listen on {self.host}:{self.port}: {exc}") from exc
        log.info("virtual phone %s (%s) listening", self.serial, self.scenario.name)
        return self

    def _run(self, ready: concurrent.futures.Future[int]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._listen())
            assert self._server is not None
            ready.set_result(self._server.sockets[0].getsockname()[1])
        except OSError as exc:
            ready.set_exception(exc)
            loop.close()
            return
        try:
            loop.run_forever()
        finally:
            for task in asyncio.all_tasks(loop):
                task.cancel()
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.host, self.port, reuse_address=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.faults.refusing:  # a connection that slipped in while closing the listener
            writer.transport.abort()
            return
        conn = Connection(self, reader, writer)
        self._connections.add(conn)
        try:
            await conn.run()
        finally:
            self._connections.discard(conn)

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if loop.is_running():
            async def shutdown() -> None:
                if self._server is not None:
                    self._server.close()
                for c in list(self._connections):
                    c.abort()
                loop.stop()
            asyncio.run_coroutine_threadsafe(shutdown(), loop)
        thread.join(timeout=10)
        self._thread = None
        log.info("virtual phone %s stopped", self.serial)

    def __enter__(self) -> SimPhone:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- faults ---------------------------------------------------------------------------------

    def _drop_threadsafe(self, for_s: float) -> None:
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._drop, for_s)

    def _drop(self, for_s: float) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for c in list(self._connections):
            c.abort()
        if self._relisten is not None:
            self._relisten.cancel()
        assert self._loop is not None
        self._relisten = self._loop.call_later(for_s, self._start_relisten)

    def _start_relisten(self) -> None:
        async def relisten() -> None:
            try:
                await self._listen()
                log.info("virtual phone %s accepting connections again", self.serial)
            except OSError as exc:
                log.warning("virtual phone %s cannot listen again yet (%s); retrying", self.serial, exc)
                assert self._loop is not None
                self._relisten = self._loop.call_later(0.5, self._start_relisten)
        asyncio.ensure_future(relisten())

    # --- what services and commands use ---------------------------------------------------------

    def banner(self) -> bytes:
        d = self.scenario.device
        return device_banner({"ro.product.name": d.product, "ro.product.model": d.model,
                              "ro.product.device": d.device}, FEATURES)

    def service(self, name: str) -> ServiceFn | None:
        return resolve(self, name)

    def new_shell(self) -> Shell:
        return Shell(COMMANDS, context=self)

    def _current_frame(self) -> tuple[Image.Image, int]:
        m = self.model
        with self._frame_lock, m.lock:
            black = self.faults.black_frames or not m.screen_on or m.secure
            key = (m.frame_key(), black, m.size, m.density)
            if self._frame is None or self._frame[0] != key:
                img = Image.new("RGB", m.size) if black else render(m.windows(), m.size, m.density)
                self._frame_gen += 1
                self._frame = (key, img, self._frame_gen)
            return self._frame[1], self._frame[2]

    def frame(self) -> Image.Image:
        """What the screen shows now (black under FLAG_SECURE, a black-frame fault or screen off).
        Cached per state version: do not draw on it."""
        return self._current_frame()[0]

    def encoded_frame(self, fmt: str) -> bytes:
        img, gen = self._current_frame()
        with self._frame_lock:
            cached = self._encoded.get(fmt)
            if cached is not None and cached[0] == gen:
                return cached[1]
        data = {"png": encode_png, "raw": encode_raw, "framebuffer": encode_framebuffer}[fmt](img)
        with self._frame_lock:
            self._encoded[fmt] = (gen, data)
        return data

    async def capture(self, fmt: str) -> bytes:
        return await asyncio.to_thread(self.encoded_frame, fmt)

    def dump_xml(self) -> str:
        with self.model.lock:
            return dump_xml(self.model.windows(), self.model.rotation)

    # --- Python API for tests and tools ---------------------------------------------------------

    @property
    def state(self) -> PhoneState:
        return self.model.snapshot()

    def input_log(self, since: float = 0.0) -> list[tuple[float, str]]:
        """The input this phone received (taps, keys, text, app starts): (wall time, what),
        oldest first, from `since` on. The phone's own record, whoever drove it."""
        with self.model.lock:
            return [e for e in self.model.inputs if e[0] >= since]

    def set_value(self, key: str, value: Any) -> None:
        with self.model.lock:
            if key not in self.model.values:
                raise KeyError(f"{key!r} is not a state key of scenario {self.scenario.name!r}")
            self.model.values[key] = value
            self.model.changed()

    def reset(self) -> None:
        """Scenario state, navigation, rotation and faults back to the start; connections stay."""
        self.faults.clear()
        self.model.reset()

    def rotate(self, rotation: int) -> None:
        self.model.set_rotation(rotation)

    def _call(self, coro: Coroutine[Any, Any, _T], timeout: float = 30.0) -> _T:
        if self._loop is None or not self._loop.is_running():
            coro.close()
            raise DeviceError("the virtual phone is not running")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def tap(self, x: float, y: float) -> str:
        """A finger tap at display pixel (x, y), seen by getevent like any touch."""
        return self._call(self.panel.tap(x, y))

    def swipe(self, x1: float, y1: float, x2: float, y2: float, duration_s: float = 0.3) -> str:
        return self._call(self.panel.swipe(x1, y1, x2, y2, duration_s))

    def shell(self, command: str) -> tuple[int, str]:
        """Run a command in the phone's shell without adb: (exit status, stdout + stderr)."""
        from devices.simphone.shell import BufferWriter

        async def run() -> tuple[int, str]:
            buf = BufferWriter()
            status = await self.new_shell().run(command, buf, buf)
            return status, bytes(buf.data).decode("utf-8", "replace")

        return self._call(run())
