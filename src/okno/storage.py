"""Where attachment bytes live. The file system implementation writes, fsyncs and renames
before the database transaction that refers to the file commits, so a committed row always
has its file; a file whose row never committed is an orphan that the sweeper removes.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol

from okno.errors import TooLarge

CHUNK = 256 * 1024
HEAD_BYTES = 64


@dataclass(frozen=True)
class StoredFile:
    key: str
    size: int
    sha256: str
    head: bytes  # the first bytes, to recognise the real type of the content


class Storage(Protocol):
    def put(self, stream: BinaryIO, *, max_bytes: int) -> StoredFile: ...

    def path(self, key: str) -> Path: ...

    def delete(self, key: str) -> None: ...

    def keys_older_than(self, instant: datetime) -> Iterator[str]: ...


class FileStorage:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def _final_path(self, key: str) -> Path:
        if not key.isalnum() or len(key) < 20:
            raise ValueError("malformed storage key")
        return self.root / key[:2] / key

    def path(self, key: str) -> Path:
        return self._final_path(key)

    def put(self, stream: BinaryIO, *, max_bytes: int) -> StoredFile:
        key = secrets.token_hex(20)
        final = self._final_path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        partial = final.with_suffix(".partial")
        digest = hashlib.sha256()
        size = 0
        head = b""
        try:
            with partial.open("wb") as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLarge(
                            f"The file is larger than the limit of {max_bytes} bytes.",
                            details=[{"field": "file", "reason": f"over {max_bytes} bytes"}],
                        )
                    if len(head) < HEAD_BYTES:
                        head += chunk[: HEAD_BYTES - len(head)]
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, final)
            _fsync_dir(final.parent)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return StoredFile(key=key, size=size, sha256=digest.hexdigest(), head=head)

    def delete(self, key: str) -> None:
        self._final_path(key).unlink(missing_ok=True)

    def keys_older_than(self, instant: datetime) -> Iterator[str]:
        cutoff = instant.timestamp()
        for path in self.root.glob("??/*"):
            if path.is_file() and path.stat().st_mtime < cutoff:
                if path.suffix == ".partial":
                    path.unlink(missing_ok=True)  # left by a killed process
                    continue
                yield path.name


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def modified_at(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)
