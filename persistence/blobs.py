"""The `BlobStore` port: named byte blobs (assets, thumbnails, exports) kept outside SQL.

Two adapters, re-exported here: `LocalBlobStore` (a folder, the embedded default) and
`S3BlobStore` (any S3 endpoint; R2 in production). Keys are slash-separated paths such as
`projects/P/assets/<sha256>`; `check_key` refuses anything that could leave a folder.

`open` is a coroutine that returns the chunks: `async for chunk in await blobs.open(key)`. It
raises `BlobNotFound` before the first chunk, so an HTTP handler can answer 404 before it
starts a response.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from persistence.blob_base import (
    CHUNK_BYTES,
    BlobError,
    BlobNotFound,
    BlobStorageUnavailable,
    InvalidBlobKey,
    check_key,
    content_disposition,
)
from persistence.blobs_local import LocalBlobStore
from persistence.blobs_s3 import S3BlobStore


class BlobStore(Protocol):
    async def put(self, key: str, data: bytes | AsyncIterator[bytes], content_type: str) -> int:
        """Store `data` under `key`, replacing any blob there; return the bytes stored.

        Readers see the old blob or the whole new one, never a part. When an iterator raises,
        nothing is stored and the exception propagates.
        """
        ...

    async def open(self, key: str) -> AsyncIterator[bytes]:
        """The blob's chunks; raises `BlobNotFound` when there is none."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None:
        """Remove the blob; a missing one is not an error."""
        ...

    async def download_url(self, key: str, *, expires_seconds: int, filename: str) -> str | None:
        """A presigned URL the client may GET directly, or None when the server must stream."""
        ...

    async def check(self) -> None:
        """Raise `BlobStorageUnavailable` when the storage cannot be read and written."""
        ...

    async def listing(self) -> list[tuple[str, int]]:
        """Every stored blob as (key, size), sorted by key: what a backup records."""
        ...


async def read_all(blobs: BlobStore, key: str) -> bytes:
    """A whole blob in memory: only for blobs known to be small (thumbnails, manifests)."""
    return b"".join([chunk async for chunk in await blobs.open(key)])


__all__ = [
    "CHUNK_BYTES",
    "BlobError",
    "BlobNotFound",
    "BlobStorageUnavailable",
    "BlobStore",
    "InvalidBlobKey",
    "LocalBlobStore",
    "S3BlobStore",
    "check_key",
    "content_disposition",
    "read_all",
]
