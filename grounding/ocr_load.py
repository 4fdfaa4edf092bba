"""Loading RapidOCR fast: its import and its ONNX sessions are most of the agent's cold start.

- Its 85 KB model table (default_models.yaml) becomes an OmegaConf tree once instead of twice,
  parsed by libyaml, and without the sections of the engines we never run (OpenVINO, MNN,
  Paddle, Torch): building the full tree twice cost ~0.25 s of CPU.
- The SHA-256 of each model file (31 MB, ~50 ms of CPU) is checked once per file version and
  remembered (a stamp keyed by its path, size, time and expected digest), not at every start.
- ONNX sessions: onnxruntime's graph optimization of each model is done once per machine and
  the optimized graph cached on disk (`optimized_model_filepath`); idle intra-op threads sleep
  instead of spinning (spinning burned ~40% more CPU per read on this 2-core machine, for no
  gain in wall time when other processes share it).
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_import_lock = threading.Lock()
# engines whose model tables we drop: we always run onnxruntime
_OTHER_ENGINES = ("openvino", "mnn", "paddle", "torch", "tensorrt")


def cache_dir() -> Path:
    """Where machine-local caches go: $GUIAGENT_CACHE_DIR, else $XDG_CACHE_HOME/guiagent."""
    env = os.environ.get("GUIAGENT_CACHE_DIR")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "guiagent"


def quiet_rapidocr() -> None:
    """RapidOCR installs its own colour console handler at INFO and stops propagation, so its
    chatter ("text detection result is empty" on every blank crop, model paths at load) would
    reach the user's terminal whatever -v says. Route it through logging like any library and
    keep only its errors."""
    rlog = logging.getLogger("RapidOCR")
    for handler in list(rlog.handlers):
        rlog.removeHandler(handler)
    rlog.propagate = True
    rlog.setLevel(logging.ERROR)


def import_rapidocr() -> Any:
    """`rapidocr.RapidOCR`, imported with the shortcuts of the module docstring."""
    import yaml  # type: ignore[import-untyped]
    from omegaconf import OmegaConf

    with _import_lock:  # two engines loading at once must not stack the patches
        load = OmegaConf.load
        memo: dict[str, Any] = {}

        def load_once(file_: Any) -> Any:
            if not isinstance(file_, (str, os.PathLike)) or os.path.basename(file_) != "default_models.yaml":
                return load(file_)
            key = os.path.realpath(file_)
            if key not in memo:
                with open(key, encoding="utf-8") as f:
                    table = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
                for engine in _OTHER_ENGINES:
                    if isinstance(table.get(engine), dict):
                        table[engine] = {}
                memo[key] = OmegaConf.create(table)
            return memo[key]

        OmegaConf.load = load_once  # type: ignore[assignment,method-assign]  # rapidocr alone calls it meanwhile
        try:
            from rapidocr import RapidOCR  # heavy: onnxruntime + opencv
            from rapidocr.inference_engine.onnxruntime import main as ort_main
        finally:
            OmegaConf.load = load  # type: ignore[method-assign]
        if not getattr(ort_main, "_guiagent_sessions", False):
            ort_main.InferenceSession = _cached_session  # rapidocr builds its sessions through this name
            # and checks its model files through this one
            setattr(ort_main, "DownloadFile", _verified_once(ort_main.DownloadFile))  # noqa: B010
            setattr(ort_main, "_guiagent_sessions", True)  # noqa: B010
    return RapidOCR


def _verified_once(base: Any) -> Any:
    """rapidocr's DownloadFile, whose check of an existing model file against its SHA-256 is
    remembered by a stamp file: the same file (path, size, mtime) is not hashed again."""

    class VerifiedOnce(base):
        verbose = False  # set by `run`; a default for direct calls

        @classmethod
        def _should_skip_download(cls, path: Path, expected_sha256: str | None, logger: Any) -> bool:
            if not expected_sha256:
                return bool(super()._should_skip_download(path, expected_sha256, logger))
            try:
                st = Path(path).stat()
            except OSError:
                return bool(super()._should_skip_download(path, expected_sha256, logger))
            key = f"{os.path.realpath(path)}:{st.st_size}:{st.st_mtime_ns}:{expected_sha256}"
            stamp = cache_dir() / "verified" / hashlib.sha256(key.encode()).hexdigest()[:32]
            if stamp.is_file():
                return True
            ok = bool(super()._should_skip_download(path, expected_sha256, logger))
            if ok:
                try:
                    stamp.parent.mkdir(parents=True, exist_ok=True)
                    stamp.touch()
                except OSError as exc:
                    log.info("cannot remember the check of %s: %s", path, exc)
            return ok

    return VerifiedOnce


def _cpu_id() -> str:
    """The machine type and a digest of the CPU's model and feature flags (Linux; elsewhere the
    processor string), so that a cache shared between machines never serves a foreign graph."""
    info = platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            info = "".join(line for line in f.read().split("\n\n", 1)[0].splitlines(True)
                           if line.startswith(("model name", "flags")))
    except OSError:
        pass
    return f"{platform.machine()}-{hashlib.sha256(info.encode()).hexdigest()[:12]}"


def _cached_session(model: str, sess_options: Any = None, providers: Any = None, **kwargs: Any) -> Any:
    """An onnxruntime session of `model`, built from the graph optimized on an earlier run when
    there is one (the optimization passes cost ~0.1 s of CPU per model and give the same graph
    every time on one machine), else optimized now and saved for the next run."""
    import onnxruntime as ort  # type: ignore[import-untyped]

    opts = sess_options if sess_options is not None else ort.SessionOptions()
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    src = Path(model)
    try:
        st = src.stat()
        # the optimized graph may use this CPU's kernels (NCHWc): it is only valid on this CPU
        key = f"{src.stem}-{st.st_size}-{int(st.st_mtime)}-ort{ort.__version__}-{_cpu_id()}.onnx"
        cached = cache_dir() / "onnx" / key
    except OSError:
        return ort.InferenceSession(model, sess_options=opts, providers=providers, **kwargs)
    if cached.is_file():
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        try:
            return ort.InferenceSession(str(cached), sess_options=opts, providers=providers, **kwargs)
        except Exception as exc:  # a damaged cache file: rebuild it below
            log.warning("cached ONNX graph %s unusable (%s); rebuilding it", cached, exc)
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    tmp = cached.with_name(f"{cached.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a read-only home: run without the cache
        log.info("cannot cache optimized ONNX graphs in %s: %s", cached.parent, exc)
        return ort.InferenceSession(model, sess_options=opts, providers=providers, **kwargs)
    opts.optimized_model_filepath = str(tmp)
    session = ort.InferenceSession(model, sess_options=opts, providers=providers, **kwargs)
    try:
        os.replace(tmp, cached)  # atomic: a concurrent run sees the whole file or none
    except OSError as exc:
        log.info("cannot cache the optimized ONNX graph %s: %s", cached, exc)
    return session
