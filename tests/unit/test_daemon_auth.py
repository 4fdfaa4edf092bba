"""The daemon's token files and the parsing behind its Host/Origin checks, on real files.
(The refusals over HTTP are in tests/e2e/test_daemon_owner.py.)"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from guiagent.daemon import auth
from guiagent.daemon.config import DaemonConfig
from guiagent.daemon.gate import _split_origin, host_name, is_wildcard, split_host
from guiagent.schema.errors import ConfigError


def test_a_generated_token_file_is_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)  # the most permissive umask: the file must still be 0600
    try:
        token, generated = auth.load_or_create(tmp_path / "state" / "q.token")
    finally:
        os.umask(old)
    assert generated and len(token) >= 40
    assert stat.S_IMODE((tmp_path / "state" / "q.token").stat().st_mode) == 0o600
    assert auth.load_or_create(tmp_path / "state" / "q.token") == (token, False)  # reused, not regenerated


def test_token_files_others_can_read_or_weak_tokens_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "t"
    path.write_text("a-token-long-enough-for-a-fleet\n")
    for mode in (0o640, 0o604, 0o620):
        path.chmod(mode)
        with pytest.raises(ConfigError, match=f"chmod 600 {path}"):
            auth.read_token_file(path)
    path.chmod(0o400)
    assert auth.read_token_file(path) == "a-token-long-enough-for-a-fleet"
    weak = tmp_path / "weak"
    weak.write_text("short\n")
    weak.chmod(0o600)
    with pytest.raises(ConfigError, match="at least 16"):
        auth.read_token_file(weak)
    with pytest.raises(ConfigError, match="not a regular file"):
        auth.read_token_file(tmp_path)
    with pytest.raises(ConfigError, match="at least 16"):
        auth.resolve_token("has a space in it, long enough", None, tmp_path / "unused")


def test_the_session_cookie_is_not_the_token() -> None:
    token = "a-token-long-enough-for-a-fleet"
    cookie = auth.session_value(token)
    assert token not in cookie and cookie == auth.session_value(token) != auth.session_value(token + "x")
    assert auth.same_secret(cookie, auth.session_value(token)) and not auth.same_secret("", cookie)


def test_host_and_origin_parsing() -> None:
    assert split_host("LocalHost:8765") == ("localhost", 8765)
    assert split_host("[::1]:80") == ("::1", 80) and split_host("[::1]") == ("::1", None)
    assert split_host("localhost.") == ("localhost", None)
    for bad in ("", ":80", "::1", "[::1", "host:port", "host:99999999", "a:1:2"):
        assert split_host(bad) is None, bad
    assert _split_origin("http://127.0.0.1:8765") == ("127.0.0.1", 8765, "http")
    assert _split_origin("https://Phones.Example") == ("phones.example", 443, "https")
    for bad in ("null", "file://", "chrome-extension://abc", "http://a/b", "http://a:x"):
        assert _split_origin(bad) is None, bad
    assert host_name("[::1]") == "::1" and host_name("Box.Lan.") == "box.lan"
    for bad in ("http://box", "box:8765", "a b", ""):
        with pytest.raises(ConfigError):
            host_name(bad)
    assert is_wildcard("0.0.0.0") and is_wildcard("::") and not is_wildcard("127.0.0.1")


def test_the_config_serves_loopback_its_address_and_the_allowed_names(tmp_path: Path) -> None:
    config = DaemonConfig(db=tmp_path / "q.db", host="192.168.1.5", allow_hosts=("phones.lan",))
    assert config.allowed_hosts == {"127.0.0.1", "localhost", "::1", "192.168.1.5", "phones.lan"}
    assert config.default_token_file == tmp_path / "q.token"
    with pytest.raises(ConfigError, match="--max-body"):
        DaemonConfig(db=tmp_path / "q.db", max_body=10)
