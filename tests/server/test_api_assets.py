"""Assets over REST against real storage: a folder, and S3 (moto's server as a subprocess)."""

from __future__ import annotations

import contextlib
import io
import os
import struct
import zlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from PIL import Image

from persistence.blobs import BlobStore, LocalBlobStore, S3BlobStore
from persistence.identity import ProjectRole
from tests.support.live_server import LiveServer, live_server
from tests.support.s3 import s3_store
from tests.support.tokens import make_token, seed_project

ENV = {
    "STORYARN_ENV": "test",
    "STORYARN_API_RATE_PER_ADDRESS": "0",
    "STORYARN_API_RATE_PER_USER": "0",
}
MEMBERS = {"ow": ProjectRole.OWNER, "ed": ProjectRole.EDITOR, "vi": ProjectRole.VIEWER}
BASE = "/api/v1/projects/p1/assets"
MiB = 1024 * 1024


def auth(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(user)}"}


@contextlib.asynccontextmanager
async def server(blobs: BlobStore | None = None) -> AsyncIterator[tuple[LiveServer, Any]]:
    async with (
        live_server(ENV, blobs=blobs) as srv,
        httpx.AsyncClient(base_url=srv.base_url, timeout=60) as http,
    ):
        await seed_project(srv, "p1", MEMBERS)
        await seed_project(srv, "p2", {"out": ProjectRole.OWNER})
        yield srv, http


def image_bytes(fmt: str, size: tuple[int, int] = (640, 480)) -> bytes:
    # Noise: it does not compress, so a cut anywhere past the header truncates pixel data.
    image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def pixel_bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny, valid-looking PNG whose header claims a vast canvas."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + chunk(b"IEND", b"")
    )


async def upload(
    http: httpx.AsyncClient,
    content: bytes,
    filename: str = "file.bin",
    declared: str = "application/octet-stream",
    user: str = "ed",
    project: str = "p1",
) -> httpx.Response:
    return await http.post(
        f"/api/v1/projects/{project}/assets",
        files={"file": (filename, content, declared)},
        headers=auth(user),
    )


def stored_keys(srv: LiveServer) -> list[str]:
    blobs = srv.services.blobs
    if isinstance(blobs, LocalBlobStore):
        if not blobs.root.exists():
            return []
        return sorted(str(p.relative_to(blobs.root)) for p in blobs.root.rglob("*") if p.is_file())
    assert isinstance(blobs, S3BlobStore)
    answer = blobs._client.list_objects_v2(Bucket=blobs.bucket)
    return sorted(item["Key"] for item in answer.get("Contents", []))


async def assert_nothing_stored(srv: LiveServer, http: httpx.AsyncClient) -> None:
    assert stored_keys(srv) == []
    listing = await http.get(BASE, headers=auth("ed"))
    assert listing.status_code == 200
    assert listing.json()["items"] == []


@pytest.fixture(params=["local", "s3"])
def blob_store(request: pytest.FixtureRequest) -> BlobStore | None:
    if request.param == "local":
        return None  # the server's own default: STORYARN_DATA_DIR/blobs
    endpoint: str = request.getfixturevalue("s3_endpoint")
    return s3_store(endpoint)


