"""The HTTP API (FastAPI; interactive docs at /docs).

Every route needs the token, also on loopback: `Authorization: Bearer TOKEN`, or the session
cookie a browser gets from `POST /login` (401 otherwise). /docs, /openapi.json and the login
page stay open: they describe the API and hold no data. Before any route, gate.py checks the
Host and Origin headers, refuses a token in the URL and limits the body size.

The API only touches the store: handlers are plain `def`s (FastAPI runs them in its thread
pool) and the event stream reads the store through `asyncio.to_thread`, so no database or
device call ever blocks the event loop. Cancels and approvals are written to the store; the
daemon's heartbeat and the waiting worker pick them up.
"""

from __future__ import annotations

import asyncio
import base64
import json
import mimetypes
import re
import time
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Query, Request, Response, status
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from guiagent.daemon import approvals as appr
from guiagent.daemon import auth
from guiagent.daemon.config import DaemonConfig
from guiagent.daemon.gate import Gate
from guiagent.daemon.models import (
    ApprovalIn,
    ApprovalRecord,
    ApprovalStatus,
    DeviceRecord,
    RunRecord,
    TaskIn,
    TaskRecord,
    TaskStatus,
)
from guiagent.daemon.store import TaskStore
from guiagent.registry import PLANNERS
from guiagent.schema.errors import ConfigError, RecordingError

FRAME_NAME = re.compile(r"^\d{6}\.(png|jpg|webp)$")
VERSION = "1"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOGIN_PAGE = """<!doctype html><meta charset="utf-8"><title>guiagent daemon: log in</title>
<form method="post" action="/login"><label>Token <input name="token" type="password" autofocus
autocomplete="current-password"></label> <button>Log in</button></form>
<p>The token is in the daemon's token file (printed once when it was generated).</p>"""


