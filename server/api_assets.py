"""Project assets: upload, list, read, download and delete (docs/api.md#assets).

POST   /api/v1/projects/{project_id}/assets                         upload (multipart, editors)
GET    /api/v1/projects/{project_id}/assets                         list, paged, by upload order
GET    /api/v1/projects/{project_id}/assets/{asset_id}              metadata
GET    /api/v1/projects/{project_id}/assets/{asset_id}/content      the bytes (or 302 to S3)
GET    /api/v1/projects/{project_id}/assets/{asset_id}/thumbnail    images: a 200 px PNG
DELETE /api/v1/projects/{project_id}/assets/{asset_id}              delete (editors)

Reading is authorised by membership on every request: a local store streams through the
server; S3 answers a 302 to a presigned URL that expires after `STORYARN_BLOB_URL_TTL_SECONDS`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse

from persistence.assets import Asset, AssetStore
from persistence.blobs import BlobError, BlobStore, content_disposition
from server import asset_upload
from server.api_models import page_of, ref
from server.api_pagination import DEFAULT_LIMIT, MAX_LIMIT
from server.api_registry import Api, Auth, Call, Endpoint
from server.api_schema import rule
from server.asset_upload import UploadLimits
from server.http_auth import HttpError

log = structlog.get_logger(__name__)

IMAGES_DECODED_AT_ONCE = 2  # per process: 2 x 50 Mpx x 4 bytes is 400 MB at worst
_BINARY = {"type": "string", "format": "binary"}  # the file itself, of the asset's type
_CONTENT_TYPE = r"^(image|audio|application)/([a-z0-9.+-]{1,50}|\*)$"


@dataclass(frozen=True, slots=True)
class AssetQuery:
    """Assets in upload order; `content_type` keeps one type (`image/png`) or family
    (`image/*`)."""

    limit: int = field(default=DEFAULT_LIMIT, metadata=rule(minimum=1, maximum=MAX_LIMIT))
    cursor: str | None = field(default=None, metadata=rule(min_length=1, max_length=1000))
    content_type: str | None = field(default=None, metadata=rule(pattern=_CONTENT_TYPE))


def asset_json(asset: Asset) -> dict[str, Any]:
    base = f"/api/v1/projects/{asset.project_id}/assets/{asset.id}"
    metadata = {k: v for k, v in asset.metadata.items() if k in ("width", "height", "duration")}
    return {
        "id": asset.id,
        "filename": asset.filename,
        "content_type": asset.content_type,
        "size": asset.size,
        "sha256": asset.blob_hash,
        "metadata": metadata,
        "uploaded_by": asset.uploaded_by,
        "created_at": asset.created_at.isoformat(),
        "content_url": f"{base}/content",
        "thumbnail_url": f"{base}/thumbnail" if "thumbnail_key" in asset.metadata else None,
    }


def register(
    api: Api,
    assets: AssetStore,
    blobs: Callable[[], BlobStore | None],
    limits: UploadLimits,
    *,
    url_ttl_seconds: int,
) -> None:
    decoding = asyncio.Semaphore(IMAGES_DECODED_AT_ONCE)

    def storage() -> BlobStore:
        store = blobs()
        if store is None:  # only between create_app and the lifespan's start
            raise HttpError(503, "blob storage is not open yet")
        return store

    async def found(call: Call) -> Asset:
        asset = await assets.get(call.project_id, call.path["asset_id"])
        if asset is None:
            raise HttpError(404, "no such asset", code="no_such_asset")
        return asset

    async def upload_asset(call: Call) -> Response:
        store = storage()
        received = await asset_upload.receive(call.request, limits)
        try:
            asset, created = await asset_upload.store(
                received,
                project_id=call.project_id,
                user_id=call.user_id,
                blobs=store,
                assets=assets,
                limits=limits,
                decoding=decoding,
            )
        finally:
            received.spool.close()
        return JSONResponse(asset_json(asset), status_code=201 if created else 200)

    async def list_assets(call: Call) -> Response:
        query: AssetQuery = call.query
        page = await assets.list(
            call.project_id,
            content_type=query.content_type,
            limit=query.limit,
            cursor=query.cursor,
        )
        return JSONResponse(
            {"items": [asset_json(a) for a in page.items], "next_cursor": page.next_cursor}
        )

    async def get_asset(call: Call) -> Response:
        return JSONResponse(asset_json(await found(call)))

    async def _serve(key: str, filename: str, content_type: str, size: int | None) -> Response:
        store = storage()
        url = await store.download_url(key, expires_seconds=url_ttl_seconds, filename=filename)
        if url is not None:
            # The URL is a bearer credential until it expires: no cache may keep it.
            return RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})
        chunks = await store.open(key)  # BlobNotFound: 404 before the response starts
        headers = {
            "Content-Disposition": content_disposition(filename),
            # Content-addressed, so it never changes; private: it was served to a member.
            "Cache-Control": "private, max-age=86400",
        }
        if size is not None:
            headers["Content-Length"] = str(size)
        return StreamingResponse(chunks, media_type=content_type, headers=headers)

    async def get_asset_content(call: Call) -> Response:
        asset = await found(call)
        return await _serve(asset.key, asset.filename, asset.content_type, asset.size)

    async def get_asset_thumbnail(call: Call) -> Response:
        asset = await found(call)
        key = asset.metadata.get("thumbnail_key")
        if not isinstance(key, str):
            raise HttpError(404, "this asset has no thumbnail", code="no_thumbnail")
        stem = asset.filename.rsplit(".", 1)[0] or "thumbnail"
        return await _serve(key, f"{stem}.thumbnail.png", "image/png", None)

    async def delete_asset(call: Call) -> Response:
        store = storage()
        asset = await assets.remove(call.project_id, call.path["asset_id"])
        if asset is None:
            raise HttpError(404, "no such asset", code="no_such_asset")
        # The row goes first: a blob without a row is only wasted space, never a broken link.
        for key in (asset.key, asset.metadata.get("thumbnail_key")):
            if isinstance(key, str):
                try:
                    await store.delete(key)
                except BlobError as exc:
                    log.warning("asset_blob_orphaned", key=key, error=str(exc))
        log.info("asset_deleted", project_id=call.project_id, asset_id=asset.id)
        return Response(status_code=204)

    upload_body = {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
    redirect = {302: {"description": "Fetch the bytes from the presigned URL in Location"}}
    project = "/api/v1/projects/{project_id}"
    one = f"{project}/assets/{{asset_id}}"
    for endpoint in (
        Endpoint(
            "POST", f"{project}/assets", upload_asset, Auth.WRITE,
            "Upload a file (multipart field `file`); the same content twice is one asset",
            "assets", status=201, response=ref("Asset"),
            request_body=upload_body, errors=(400, 413, 415, 422),
            responses={200: {
                "description": "The same content was uploaded before: that asset",
                "content": {"application/json": {"schema": ref("Asset")}},
            }},
        ),
        Endpoint(
            "GET", f"{project}/assets", list_assets, Auth.READ,
            "The project's assets, in upload order", "assets",
            response=page_of("Asset"), query=AssetQuery,
        ),
        Endpoint(
            "GET", one, get_asset, Auth.READ, "An asset's metadata", "assets",
            response=ref("Asset"),
        ),
        Endpoint(
            "GET", f"{one}/content", get_asset_content, Auth.READ,
            "The asset's bytes, or a redirect to them", "assets",
            response=_BINARY, media_type="*/*", responses=redirect,
        ),
        Endpoint(
            "GET", f"{one}/thumbnail", get_asset_thumbnail, Auth.READ,
            "An image's 200 px PNG thumbnail, or a redirect to it", "assets",
            response=_BINARY, media_type="*/*", responses=redirect,
        ),
        Endpoint(
            "DELETE", one, delete_asset, Auth.WRITE, "Delete an asset and its bytes", "assets",
            status=204,
        ),
    ):  # fmt: skip
        api.add(endpoint)
