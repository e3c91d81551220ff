"""The `/api/v1` surface assembled: every route module registered on one `Api`, plus JSON
bodies for the router's own 404/405 and for 500s under `/api`.

`create_app` calls `build_api` and mounts `api.routes()`; the OpenAPI document is written from
the same registry, so adding a route here is the only way to serve one.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Match, Route

from persistence.assets import AssetStore
from persistence.blobs import BlobStore
from persistence.projection_queries import ProjectionQueries
from server import (
    api_assets,
    api_flows,
    api_jobs,
    api_members,
    api_openapi,
    api_ops,
    api_pages,
    api_projections,
    api_translations,
    api_tree,
    api_versions,
)
from server.access import Access
from server.api_documents import Documents
from server.api_jobs import DownloadSigner
from server.api_registry import Api
from server.asset_upload import UploadLimits
from server.auth import Principal
from server.background import Background
from server.http_auth import error_response
from server.rooms import RoomManager
from server.settings import Settings


def build_api(
    settings: Settings,
    rooms: RoomManager,
    access: Access,
    engine: AsyncEngine | None,
    *,
    background: Background | None = None,
    blobs: Callable[[], BlobStore | None] | None = None,
) -> Api:
    """Every /api/v1 route; projection reads and jobs only with a SQL database (`engine`)."""

    def is_operator(principal: Principal) -> bool:
        return settings.is_development or principal.user_id in settings.admins

    api = Api(access.api_auth, is_operator=is_operator)
    documents = Documents(rooms, commit_wait_seconds=settings.commit_retry_max_seconds * 2)
    api_openapi.register(api)
    api_members.register_me(api)
    if access.identity is not None and access.audit is not None:
        api_members.register(api, access.identity, access.audit, access.revocations.announce)
    api_versions.register(api, rooms, access.audit)
    api_tree.register(api, documents)
    api_flows.register(api, documents)
    api_pages.register(api, documents)
    api_translations.register(api, documents)
    if engine is not None:
        api_projections.register(api, ProjectionQueries(engine))
    if background is not None:
        signer = DownloadSigner(settings.secret_key, settings.blob_url_ttl_seconds)
        api_jobs.register(api, background, access.api_auth, signer)
    if engine is not None and blobs is not None:
        api_assets.register(
            api,
            AssetStore(engine),
            blobs,
            UploadLimits(settings.max_asset_bytes, settings.max_image_pixels),
            url_ttl_seconds=settings.blob_url_ttl_seconds,
        )
    api_ops.register(api, rooms)
    return api


FALLBACK_NAME = "api_fallback"
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def api_routes(api: Api) -> list[BaseRoute]:
    """The registry's routes, then a catch-all so that no `/api` request reaches the web app.

    Without it, the web app's static files (mounted at `/`) would answer an unknown `/api` path
    or method with their own plain-text 404 or 405.
    """
    routes = api.routes()

    async def fallback(request: Request) -> Response:
        allowed = {
            method
            for route in routes
            if isinstance(route, Route) and route.matches(request.scope)[0] is Match.PARTIAL
            for method in route.methods or ()
        }
        if not allowed:
            return error_response(404, "Not Found")
        response = error_response(405, "Method Not Allowed")
        response.headers["Allow"] = ", ".join(sorted(allowed))
        return response

    return [*routes, Route("/api/{rest:path}", fallback, methods=_METHODS, name=FALLBACK_NAME)]


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def http_exception(request: Request, exc: Exception) -> Response:
    """The router's 404 and 405: JSON under /api (clients parse one error shape), text elsewhere."""
    if not isinstance(exc, HTTPException):  # pragma: no cover - registered for it only
        raise exc
    if not _is_api(request):
        return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)
    response = error_response(exc.status_code, exc.detail)
    if exc.headers:
        response.headers.update(exc.headers)  # 405's Allow
    return response


async def server_error(request: Request, exc: Exception) -> Response:
    """A bug: the error middleware logs and re-raises it; the client gets a bare 500."""
    if not _is_api(request):
        return PlainTextResponse("Internal Server Error", status_code=500)
    return error_response(500, "internal error; quote the X-Request-ID header when reporting it")


EXCEPTION_HANDLERS = {HTTPException: http_exception, Exception: server_error}