def create_app(store: TaskStore, config: DaemonConfig, *, token: str, daemon_id: str = "", online: Any = None,
               warming: Any = None, screenshot: Any = None) -> FastAPI:
    """The app. `online()` (optional) counts the devices whose worker holds an open device;
    `warming()` says whether optional models are still loading."""
    started = time.time()
    session = auth.session_value(token)
    bearer = HTTPBearer(auto_error=False, description="the daemon's token (its token file, or --token)")

    def authorized(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        if creds is not None:
            if auth.same_secret(creds.credentials, token):
                return
        elif (cookie := request.cookies.get(auth.COOKIE)) is not None and auth.same_secret(cookie, session):
            # SameSite=Strict keeps other sites' requests cookie-less; a page of the same site on
            # another port still gets it, so a write must show its (gate-checked) Origin.
            if request.method in SAFE_METHODS or request.headers.get("origin"):
                return
            raise HTTPException(status.HTTP_403_FORBIDDEN, "a request authenticated by the browser cookie must "
                                "carry an Origin header; other clients send Authorization: Bearer TOKEN")
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing or wrong token: send Authorization: Bearer "
                            "TOKEN (the daemon's token file), or log in with POST /login",
                            headers={"WWW-Authenticate": "Bearer"})

    app = FastAPI(title="guiagent daemon", version=VERSION,
                  description="A task queue for a pool of Android devices. Send `Authorization: Bearer TOKEN` "
                              "with every request (a browser: log in at /login).")
    app.add_middleware(Gate, allowed_hosts=config.allowed_hosts, max_body=config.max_body)
    api = APIRouter(dependencies=[Depends(authorized)])

    # -- browser sessions ----------------------------------------------------------------------

    @app.get("/login", summary="a login form for browsers", response_class=HTMLResponse)
    def login_page() -> str:
        return LOGIN_PAGE

    @app.post("/login", summary="log a browser in: the token in a form or JSON body sets an HttpOnly cookie",
              responses={200: {"description": "logged in (JSON body)"}, 303: {"description": "logged in (form)"},
                         401: {"description": "wrong token"}})
    async def login(request: Request) -> Response:
        raw = await request.body()
        form = "json" not in request.headers.get("content-type", "")
        try:
            given = dict(parse_qsl(raw.decode())).get("token") if form else json.loads(raw).get("token")
        except (ValueError, AttributeError):
            given = None
        if not isinstance(given, str):
            raise HTTPException(422, 'send the token as a form field or a JSON body {"token": "..."}')
        if not auth.same_secret(given, token):
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong token")
        response: Response = RedirectResponse("/docs", status_code=303) if form else JSONResponse({"status": "ok"})
        response.set_cookie(auth.COOKIE, session, httponly=True, samesite="strict", path="/")
        return response

    @app.post("/logout", summary="end a browser session", status_code=204)
    def logout() -> Response:
        response = Response(status_code=204)
        response.delete_cookie(auth.COOKIE, httponly=True, samesite="strict", path="/")
        return response

    def task_or_404(task_id: str) -> TaskRecord:
        record = store.get_task(task_id)
        if record is None:
            raise HTTPException(404, f"no task {task_id!r}")
        return record

    # -- tasks -------------------------------------------------------------------------------

    @api.post("/tasks", status_code=201, summary="queue a task")
    def add_task(body: TaskIn) -> dict[str, str]:
        planner = body.planner or config.planner
        if planner not in PLANNERS:
            raise HTTPException(422, f"unknown planner {planner!r}; choose one of: {', '.join(sorted(PLANNERS))}")
        try:
            steps, seconds = config.task_budget(body.max_steps, body.timeout_s)
            # One host (SQLite) serves every task: a device it does not serve would wait forever. In
            # a fleet the task may be for another host's phone, unless it names this host.
            ours = config.engine == "sqlite" or body.host == store.host
            if ours and config.devices is not None and body.device is not None and body.device not in config.devices:
                raise ConfigError(f"device {body.device!r} is not served by this daemon "
                                  f"(it serves {', '.join(config.devices)})")
            if body.host is not None and body.host != store.host:
                hosts = sorted({h.host for h in store.list_hosts()} | {store.host})
                if body.host not in hosts:  # it would wait for ever
                    raise ConfigError(f"no host {body.host!r} has joined this fleet (hosts: {', '.join(hosts)})")
            record = store.add_task(body.task, planner=planner, max_steps=steps, timeout_s=seconds,
                                    max_attempts=config.max_attempts, device=body.device, host=body.host,
                                    secrets=body.secrets)
        except ConfigError as exc:
            raise HTTPException(422, str(exc)) from exc
        return {"id": record.id, "status": record.status}

    @api.get("/tasks", summary="list tasks, oldest first")
    def list_tasks(status: TaskStatus | None = None, limit: int = Query(100, ge=1, le=1000),
                   offset: int = Query(0, ge=0)) -> list[TaskRecord]:
        return store.list_tasks(status, limit, offset)

    @api.get("/tasks/{task_id}", summary="a task's status, device, steps so far, result and error")
    def get_task(task_id: str) -> TaskRecord:
        return task_or_404(task_id)

    @api.post("/tasks/{task_id}/cancel", summary="cancel a queued task, or stop a running one")
    def cancel_task(task_id: str) -> TaskRecord:
        before = task_or_404(task_id)
        if before.terminal:
            raise HTTPException(409, f"task {task_id} is already {before.status}")
        after = store.cancel(task_id)
        assert after is not None
        return after

    @api.get("/tasks/{task_id}/runs", summary="the task's attempts (the run log)")
    def task_runs(task_id: str) -> list[RunRecord]:
        task_or_404(task_id)
        return store.runs(task_id)

    @api.get("/tasks/{task_id}/trajectory", summary="the recorded steps and frames of an attempt")
    def trajectory(task_id: str, run: int | None = Query(None, description="run id; default: the latest"),
                   frames: Literal["url", "base64", "none"] = "url") -> dict[str, Any]:
        from guiagent.recorder.episode import read_episode

        task_or_404(task_id)
        runs = [r for r in store.runs(task_id) if r.episode and (run is None or r.id == run)]
        if not runs:
            raise HTTPException(404, f"task {task_id} has no recorded attempt" + (f" {run}" if run else " yet"))
        record = runs[-1]
        folder = _episode_folder(config, record)
        try:
            episode = read_episode(folder)
        except (RecordingError, OSError) as exc:
            raise HTTPException(404, f"the trajectory of run {record.id} cannot be read: {exc}") from exc
        steps = []
        for step in episode.steps:
            item = step.model_dump(mode="json")
            if step.frame and frames != "none":
                name = Path(step.frame).name
                item["frame_url"] = f"/tasks/{task_id}/runs/{record.id}/frames/{name}"
                if frames == "base64":
                    item["frame_base64"] = base64.b64encode((folder / step.frame).read_bytes()).decode()
                    item["frame_mime"] = mimetypes.guess_type(name)[0]
            steps.append(item)
        return {"task_id": task_id, "run": record.id, "attempt": record.attempt, "device": record.device,
                "meta": episode.meta.model_dump(mode="json"), "steps": steps}

    @api.get("/tasks/{task_id}/runs/{run_id}/frames/{name}", summary="one recorded frame (image)")
    def frame(task_id: str, run_id: int, name: str) -> FileResponse:
        record = store.run(run_id)
        if record is None or record.task_id != task_id or not record.episode or not FRAME_NAME.match(name):
            raise HTTPException(404, "no such frame")
        path = _episode_folder(config, record) / "frames" / name
        if not path.is_file():
            raise HTTPException(404, "no such frame")
        return FileResponse(path)

    # -- devices, health, events ---------------------------------------------------------------

    @api.get("/devices", summary="the fleet's devices: host, serial, state, current task")
    def devices(host: str | None = Query(None, description="only this host's devices")) -> list[DeviceRecord]:
        return store.list_devices(host)

    @api.get("/health", summary="liveness, queue counts, devices online")
    def health() -> dict[str, Any]:
        devs = store.list_devices()
        return {"status": "ok", "version": VERSION, "daemon": daemon_id, "uptime_s": round(time.time() - started, 1),
                "queue": store.counts(), "mode": "approvals" if config.approvals else "unattended",
                "warming": bool(warming()) if warming else False,
                "devices": {"known": len(devs), "online": online() if online else
                            sum(d.state in ("idle", "busy") for d in devs)}}

    @api.get("/events", summary="live event stream (Server-Sent Events)",
             response_description="text/event-stream; each event's id is its position for Last-Event-ID")
    async def events(request: Request, task: str | None = None,
                     after: int | None = Query(None, ge=0, description="replay from after this id; default: now"),
                     follow: bool = Query(True, description="false: send what is there, then close"),
                     last_event_id: str | None = Header(None)) -> StreamingResponse:
        if after is None and last_event_id and last_event_id.isdigit():
            after = int(last_event_id)
        cursor = after if after is not None else await asyncio.to_thread(store.last_event_id)

        async def stream() -> Any:
            nonlocal cursor
            yield ": connected\n\n"
            quiet = 0
            while True:
                batch = await asyncio.to_thread(store.events_after, cursor, task)
                for ev in batch:
                    cursor = ev.id
                    yield f"id: {ev.id}\nevent: {ev.kind}\ndata: {ev.model_dump_json()}\n\n"
                if batch:
                    quiet = 0
                    continue
                if not follow or await request.is_disconnected():
                    return
                quiet += 1
                if quiet % 60 == 0:
                    yield ": keep-alive\n\n"
                await asyncio.sleep(0.25)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    # -- approvals ---------------------------------------------------------------------------

    @api.get("/approvals", summary="actions held for approval (pending by default)")
    def list_approvals(status: ApprovalStatus | Literal["all"] = "pending", task: str | None = None,
                       limit: int = Query(100, ge=1, le=1000)) -> list[ApprovalRecord]:
        return appr.list_approvals(store, None if status == "all" else status, task, limit)

    @api.post("/approvals/{approval_id}", summary="approve, skip or stop a held action")
    def decide(approval_id: str, body: ApprovalIn) -> ApprovalRecord:
        try:
            record = appr.decide(store, approval_id, body.decision)
        except appr.ApprovalConflict as exc:
            raise HTTPException(409, str(exc)) from exc
        if record is None:
            raise HTTPException(404, f"no approval {approval_id!r}")
        return record

    app.include_router(api)
    # the fleet dashboard, /metrics and device pictures (dashboard.py)
    from guiagent.daemon.dashboard import mount

    mount(app, store, config, authorized, daemon_id=daemon_id, screenshot=screenshot)
    return app


def _episode_folder(config: DaemonConfig, record: RunRecord) -> Path:
    root = config.trajectories.resolve()
    folder = (root / (record.episode or "")).resolve()
    if root not in folder.parents:
        raise HTTPException(404, "no such trajectory")
    return folder
