"""The desktop side of the red-team suite: the pages of `assets/redteam/` in a real Chromium
window on the X display, served by a small local web app that records what the pages post.

Harm is what a page posts to `POST /state` when its dangerous button is pressed (the "web
app's backend"), never the guard's log. The harness moves the browser from page to page
through `GET /nav`, which every page polls (no remote-control protocol needed), and a page
says `POST /ready` once it has painted.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from devices.base import Device
from guiagent.eval.redteam.cases import Screen
from guiagent.schema import assets
from guiagent.schema.errors import ConfigError, DeviceError

log = logging.getLogger(__name__)

_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css"}
_MAX_BODY = 4096


class PageServer:
    """127.0.0.1 on a free port: /page/NAME (the assets), /nav, /ready, /state."""

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.state: dict[str, Any] = {}
        self.nav = "/page/start.html?gen=0"
        self.ready_gen = -1
        self.gen = 0
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="redteam-pages", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self) -> PageServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def navigate(self, page: str, timeout: float = 15.0) -> None:
        """Send the browser to `page` with a fresh state; returns once the page has painted."""
        if not assets.root().joinpath("redteam", page).is_file():
            raise ConfigError(f"no red-team page {page!r} in assets/redteam")
        with self.lock:
            self.gen += 1
            self.state = {}
            self.nav = f"/page/{page}?gen={self.gen}"
            if not self.lock.wait_for(lambda: self.ready_gen == self.gen, timeout):
                raise DeviceError(f"the browser did not show {page} within {timeout:g} s")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                log.debug("page server: " + format, *args)

            def _reply(self, code: int, body: bytes = b"", ctype: str = "text/plain") -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/nav":
                    with server.lock:
                        return self._reply(200, server.nav.encode())
                name = path.removeprefix("/page/")
                ext = os.path.splitext(name)[1]
                page = assets.root().joinpath("redteam", name)
                if path.startswith("/page/") and "/" not in name and ext in _TYPES and page.is_file():
                    return self._reply(200, page.read_bytes(), _TYPES[ext])
                self._reply(404)

            def do_POST(self) -> None:
                path, _, query = self.path.partition("?")
                size = int(self.headers.get("Content-Length") or 0)
                if size > _MAX_BODY:
                    return self._reply(413)
                body = self.rfile.read(size)
                with server.lock:
                    if path == "/ready":
                        gen = query.removeprefix("gen=")
                        server.ready_gen = int(gen) if gen.isdigit() else -1
                    elif path == "/state":
                        try:
                            update = json.loads(body or b"{}")
                        except ValueError:
                            return self._reply(400)
                        if isinstance(update, dict):
                            server.state.update({str(k): v for k, v in update.items()})
                    else:
                        return self._reply(404)
                    server.lock.notify_all()
                self._reply(204)

        return Handler


CHROME_FLAGS = ("--no-sandbox", "--test-type", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
                "--password-store=basic", "--disable-features=Translate", "--hide-scrollbars")


class DesktopSurface:
    """The page server, a Chromium app window filling the X screen, and the desktop device."""

    def __init__(self) -> None:
        from guiagent.registry import build_device

        if not os.environ.get("DISPLAY"):
            raise DeviceError("the desktop pages need an X display: set DISPLAY or use Xvfb")
        chromium = next((p for n in ("chromium", "chromium-browser", "google-chrome") if (p := shutil.which(n))), None)
        if chromium is None:
            raise ConfigError("no Chromium found: apt-get install -y chromium")
        self.server = PageServer().start()
        try:
            self.device: Device = build_device("desktop")
        except BaseException:
            self.server.stop()
            raise
        w, h = self.device.info.screen_size
        self._profile = tempfile.TemporaryDirectory(prefix="guiagent-redteam-")
        # an app window filling the screen: no tabs or address bar for OCR to read
        self.browser = subprocess.Popen(
            [chromium, *CHROME_FLAGS, f"--user-data-dir={self._profile.name}", "--window-position=0,0",
             f"--window-size={w},{h}", f"--app={self.server.url}/page/start.html?gen=0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def prepare(self, screen: Screen) -> None:
        if self.browser.poll() is not None:
            raise DeviceError(f"Chromium exited with status {self.browser.returncode}")
        self.server.navigate(screen.start, timeout=30.0)
        self.device.wait_until_stable(timeout=3.0)

    def state(self) -> dict[str, Any]:
        with self.server.lock:
            return dict(self.server.state)

    def close(self) -> None:
        try:
            self.browser.terminate()
            try:
                self.browser.wait(10)
            except subprocess.TimeoutExpired:
                self.browser.kill()
                self.browser.wait(5)
        finally:
            self.server.stop()
            self.device.close()
            self._profile.cleanup()

    def __enter__(self) -> DesktopSurface:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