async def test_assets_image_upload_read_list_and_delete(blob_store: BlobStore | None) -> None:
    png = image_bytes("PNG")
    async with server(blob_store) as (srv, http):
        created = await upload(http, png, "map.png", "image/png")
        assert created.status_code == 201, created.text
        asset = created.json()
        assert asset["content_type"] == "image/png"
        assert asset["size"] == len(png)
        assert asset["metadata"] == {"width": 640, "height": 480}
        assert asset["filename"] == "map.png"
        assert asset["uploaded_by"] == "ed"
        sha = asset["sha256"]
        assert stored_keys(srv) == [
            f"projects/p1/assets/{sha}",
            f"projects/p1/thumbnails/{sha}.png",
        ]

        got = await http.get(f"{BASE}/{asset['id']}", headers=auth("vi"))
        assert got.json() == asset

        content = await http.get(asset["content_url"], headers=auth("vi"))
        if isinstance(blob_store, S3BlobStore):
            assert content.status_code == 302
            assert content.headers["cache-control"] == "no-store"
            async with httpx.AsyncClient() as outside:  # the presigned URL needs no token
                content = await outside.get(content.headers["location"])
        assert content.status_code == 200
        assert content.content == png
        if not isinstance(blob_store, S3BlobStore):
            head = await http.head(asset["content_url"], headers=auth("vi"))
            assert head.status_code == 200
            assert head.headers["content-length"] == str(len(png))
            assert head.headers["content-type"] == "image/png"
        assert "attachment" in content.headers["content-disposition"]

        thumb = await http.get(asset["thumbnail_url"], headers=auth("vi"), follow_redirects=True)
        assert thumb.status_code == 200
        with Image.open(io.BytesIO(thumb.content)) as image:
            assert image.format == "PNG"
            assert image.size == (200, 150)

        await upload(http, b"%PDF-1.7\n%fake but sniffed\n", "notes.pdf", "application/pdf")
        images = await http.get(BASE, params={"content_type": "image/*"}, headers=auth("vi"))
        assert [a["id"] for a in images.json()["items"]] == [asset["id"]]
        pdfs = await http.get(BASE, params={"content_type": "application/pdf"}, headers=auth("vi"))
        assert [a["content_type"] for a in pdfs.json()["items"]] == ["application/pdf"]
        page = await http.get(BASE, params={"limit": 1}, headers=auth("vi"))
        assert page.json()["items"][0]["id"] == asset["id"]  # upload order
        rest = await http.get(
            BASE, params={"limit": 1, "cursor": page.json()["next_cursor"]}, headers=auth("vi")
        )
        assert rest.json()["items"][0]["content_type"] == "application/pdf"
        assert rest.json()["next_cursor"] is None

        deleted = await http.delete(f"{BASE}/{asset['id']}", headers=auth("ed"))
        assert deleted.status_code == 204
        assert not any(sha in key for key in stored_keys(srv))
        assert (await http.get(asset["content_url"], headers=auth("vi"))).status_code == 404
        assert (await http.delete(f"{BASE}/{asset['id']}", headers=auth("ed"))).status_code == 404


async def test_assets_same_content_twice_is_stored_once() -> None:
    jpeg = image_bytes("JPEG")
    async with server() as (srv, http):
        first = await upload(http, jpeg, "a.jpg", "image/jpeg")
        second = await upload(http, jpeg, "copy of a.jpeg", "image/jpeg", user="ow")
        assert first.status_code == 201
        assert second.status_code == 200
        assert second.json()["id"] == first.json()["id"]
        assert len(stored_keys(srv)) == 2  # the file and its thumbnail, once
        listing = await http.get(BASE, headers=auth("ed"))
        assert len(listing.json()["items"]) == 1


async def test_assets_type_comes_from_the_content_not_the_name() -> None:
    async with server() as (srv, http):
        pdf = await upload(http, b"%PDF-1.4\n1 0 obj\n", "picture.png", "image/png")
        assert pdf.status_code == 201
        assert pdf.json()["content_type"] == "application/pdf"
        assert pdf.json()["metadata"] == {}
        script = await upload(http, b"<script>alert(1)</script>", "evil.png", "image/png")
        assert script.status_code == 415
        assert script.json()["error"]["code"] == "unsupported_media_type"
        assert len(stored_keys(srv)) == 1


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        pytest.param(b"<svg xmlns='http://www.w3.org/2000/svg'/>", 415, "unsupported_media_type",
                     id="svg"),
        pytest.param(b'<?xml version="1.0"?>\n<svg/>', 415, "unsupported_media_type",
                     id="svg-xml"),
        pytest.param(b"MZ\x90\x00 an executable", 415, "unsupported_media_type", id="exe"),
        pytest.param(b"", 422, "empty_file", id="empty"),
        pytest.param(pixel_bomb_png(), 422, "invalid_image", id="pixel-bomb"),
        # Over our limit (50 Mpx) but under Pillow's own guard: our check refuses it.
        pytest.param(pixel_bomb_png(10_000, 6_000), 422, "invalid_image", id="pixel-bomb-ours"),
        pytest.param(truncated(image_bytes("PNG")), 422, "invalid_image", id="truncated-png"),
        pytest.param(truncated(image_bytes("JPEG")), 422, "invalid_image", id="truncated-jpeg"),
        pytest.param(truncated(image_bytes("WEBP")), 422, "invalid_image", id="truncated-webp"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, 422, "invalid_image", id="fake-png"),
    ],
)  # fmt: skip
async def test_assets_hostile_upload_is_refused_and_leaves_nothing(
    content: bytes, status: int, code: str
) -> None:
    async with server() as (srv, http):
        answer = await upload(http, content, "x.png", "image/png")
        assert answer.status_code == status, answer.text
        assert answer.json()["error"]["code"] == code
        assert answer.json()["error"]["message"]
        await assert_nothing_stored(srv, http)


