"""Start loading the OCR models and the packaged MiniLM from the first line of a `guiagent run`
process, before the command line's own imports (~0.5 s): both then load while the CLI, the device
and the planner are set up, and the first observation and the guard find them ready.

Nothing is skipped by this: the screen parser and the guard each still wait for their model
when they need it. Loading twice is avoided: the engines' warm-ups are idempotent.
"""

from __future__ import annotations

import argparse
import logging
import threading

log = logging.getLogger(__name__)
_started: threading.Thread | None = None
_lock = threading.Lock()


def start(ocr: bool = True) -> threading.Thread:
    """Import and start both warm-ups from a background thread (so that even importing numpy
    and PIL does not hold up the caller). Once per process: later calls return that thread."""
    global _started

    def work() -> None:
        try:
            from grounding import ocr as ocr_mod
            from grounding import semantic

            if semantic.available():
                semantic.warm_up()
            if ocr and ocr_mod.available():
                ocr_mod.default_engine().warm_up()
        except Exception as exc:  # the run loads them again when it needs them, and says why
            log.warning("early model warm-up failed: %s", exc)

    # not a daemon, like the warm-ups it starts: exit waits for native loads to finish
    with _lock:
        if _started is None:
            _started = threading.Thread(target=work, name="warm-up-start", daemon=False)
            _started.start()
        return _started


def start_for_argv(argv: list[str]) -> threading.Thread | None:
    """`start` for a `run` command line (`argv` without the program name), with OCR unless
    `--no-ocr` or a phone device (phones read their accessibility tree); None otherwise."""
    argv = list(argv)
    while argv and argv[0] in ("-v", "-vv", "--verbose"):  # the program's own flags come first
        argv.pop(0)
    if argv[:1] != ["run"] or "-h" in argv or "--help" in argv:
        return None
    pre = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    pre.add_argument("--device", default="desktop")
    pre.add_argument("--no-ocr", action="store_true")
    try:
        flags, _ = pre.parse_known_args(argv[1:])
    except (argparse.ArgumentError, SystemExit):  # the real parser reports it
        return None
    phone = str(flags.device).split(":")[0] in ("android", "sim")
    return start(ocr=not flags.no_ocr and not phone)
