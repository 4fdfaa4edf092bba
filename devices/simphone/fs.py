"""A tiny in-memory file system: enough for `uiautomator dump FILE` + `cat`/`sync` pull, `rm`,
`ls`, shell redirections and `adb push`."""

from __future__ import annotations

import posixpath
import stat
import threading
import time
from dataclasses import dataclass


@dataclass
class FileEntry:
    data: bytes
    mode: int
    mtime: int


DEFAULT_DIRS = (
    "/", "/sdcard", "/sdcard/Download", "/sdcard/Pictures", "/storage", "/storage/emulated",
    "/storage/emulated/0", "/data", "/data/local", "/data/local/tmp", "/system", "/system/bin",
    "/dev", "/proc", "/vendor",
)


class FsError(Exception):
    """errno-like failure; the message is what a toybox tool would print after its name."""


class VirtualFs:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        now = int(time.time())
        self._dirs: dict[str, int] = {d: now for d in DEFAULT_DIRS}
        self._files: dict[str, FileEntry] = {}

    @staticmethod
    def norm(path: str, cwd: str = "/") -> str:
        path = posixpath.normpath(posixpath.join(cwd, path))
        if path.startswith("//"):
            path = path[1:]
        # /sdcard is a symlink to /storage/emulated/0 on real devices; keep one spelling
        if path == "/storage/emulated/0" or path.startswith("/storage/emulated/0/"):
            path = "/sdcard" + path[len("/storage/emulated/0"):]
        return path

    def is_dir(self, path: str) -> bool:
        return self.norm(path) in self._dirs

    def exists(self, path: str) -> bool:
        p = self.norm(path)
        return p in self._dirs or p in self._files

    def read(self, path: str) -> bytes:
        p = self.norm(path)
        with self._lock:
            if p in self._dirs:
                raise FsError(f"{path}: Is a directory")
            if p not in self._files:
                raise FsError(f"{path}: No such file or directory")
            return self._files[p].data

    def write(self, path: str, data: bytes, append: bool = False, mode: int = 0o644) -> None:
        p = self.norm(path)
        parent = posixpath.dirname(p)
        with self._lock:
            if p in self._dirs:
                raise FsError(f"{path}: Is a directory")
            if parent not in self._dirs:
                raise FsError(f"{path}: No such file or directory")
            old = self._files.get(p)
            if append and old is not None:
                data = old.data + data
            self._files[p] = FileEntry(data, stat.S_IFREG | (mode & 0o7777), int(time.time()))

    def remove(self, path: str, recursive: bool = False) -> None:
        p = self.norm(path)
        with self._lock:
            if p in self._files:
                del self._files[p]
                return
            if p in self._dirs:
                if not recursive:
                    raise FsError(f"{path}: Is a directory")
                prefix = p.rstrip("/") + "/"
                for f in [f for f in self._files if f.startswith(prefix)]:
                    del self._files[f]
                for d in [d for d in self._dirs if d.startswith(prefix) or d == p]:
                    if d not in DEFAULT_DIRS:
                        del self._dirs[d]
                return
            raise FsError(f"{path}: No such file or directory")

    def mkdir(self, path: str, parents: bool = False) -> None:
        p = self.norm(path)
        with self._lock:
            if p in self._dirs:
                if parents:
                    return
                raise FsError(f"{path}: File exists")
            parent = posixpath.dirname(p)
            if parent not in self._dirs and not parents:
                raise FsError(f"{path}: No such file or directory")
            now = int(time.time())
            while p not in self._dirs:
                self._dirs[p] = now
                p = posixpath.dirname(p)

    def stat(self, path: str) -> tuple[int, int, int] | None:
        """(mode, size, mtime) or None when missing."""
        p = self.norm(path)
        with self._lock:
            if p in self._dirs:
                return stat.S_IFDIR | 0o771, 4096, self._dirs[p]
            f = self._files.get(p)
            return (f.mode, len(f.data), f.mtime) if f else None

    def listdir(self, path: str) -> list[str]:
        p = self.norm(path)
        with self._lock:
            if p not in self._dirs:
                raise FsError(f"{path}: No such file or directory")
            prefix = p.rstrip("/") + "/"
            names = {x[len(prefix):].split("/")[0] for x in list(self._dirs) + list(self._files)
                     if x.startswith(prefix) and x != p}
        return sorted(names)
