"""The daemon's token: where it comes from, how it is kept, and how a browser session proves it.

A token is always required, also on loopback (any local process or web page could otherwise
drive the phones). In order: `--token` / $GUIAGENT_TOKEN, `--token-file PATH` (one file shared
by the hosts of a fleet), or the file beside the database (`queue.db` -> `queue.token`),
generated with mode 0600 on the first start and reused after. A token file anyone but its owner
can read is refused. The token is never logged; the command prints a generated one once.

A browser never carries the token in a URL (it would land in history, proxies and logs): it
posts it to /login and gets a cookie holding an HMAC of the token, not the token itself.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import stat
from pathlib import Path

from guiagent.schema.errors import ConfigError

MIN_LENGTH = 16
VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")
COOKIE = "guiagent_session"
GENERATE_HINT = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


def check_token(token: str, source: str) -> str:
    if len(token) < MIN_LENGTH or not VISIBLE_ASCII.fullmatch(token):
        raise ConfigError(f"the token from {source} must be at least {MIN_LENGTH} visible ASCII characters "
                          f"without spaces; make one with: {GENERATE_HINT}")
    return token


def read_token_file(path: Path) -> str:
    """The token in `path`, refused when the file is missing, not a regular file, empty, or
    readable or writable by the group or others."""
    try:
        info = path.stat()
    except OSError as exc:
        raise ConfigError(f"cannot read the token file {path}: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"the token file {path} is not a regular file")
    if info.st_mode & 0o077:
        raise ConfigError(f"refusing the token file {path}: its mode {stat.S_IMODE(info.st_mode):04o} lets other "
                          f"users read or change it; run: chmod 600 {path}")
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the token file {path}: {exc}") from exc
    return check_token(text, f"the token file {path}")


def load_or_create(path: Path) -> tuple[str, bool]:
    """The token in `path`, generated there (mode 0600) when the file does not exist yet.
    Returns (token, generated)."""
    if path.exists():
        return read_token_file(path), False
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    token = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it meanwhile
        return read_token_file(path), False
    except OSError as exc:
        raise ConfigError(f"cannot create the token file {path}: {exc.strerror or exc}") from exc
    with os.fdopen(fd, "w", encoding="ascii") as f:
        os.fchmod(fd, 0o600)  # whatever the umask
        f.write(token + "\n")
    return token, True


def resolve_token(token: str | None, token_file: Path | None, default_file: Path) -> tuple[str, Path | None, bool]:
    """(token, the file it came from or None, whether it was generated just now)."""
    if token is not None:
        return check_token(token, "--token / GUIAGENT_TOKEN"), None, False
    if token_file is not None:
        return read_token_file(token_file), token_file, False
    value, generated = load_or_create(default_file)
    return value, default_file, generated


def session_value(token: str) -> str:
    """The browser cookie's value: proves the token was given without being the token."""
    return hmac.new(token.encode(), b"guiagent daemon browser session v1", hashlib.sha256).hexdigest()


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison of two secrets (as bytes)."""
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8", "replace"))
