"""`LocalBlobStore`: blobs as files under one folder (`STORYARN_DATA_DIR/blobs` by default).

A blob is written to a temporary file in the same folder tree and renamed into place, so a
reader or a crash sees the old blob or the whole new one. File I/O runs in threads to keep the
event loop free.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from persistence.blob_base import (
    CHUNK_BYTES,
    BlobNotFound,
    BlobStorageUnavailable,
    check_key,
)

_TEMP_DIR = ".tmp"  # a name no key can take: no key segment starts with a dot


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._temp = self.root / _TEMP_DIR

    def path(self, key: str) -> Path:
        """Where a key's file lives; `InvalidBlobKey` when it would leave the root."""
        path = (self.root / check_key(key)).resolve()
        if not path.is_relative_to(self.root):  # belt and braces: a symlink in the tree
            raise BlobStorageUnavailable(f"blob path escapes the store: {key[:80]!r}")
        return path

    def _new_temp(self) -> tuple[Path, BinaryIO]:
        self._temp.mkdir(parents=True, exist_ok=True)
        temp = self._temp / f"{secrets.token_hex(12)}.part"
        return temp, temp.open("xb")

    @staticmethod
    def _commit(temp: Path, handle: BinaryIO, target: Path) -> None:
        handle.flush()
        os.fsync(handle.fileno())
        handle.close()
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, target)

    async def put(self, key: str, data: bytes | AsyncIterator[bytes], content_type: str) -> int:
        target = self.path(key)
        try:
            temp, handle = await asyncio.to_thread(self._new_temp)
        except OSError as exc:
            raise BlobStorageUnavailable(str(exc)) from exc
        size = 0
        try:
            if isinstance(data, bytes):
                size = await asyncio.to_thread(handle.write, data)
            else:
                async for chunk in data:
                    size += await asyncio.to_thread(handle.write, chunk)
            await asyncio.to_thread(self._commit, temp, handle, target)
        except OSError as exc:
            raise BlobStorageUnavailable(str(exc)) from exc
        finally:
            # After a successful rename the temp path is gone; otherwise this removes the part.
            handle.close()
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
        return size

    async def open(self, key: str) -> AsyncIterator[bytes]:
        path = self.path(key)
        try:
            handle = await asyncio.to_thread(path.open, "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise BlobNotFound(key) from exc
        except OSError as exc:
            raise BlobStorageUnavailable(str(exc)) from exc
        return _chunks(handle)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path(key).is_file)

    async def delete(self, key: str) -> None:
        path = self.path(key)
        try:
            await asyncio.to_thread(path.unlink, missing_ok=True)
        except OSError as exc:
            raise BlobStorageUnavailable(str(exc)) from exc

    async def listing(self) -> list[tuple[str, int]]:
        def walk() -> list[tuple[str, int]]:
            if not self.root.is_dir():
                return []
            found = []
            for path in self.root.rglob("*"):
                relative = path.relative_to(self.root)
                if relative.parts[0] == _TEMP_DIR or not path.is_file():
                    continue
                found.append((relative.as_posix(), path.stat().st_size))
            return sorted(found)

        try:
            return await asyncio.to_thread(walk)
        except OSError as exc:
            raise BlobStorageUnavailable(str(exc)) from exc

    async def download_url(self, key: str, *, expires_seconds: int, filename: str) -> str | None:
        self.path(key)  # the same key check as every other call
        return None  # nothing serves this folder but the server itself

    async def check(self) -> None:
        def probe() -> None:
            temp, handle = self._new_temp()
            try:
                handle.write(b"ok")
            finally:
                handle.close()
                temp.unlink()

        try:
            await asyncio.to_thread(probe)
        except OSError as exc:
            raise BlobStorageUnavailable(f"{self.root}: {exc}") from exc


async def _chunks(handle: BinaryIO) -> AsyncIterator[bytes]:
    # The handle is opened eagerly (so BlobNotFound comes before the first chunk) and closed
    # here, when the reader finishes or abandons the iterator.
    try:
        while chunk := await asyncio.to_thread(handle.read, CHUNK_BYTES):
            yield chunk
    finally:
        handle.close()
