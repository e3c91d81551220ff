"""Receiving one uploaded asset: stream it to a spool while counting and hashing, decide what it
is from its bytes, check images, then store it content-addressed.

Everything that can refuse an upload (size, type, a corrupt or oversized image) runs before
anything is stored, so a refused upload leaves no blob and no row. The spool is a temporary
file (in memory up to 1 MiB): the key is the SHA-256 of the content, known only at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

import structlog
from starlette.requests import ClientDisconnect, Request

from persistence.assets import Asset, AssetStore, new_asset_id
from persistence.blobs import CHUNK_BYTES, BlobError, BlobStore
from server.http_auth import HttpError
from server.multipart import MultipartFile
from workers.asset_inspection import (
    ALLOWED_TYPES,
    IMAGE_TYPES,
    SNIFF_BYTES,
    SVG,
    ImageRejected,
    inspect_image,
    sniff,
)

log = structlog.get_logger(__name__)

MULTIPART_OVERHEAD = 64 * 1024  # boundaries, part headers and small fields around the file
_SPOOL_IN_MEMORY = 1024 * 1024
_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class UploadLimits:
    max_bytes: int
    max_pixels: int


@dataclass(slots=True)
class Received:
    filename: str
    size: int
    sha256: str
    head: bytes
    spool: IO[bytes]


def asset_key(project_id: str, sha256: str) -> str:
    return f"projects/{project_id}/assets/{sha256}"


def thumbnail_key(project_id: str, sha256: str) -> str:
    return f"projects/{project_id}/thumbnails/{sha256}.png"


def clean_filename(raw: str) -> str:
    """The last path segment, without control characters, at most 255 characters."""
    name = _UNSAFE.sub("", raw.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    return name[:255] or "upload"


def _too_large(limit: int) -> HttpError:
    return HttpError(413, f"the file is over {limit} bytes", code="too_large")


async def receive(request: Request, limits: UploadLimits) -> Received:
    """The file part spooled, counted and hashed; 413 as soon as it passes the limit."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limits.max_bytes + MULTIPART_OVERHEAD:
        raise _too_large(limits.max_bytes)  # refused before a byte of it is read
    reader = MultipartFile(request.headers.get("content-type", ""), request.stream())
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115 - returned
    digest = hashlib.sha256()
    head = b""
    size = 0
    try:
        filename = clean_filename(await reader.next_file())
        async with contextlib.aclosing(reader.data()) as chunks:
            async for chunk in chunks:
                size += len(chunk)
                if size > limits.max_bytes:
                    raise _too_large(limits.max_bytes)  # the rest is never read
                digest.update(chunk)
                if len(head) < SNIFF_BYTES:
                    head = (head + chunk)[:SNIFF_BYTES]
                await asyncio.to_thread(spool.write, chunk)
        await reader.finish()
    except ClientDisconnect:
        spool.close()
        raise HttpError(400, "the client went away during the upload") from None
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return Received(filename, size, digest.hexdigest(), head, spool)


def content_type_of(received: Received) -> str:
    """The sniffed type, or 415 (SVG has its own message: it is refused on purpose)."""
    if received.size == 0:
        raise HttpError(422, "the file is empty", code="empty_file")
    found = sniff(received.head)
    if found == SVG:
        raise HttpError(
            415,
            "SVG files are refused: they can carry scripts and are not sanitised; "
            "upload a PNG or WebP instead",
            code="unsupported_media_type",
        )
    if found is None or found not in ALLOWED_TYPES:
        raise HttpError(
            415,
            "the file is not a JPEG, PNG, GIF, WebP, MP3, WAV, Ogg, WebM audio or PDF "
            "(the type is read from the content, not the name)",
            code="unsupported_media_type",
        )
    return found


async def _spooled_chunks(spool: IO[bytes]) -> AsyncIterator[bytes]:
    await asyncio.to_thread(spool.seek, 0)
    while chunk := await asyncio.to_thread(spool.read, CHUNK_BYTES):
        yield chunk


async def store(
    received: Received,
    *,
    project_id: str,
    user_id: str,
    blobs: BlobStore,
    assets: AssetStore,
    limits: UploadLimits,
    decoding: asyncio.Semaphore,
) -> tuple[Asset, bool]:
    """The asset row, and whether it is new (False: the same content was there already)."""
    content_type = content_type_of(received)
    key = asset_key(project_id, received.sha256)
    existing = await assets.by_key(project_id, key)
    if existing is not None:
        return existing, False
    metadata: dict[str, Any] = {}
    thumbnail: bytes | None = None
    if content_type in IMAGE_TYPES:
        try:
            # A decoded image may take 4 bytes a pixel: bound how many are held at once.
            async with decoding:
                info = await asyncio.to_thread(
                    inspect_image, received.spool, content_type, max_pixels=limits.max_pixels
                )
        except ImageRejected as exc:
            raise HttpError(422, str(exc), code="invalid_image") from exc
        thumbnail = info.thumbnail_png
        metadata = {
            "width": info.width,
            "height": info.height,
            "thumbnail_key": thumbnail_key(project_id, received.sha256),
        }
    written: list[str] = []
    try:
        # A blob without a row is left by a crash or a concurrent upload of the same bytes:
        # its content is the same by construction, so it is reused.
        if not await blobs.exists(key):
            await blobs.put(key, _spooled_chunks(received.spool), content_type)
            written.append(key)
        if thumbnail is not None:
            await blobs.put(metadata["thumbnail_key"], thumbnail, "image/png")
            written.append(metadata["thumbnail_key"])
        row = Asset(
            project_id=project_id,
            id=new_asset_id(),
            filename=received.filename,
            content_type=content_type,
            size=received.size,
            key=key,
            blob_hash=received.sha256,
            metadata=metadata,
            uploaded_by=user_id,
            created_at=datetime.now(UTC),
        )
        asset, created = await assets.add(row)
    except BaseException:
        await asyncio.shield(_forget(blobs, written))
        raise
    log.info(
        "asset_uploaded",
        project_id=project_id,
        asset_id=asset.id,
        content_type=content_type,
        bytes=received.size,
        created=created,
    )
    return asset, created


async def _forget(blobs: BlobStore, keys: list[str]) -> None:
    for key in keys:
        try:
            await blobs.delete(key)
        except BlobError as exc:  # the storage failing is likely why we are here
            log.warning("asset_blob_orphaned", key=key, error=str(exc))
