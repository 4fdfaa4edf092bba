"""Searching bytes for a secret in every encoding a program might write it in: raw, JSON-escaped,
URL-encoded, UTF-16, and base64 (standard and URL-safe) at each of the three alignments a value
can have inside longer encoded text; plus the decoded content of every base64-looking run."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus


def needles(secret: str) -> dict[str, bytes]:
    """Every encoding of `secret` searched for, by name."""
    raw = secret.encode()
    out = {"raw": raw, "json": json.dumps(secret)[1:-1].encode(), "url": quote(secret, safe="").encode(),
           "url+": quote_plus(secret).encode(), "utf16": secret.encode("utf-16-le")}
    for k in range(3):  # base64 of the value inside longer text: the characters that depend on it only
        padded = b"\0" * k + raw
        enc = base64.b64encode(padded)
        start = 4 if k else 0
        end = (len(padded) // 3) * 4
        out[f"base64@{k}"] = enc[start:end]
        out[f"base64url@{k}"] = base64.urlsafe_b64encode(padded)[start:end]
    return out


B64_BLOB = re.compile(rb"[A-Za-z0-9+/_-]{16,}={0,2}")


def decoded_blobs(data: bytes) -> Iterator[bytes]:
    """The decoded content of base64-looking runs (frames inlined in API answers, tokens...)."""
    for m in B64_BLOB.finditer(data):
        blob = m.group()
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                yield decode(blob + b"=" * (-len(blob) % 4))
            except (binascii.Error, ValueError):
                pass


def find_secret(name: str, data: bytes, secret: str) -> list[str]:
    hits = [f"{name}: {how}" for how, needle in needles(secret).items() if needle in data]
    raw = secret.encode()
    if any(raw in blob for blob in decoded_blobs(data)):
        hits.append(f"{name}: inside a base64 blob")
    return hits


class Written:
    """Everything the processes under test wrote or said: files under roots, captured streams."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.roots: list[Path] = []
        self.texts: dict[str, bytes] = {}

    def add(self, name: str, data: str | bytes) -> None:
        self.texts[f"{name}#{len(self.texts)}"] = data.encode() if isinstance(data, str) else data

    def blobs(self) -> Iterator[tuple[str, bytes]]:
        yield from self.texts.items()
        for root in self.roots:
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    data = path.read_bytes()
                    yield str(path), data
                    if path.suffix == ".parquet":  # compressed columns: search the decoded rows
                        import pyarrow.parquet as pq

                        yield f"{path} (rows)", json.dumps(pq.read_table(path).to_pylist(), default=str).encode()

    def assert_clean(self) -> int:
        """No encoding of the secret anywhere; returns how many files and streams were searched."""
        hits: list[str] = []
        n = 0
        for name, data in self.blobs():
            n += 1
            hits += find_secret(name, data, self.secret)
        assert not hits, "the secret was written:\n" + "\n".join(hits)
        assert n > 0
        return n
