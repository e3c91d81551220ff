"""One contract for every `BlobStore`: a folder, and S3 (a moto server subprocess)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from persistence.blobs import (
    BlobNotFound,
    BlobStorageUnavailable,
    BlobStore,
    InvalidBlobKey,
    LocalBlobStore,
    S3BlobStore,
    read_all,
)
from persistence.blobs_s3 import PART_BYTES
from tests.support.s3 import client, s3_store


@pytest.fixture(params=["local", "s3"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs")
    endpoint: str = request.getfixturevalue("s3_endpoint")
    return s3_store(endpoint)


async def _stream(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


class Boom(Exception):
    pass


async def _failing(first: bytes) -> AsyncIterator[bytes]:
    yield first
    raise Boom


def _leftovers(blobs: BlobStore) -> list[Any]:
    """Partial writes the store holds: temp files, or unfinished S3 multipart uploads."""
    if isinstance(blobs, LocalBlobStore):
        temp = blobs.root / ".tmp"
        return list(temp.iterdir()) if temp.exists() else []
    assert isinstance(blobs, S3BlobStore)
    answer = blobs._client.list_multipart_uploads(Bucket=blobs.bucket)
    return list(answer.get("Uploads", []))


async def test_blobs_put_then_open_returns_the_bytes(blobs: BlobStore) -> None:
    assert await blobs.put("projects/p/assets/a", b"hello", "text/plain") == 5
    assert await blobs.exists("projects/p/assets/a")
    assert await read_all(blobs, "projects/p/assets/a") == b"hello"


async def test_blobs_put_replaces_whole(blobs: BlobStore) -> None:
    await blobs.put("k", b"old content", "text/plain")
    await blobs.put("k", b"new", "text/plain")
    assert await read_all(blobs, "k") == b"new"


async def test_blobs_stream_in_many_parts_is_stored_whole(blobs: BlobStore) -> None:
    # Over two S3 parts, with chunk edges that do not fall on part edges.
    chunk = bytes(range(256)) * 4099
    chunks = [chunk] * (2 * PART_BYTES // len(chunk) + 3)
    size = await blobs.put("big", _stream(*chunks), "application/octet-stream")
    assert size == len(chunk) * len(chunks)
    got = b"".join([c async for c in await blobs.open("big")])
    assert got == b"".join(chunks)
    assert _leftovers(blobs) == []


async def test_blobs_small_and_empty_streams(blobs: BlobStore) -> None:
    assert await blobs.put("small", _stream(b"a", b"b"), "text/plain") == 2
    assert await read_all(blobs, "small") == b"ab"
    assert await blobs.put("empty", _stream(), "text/plain") == 0
    assert await read_all(blobs, "empty") == b""


async def test_blobs_failing_stream_stores_nothing(blobs: BlobStore) -> None:
    with pytest.raises(Boom):
        await blobs.put("small-fail", _failing(b"x" * 10), "text/plain")
    with pytest.raises(Boom):
        await blobs.put("big-fail", _failing(b"x" * (PART_BYTES + 1)), "text/plain")
    assert not await blobs.exists("small-fail")
    assert not await blobs.exists("big-fail")
    assert _leftovers(blobs) == []


async def test_blobs_failing_stream_keeps_the_old_blob(blobs: BlobStore) -> None:
    await blobs.put("kept", b"old", "text/plain")
    with pytest.raises(Boom):
        await blobs.put("kept", _failing(b"new"), "text/plain")
    assert await read_all(blobs, "kept") == b"old"


async def test_blobs_open_missing_raises_before_the_first_chunk(blobs: BlobStore) -> None:
    with pytest.raises(BlobNotFound):
        await blobs.open("projects/p/assets/missing")
    assert not await blobs.exists("projects/p/assets/missing")


async def test_blobs_delete_is_idempotent(blobs: BlobStore) -> None:
    await blobs.put("gone", b"x", "text/plain")
    await blobs.delete("gone")
    await blobs.delete("gone")
    assert not await blobs.exists("gone")
    with pytest.raises(BlobNotFound):
        await blobs.open("gone")


@pytest.mark.parametrize(
    "key",
    ["", "../x", "a/../b", "/abs", "a//b", ".hidden", "a/.tmp/b", "a\\b", "a/", "x" * 1100, "é"],
)
async def test_blobs_refuse_unsafe_keys(blobs: BlobStore, key: str) -> None:
    with pytest.raises(InvalidBlobKey):
        await blobs.put(key, b"x", "text/plain")
    with pytest.raises(InvalidBlobKey):
        await blobs.open(key)
    with pytest.raises(InvalidBlobKey):
        await blobs.delete(key)


async def test_blobs_check_passes(blobs: BlobStore) -> None:
    await blobs.check()


async def test_blobs_download_url_serves_the_bytes_or_is_none(blobs: BlobStore) -> None:
    await blobs.put("dl", b"payload", "application/pdf")
    url = await blobs.download_url("dl", expires_seconds=60, filename="Rapport été.pdf")
    if isinstance(blobs, LocalBlobStore):
        assert url is None  # the server streams it itself
        return
    assert url is not None
    async with httpx.AsyncClient() as http:
        answer = await http.get(url)
    assert answer.status_code == 200
    assert answer.content == b"payload"
    assert "attachment" in answer.headers["content-disposition"]


async def test_local_blobs_check_fails_when_the_folder_is_unusable(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    store = LocalBlobStore(tmp_path / "file")
    with pytest.raises(BlobStorageUnavailable):
        await store.check()
    with pytest.raises(BlobStorageUnavailable):
        await store.put("k", b"x", "text/plain")


async def test_s3_blobs_check_fails_without_the_bucket(s3_endpoint: str) -> None:
    store = S3BlobStore(client(s3_endpoint), "no-such-bucket")
    with pytest.raises(BlobStorageUnavailable):
        await store.check()


async def test_s3_blobs_unreachable_endpoint_is_unavailable() -> None:
    from tests.support.s3 import free_port

    store = S3BlobStore(client(f"http://127.0.0.1:{free_port()}"), "b")
    with pytest.raises(BlobStorageUnavailable):
        await store.check()
    with pytest.raises(BlobStorageUnavailable):
        await store.put("k", b"x", "text/plain")


async def test_blobs_listing_names_every_blob_with_its_size(blobs: BlobStore) -> None:
    assert await blobs.listing() == []
    await blobs.put("projects/p1/assets/b", b"12345", "application/octet-stream")
    await blobs.put("exports/p1/a.zip", b"xy", "application/zip")
    with contextlib.suppress(Boom):
        await blobs.put("projects/p1/assets/c", _failing(b"half"), "application/octet-stream")
    # Sorted by key; a failed write is not there.
    assert await blobs.listing() == [("exports/p1/a.zip", 2), ("projects/p1/assets/b", 5)]
