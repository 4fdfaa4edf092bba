"""Start the app: QApplication, theme, settings, the main window, and the unattended mode
(`--autorun --quit-when-done`: run the task, write the summary / screenshot, exit with 0 on
success, 1 on a failed run, 2 when the run could not start)."""

from __future__ import annotations

import logging
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

    from app.main_window import ApproveMode

log = logging.getLogger(__name__)


@dataclass
class LaunchOptions:
    device: str | None = None
    planner: str | None = None
    grounder: str | None = None
    task: str | None = None
    autorun: bool = False
    quit_when_done: bool = False
    summary: Path | None = None
    screenshot: Path | None = None
    out: Path | None = None
    ocr: bool | None = None
    save: bool | None = None
    max_steps: int | None = None
    base_url: str | None = None
    model: str | None = None
    model_path: str | None = None
    api_key: str | None = None
    settings_file: Path | None = None
    runs_dir: Path | None = None
    theme: str | None = None
    approve: ApproveMode = "ask"
    open_episode: Path | None = None
    size: tuple[int, int] | None = None


def make_application(argv: list[str] | None = None) -> QApplication:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(argv or [sys.argv[0]])
    assert isinstance(app, QApplication)  # the window needs a widget application
    app.setApplicationName("guiagent")
    app.setOrganizationName("guiagent")
    app.setApplicationDisplayName("guiagent")
    return app


def build_window(opts: LaunchOptions) -> Any:
    """The configured main window (not shown). Command-line values win over settings."""
    from app import style
    from app.main_window import MainWindow
    from app.settings import AppSettings

    settings = AppSettings(opts.settings_file)
    if opts.runs_dir is not None:
        settings.runs_dir = opts.runs_dir
    if opts.theme:
        settings.theme = opts.theme
    style.apply_theme(make_application(), settings.theme)
    window = MainWindow(settings, approve=opts.approve, out=opts.out)
    window.run_panel.apply_overrides(device=opts.device, planner=opts.planner, grounder=opts.grounder,
                                     ocr=opts.ocr, max_steps=opts.max_steps, base_url=opts.base_url,
                                     model=opts.model, model_path=opts.model_path, api_key=opts.api_key,
                                     save=opts.save)
    if opts.task:
        window.top.set_task(opts.task)
    _place(window, opts.size)
    return window


def _place(window: Any, size: tuple[int, int] | None) -> None:
    from PySide6.QtGui import QGuiApplication

    geometry, splitter = window.settings.window_state()
    if size is None and geometry is not None and window.restoreGeometry(geometry):
        if splitter is not None:
            window.splitter.restoreState(splitter)
        return
    screen = QGuiApplication.primaryScreen()
    avail = screen.availableGeometry() if screen is not None else None
    w, h = size or (1280, 800)
    if avail is not None:
        w, h = min(w, avail.width()), min(h, avail.height())
        window.setGeometry(avail.x() + (avail.width() - w) // 2, avail.y() + (avail.height() - h) // 2, w, h)
    else:
        window.resize(w, h)


def run_app(opts: LaunchOptions) -> int:
    app = make_application()
    try:
        window = build_window(opts)
    except Exception as exc:
        from app.jobs import explain

        message, hint = explain(exc)
        log.error("the app could not start: %s (%s)", message, hint)
        raise
    previous_hook = sys.excepthook

    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        # an exception in a Qt slot must reach the window, not only stderr
        from app.jobs import explain

        log.error("unhandled error in the app", exc_info=(kind, exc, tb))
        try:
            window.show_error(*explain(exc))
        except Exception:
            previous_hook(kind, exc, tb)

    sys.excepthook = hook
    _install_signal_handlers(app, window)
    window.show()
    if opts.open_episode is not None:
        window.open_episode(opts.open_episode)
    if opts.autorun:
        from PySide6.QtCore import QTimer

        QTimer.singleShot(0, lambda: window.autorun(quit_when_done=opts.quit_when_done, summary=opts.summary,
                                                    screenshot=opts.screenshot))
    elif opts.quit_when_done:
        window._exit = {"quit": True, "summary": opts.summary, "screenshot": opts.screenshot}
    try:
        return int(app.exec())
    finally:
        sys.excepthook = previous_hook


def _install_signal_handlers(app: Any, window: Any) -> None:
    """Ctrl+C / SIGTERM close the window (which stops the run before its next action). Qt's
    loop does not run Python code by itself, so a timer lets the handlers in."""
    from PySide6.QtCore import QTimer

    def on_signal(signum: int, _frame: Any) -> None:
        log.warning("signal %s: closing", signal.Signals(signum).name)
        window.close()
        app.exit(130 if signum == signal.SIGINT else 143)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    timer = QTimer(app)
    timer.setInterval(200)
    timer.timeout.connect(lambda: None)
    timer.start()
