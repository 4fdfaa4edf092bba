"""The fleet dashboard (a static page over the API, no build chain), /metrics and device screenshots.

`mount()` adds to the API app:
- GET /dashboard and its static files (open, like /docs: the page holds no data; its script
  reads the API with the browser's session cookie and shows a login form on 401, which posts
  the token once to POST /login; the HttpOnly cookie keeps the session);
- GET /metrics (Prometheus text format; see metrics.py) and
  GET /devices/{serial}/screenshot (a PNG thumbnail), both behind the API's token check.

A device's picture: while it runs a task, the last frame that task recorded (the recorder's
frames are already redacted, and the device is the agent's); while idle on this host, a fresh
screencap through the worker's open device; a device of another host (or one that is offline)
has no live picture here: 404, and the page says so.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Response
from fastapi.responses import HTMLResponse

from guiagent.schema import assets

if TYPE_CHECKING:
    from PIL import Image

    from guiagent.daemon.config import DaemonConfig
    from guiagent.daemon.store import TaskStore

Screenshot = Callable[[str, bool], "Image.Image | None"]  # (serial, even if busy)
STATIC = {"app.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8"}
CACHE_S = 1.0  # a live screencap is reused this long: several open pages do not hammer the phone
# The page runs only its own script and style, and talks only to this daemon.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def asset(name: str) -> bytes:
    return (assets.root() / "dashboard" / name).read_bytes()


def live_screenshot(pool: Any, serial: str, busy_ok: bool = False) -> Image.Image | None:
    """A screencap of `serial` when this host's worker holds it open and idle (or busy, with
    `busy_ok`: its run waits for an approval); else None. `pool`: the daemon's DevicePool. The
    device's transport serialises commands, so a capture racing the worker is safe; a failed
    capture is just no picture."""
    from guiagent.schema.errors import DeviceError

    worker = pool.workers.get(serial) if pool is not None else None
    device = getattr(worker, "device", None)
    if device is None or (not busy_ok and getattr(worker, "active", None) is not None):
        return None
    try:
        image: Image.Image = device.screenshot()
        return image
    except DeviceError:
        return None


def running_frame(store: TaskStore, config: DaemonConfig, task_id: str) -> Path | None:
    """The newest frame recorded by the task's latest attempt, if any."""
    runs = [r for r in store.runs(task_id) if r.episode]
    if not runs:
        return None
    root = config.trajectories.resolve()
    folder = (root / (runs[-1].episode or "")).resolve()
    if root not in folder.parents:  # as api.py's frame route: nothing outside the trajectories
        return None
    frames = folder / "frames"
    names = sorted(p for p in frames.glob("[0-9]*.*") if p.suffix in (".png", ".jpg", ".webp")) \
        if frames.is_dir() else []
    return names[-1] if names else None


def thumbnail(image: Image.Image, width: int) -> bytes:
    img = image.convert("RGB")
    if img.width > width:
        img = img.resize((width, max(1, round(img.height * width / img.width))))
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=False)
    return out.getvalue()


def mount(app: FastAPI, store: TaskStore, config: DaemonConfig, authorized: Any, *, daemon_id: str = "",
          screenshot: Screenshot | None = None) -> None:
    """Add the dashboard, /metrics and the screenshot route to `app`; `authorized` is the API's
    token dependency."""
    public = APIRouter(include_in_schema=False)

    @public.get("/dashboard", response_class=HTMLResponse)
    def page() -> Response:
        return Response(asset("index.html"), media_type="text/html; charset=utf-8",
                        headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache"})

    @public.get("/dashboard/{name}")
    def static(name: str) -> Response:
        if name not in STATIC:
            raise HTTPException(404, "no such file")
        return Response(asset(name), media_type=STATIC[name], headers={"Cache-Control": "no-cache"})

    private = APIRouter(dependencies=[Depends(authorized)])
    metrics: list[Any] = []  # made on the first scrape (prometheus-client is imported then)
    metrics_lock = threading.Lock()

    @private.get("/metrics", summary="Prometheus metrics of the fleet (text format)",
                 response_class=Response, responses={200: {"content": {"text/plain": {}}}})
    def get_metrics() -> Response:
        from guiagent.daemon.metrics import CONTENT_TYPE, FleetMetrics

        with metrics_lock:
            if not metrics:
                metrics.append(FleetMetrics(store, daemon_id))
        return Response(metrics[0].render(), media_type=CONTENT_TYPE)

    cache: dict[str, tuple[float, bytes]] = {}

    @private.get("/devices/{serial}/screenshot", summary="a device's picture (PNG): the last frame of its "
                 "running task, else a live capture when it is idle on this host",
                 response_class=Response, responses={200: {"content": {"image/png": {}}}, 404: {}})
    def device_screenshot(serial: str, width: int = Query(320, ge=32, le=2000),
                          host: str | None = Query(None, description="the device's host; default: this one")
                          ) -> Response:
        here = str(getattr(store, "host", "") or daemon_id)
        wanted = host or here
        device = next((d for d in store.list_devices() if d.serial == serial and
                       (getattr(d, "host", None) or here) == wanted), None)
        if device is None:
            raise HTTPException(404, f"no device {serial!r} on host {wanted!r}")
        from PIL import Image

        headers = {"Cache-Control": "no-store"}
        task = store.get_task(device.current_task) if device.current_task and device.state == "busy" else None
        held = task is not None and task.approval is not None  # the agent waits: show the screen it acts on
        if task is not None and not held:
            path = running_frame(store, config, task.id)
            if path is not None:
                with Image.open(path) as img:
                    return Response(thumbnail(img, width), media_type="image/png", headers=headers)
        if wanted != here:  # another host's phone: its adb server is not ours
            raise HTTPException(404, f"no live picture of {serial}: it is served by host {wanted}")
        hit = cache.get(f"{serial}/{width}")
        if hit is not None and time.monotonic() - hit[0] < CACHE_S:
            return Response(hit[1], media_type="image/png", headers=headers)
        image = screenshot(serial, held) if screenshot is not None else None
        if image is None:
            raise HTTPException(404, f"no picture of {serial}: it is {device.state}, or served by another host")
        data = thumbnail(image, width)
        cache[f"{serial}/{width}"] = (time.monotonic(), data)
        return Response(data, media_type="image/png", headers=headers)

    app.include_router(public)
    app.include_router(private)