async def test_assets_over_the_limit_is_413_with_nothing_stored(
    blob_store: BlobStore | None,
) -> None:
    big = b"\x89PNG\r\n\x1a\n" + b"\x00" * (51 * MiB)
    async with server(blob_store) as (srv, http):
        # With a Content-Length: refused before the body is read.
        declared = await upload(http, big, "big.png", "image/png")
        assert declared.status_code == 413
        assert declared.json()["error"]["code"] == "too_large"

        # Chunked, so the size is only known while it streams: cut off at the limit.
        boundary = "x-boundary-7d1"

        async def body() -> AsyncIterator[bytes]:
            yield (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                'filename="big.png"\r\nContent-Type: image/png\r\n\r\n'
            ).encode()
            for start in range(0, len(big), MiB):
                yield big[start : start + MiB]
            yield f"\r\n--{boundary}--\r\n".encode()

        streamed = await http.post(
            BASE,
            content=body(),
            headers=auth("ed") | {"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        assert streamed.status_code == 413
        await assert_nothing_stored(srv, http)


async def test_assets_malformed_multipart_is_400() -> None:
    async with server() as (srv, http):
        headers = auth("ed")
        not_multipart = await http.post(BASE, content=b"raw", headers=headers)
        assert not_multipart.status_code == 415
        cut = await http.post(
            BASE,
            content=b'--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\n%PDF',
            headers=headers | {"Content-Type": "multipart/form-data; boundary=b"},
        )
        assert cut.status_code == 400
        assert cut.json()["error"]["code"] == "bad_multipart"
        no_file = await http.post(
            BASE,
            headers=headers | {"Content-Type": "multipart/form-data; boundary=b"},
            content=b'--b\r\nContent-Disposition: form-data; name="x"\r\n\r\nhello\r\n--b--\r\n',
        )
        assert no_file.status_code == 422
        await assert_nothing_stored(srv, http)


async def test_assets_refuse_non_members_and_viewers_on_write() -> None:
    async with server() as (srv, http):
        made = await upload(http, b"%PDF-1.4\n", "a.pdf")
        asset_id = made.json()["id"]
        assert (await upload(http, b"%PDF-1.5\n", user="vi")).status_code == 403
        assert (await upload(http, b"%PDF-1.5\n", user="out")).status_code == 403
        for path in (BASE, f"{BASE}/{asset_id}", f"{BASE}/{asset_id}/content"):
            refused = await http.get(path, headers=auth("out"))
            assert refused.status_code == 403, path
            assert refused.json()["error"]["code"] == "not_a_member"
            assert (await http.get(path)).status_code == 401
        viewer_delete = await http.delete(f"{BASE}/{asset_id}", headers=auth("vi"))
        assert viewer_delete.status_code == 403
        assert viewer_delete.json()["error"]["code"] == "read_only"
        # Another project's member cannot reach it through their own project either.
        other = await http.get(f"/api/v1/projects/p2/assets/{asset_id}", headers=auth("out"))
        assert other.status_code == 404
        assert len(stored_keys(srv)) == 1


async def test_assets_health_reports_storage(s3_endpoint: str) -> None:
    store = s3_store(s3_endpoint)
    async with server(store) as (_srv, http):
        ok = await http.get("/health")
        assert ok.json()["checks"]["storage"] == {"status": "ok"}
        store._client.delete_bucket(Bucket=store.bucket)
        down = await http.get("/health")
        assert down.status_code == 503
        assert down.json()["checks"]["storage"]["status"] == "error"


async def test_assets_storage_outage_is_503_and_stores_nothing(s3_endpoint: str) -> None:
    store = s3_store(s3_endpoint)
    async with server(store) as (_srv, http):
        store._client.delete_bucket(Bucket=store.bucket)
        answer = await upload(http, image_bytes("PNG", (64, 64)), "a.png")
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "1"
        listing = await http.get(BASE, headers=auth("ed"))
        assert listing.json()["items"] == []
