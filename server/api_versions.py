"""REST routes for version history: list, save, fetch as JSON, restore.

/api/v1/projects/{project_id}/{flows|pages}/{doc_id}/versions[...] and
/api/v1/projects/{project_id}/tree/versions[...]. Viewers may read; editors and owners may save
and restore. A restore is written as forward edits on the live document (crdt/restore.py).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from pycrdt import Doc
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from crdt.schema import DocKey, DocKind
from crdt.views import flow_to_json, page_to_json, tree_to_json
from persistence.audit import AuditAction, AuditEvent, AuditLog
from persistence.store import StoreError, VersionInfo, VersionKind
from server.auth import Authenticator
from server.http_auth import HttpError, authenticate
from server.room import RoomUnavailable
from server.rooms import DocumentNotFound, RoomManager
from server.sync_endpoint import valid_id

_TO_JSON: dict[DocKind, Callable[[Doc[Any]], dict[str, Any]]] = {
    DocKind.FLOW: flow_to_json,
    DocKind.PAGE: page_to_json,
    DocKind.TREE: tree_to_json,
}
_MAX_NAME = 200
log = structlog.get_logger(__name__)


def _key(request: Request) -> DocKey:
    params = request.path_params
    project_id = params["project_id"]
    kind = params.get("kind", DocKind.TREE.value)
    doc_id = params.get("doc_id", "")
    # /{kind}/{doc_id} names a flow or a page; the tree has its own route.
    if "kind" in params and (
        kind not in (DocKind.FLOW.value, DocKind.PAGE.value) or not valid_id(doc_id)
    ):
        raise HttpError(404, "no such document")
    if not valid_id(project_id):
        raise HttpError(404, "no such document")
    return DocKey(project_id, DocKind(kind), doc_id)


def _info(info: VersionInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "seq": info.seq,
        "kind": info.kind.value,
        "name": info.name,
        "author_id": info.author_id,
        "created_at": info.created_at.isoformat(),
    }


Handler = Callable[[Request], Awaitable[Response]]


def version_routes(
    rooms: RoomManager, authenticator: Authenticator, audit: AuditLog | None = None
) -> list[BaseRoute]:
    def guarded(handler: Handler) -> Handler:
        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except HttpError as exc:
                return exc.response()
            except DocumentNotFound:
                return JSONResponse({"error": "no such document"}, status_code=404)
            except (StoreError, RoomUnavailable):
                return JSONResponse({"error": "storage unavailable"}, status_code=503)

        return run

    async def list_versions(request: Request) -> Response:
        key = _key(request)
        await authenticate(request, authenticator, key.project_id, write=False)
        versions = await rooms.store.list_versions(key)
        return JSONResponse({"versions": [_info(v) for v in versions]})

    async def save_version(request: Request) -> Response:
        key = _key(request)
        principal = await authenticate(request, authenticator, key.project_id, write=True)
        name = await _name(request)
        async with rooms.holding(key) as room:
            version_id = await room.save_version(
                kind=VersionKind.NAMED, name=name, author_id=principal.user_id
            )
            stored = await rooms.store.get_version(key, version_id)
        if stored is None:  # pragma: no cover - just written
            raise HttpError(503, "version vanished")
        return JSONResponse({"version": _info(stored.info)}, status_code=201)

    async def get_version(request: Request) -> Response:
        key = _key(request)
        await authenticate(request, authenticator, key.project_id, write=False)
        stored = await rooms.store.get_version(key, _version_id(request))
        if stored is None:
            raise HttpError(404, "no such version")
        doc: Doc[Any] = Doc()
        doc.apply_update(stored.state)
        return JSONResponse({"version": _info(stored.info), "document": _TO_JSON[key.kind](doc)})

    async def restore_version(request: Request) -> Response:
        key = _key(request)
        principal = await authenticate(request, authenticator, key.project_id, write=True)
        async with rooms.holding(key) as room:
            restored = await room.restore_version(_version_id(request), author_id=principal.user_id)
            if restored is None:
                raise HttpError(404, "no such version")
            stored = await rooms.store.get_version(key, restored)
        if stored is None:  # pragma: no cover - just written
            raise HttpError(503, "version vanished")
        if audit is not None:
            await _audit_restore(audit, request, key, principal.user_id, restored)
        return JSONResponse({"version": _info(stored.info)})

    routes: list[BaseRoute] = []
    for prefix in (
        "/api/v1/projects/{project_id}/{kind}/{doc_id}",
        "/api/v1/projects/{project_id}/tree",
    ):
        routes += [
            Route(f"{prefix}/versions", guarded(list_versions), methods=["GET"]),
            Route(f"{prefix}/versions", guarded(save_version), methods=["POST"]),
            Route(f"{prefix}/versions/{{version_id:int}}", guarded(get_version), methods=["GET"]),
            Route(
                f"{prefix}/versions/{{version_id:int}}/restore",
                guarded(restore_version),
                methods=["POST"],
            ),
        ]
    return routes


def _version_id(request: Request) -> int:
    value: int = request.path_params["version_id"]
    return value


async def _name(request: Request) -> str | None:
    body = await request.body()
    if not body:
        return None
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise HttpError(400, "the body must be JSON") from exc
    if not isinstance(payload, dict):
        raise HttpError(400, "the body must be a JSON object")
    name = payload.get("name")
    if name is not None and (not isinstance(name, str) or not 0 < len(name) <= _MAX_NAME):
        raise HttpError(400, f"name must be a string of 1 to {_MAX_NAME} characters")
    return name


async def _audit_restore(
    audit: AuditLog, request: Request, key: DocKey, user_id: str, restored: int
) -> None:
    client = request.client
    event = AuditEvent(
        actor=user_id,
        action=AuditAction.VERSION_RESTORE,
        target=f"{key.name}@{_version_id(request)}",
        project_id=key.project_id,
        detail=f"recorded_as={restored}",
        client_address=None if client is None else client.host,
    )
    try:
        await audit.record(event)
    except StoreError as exc:
        # The restore is committed: answering 503 would invite a second one. Say it loudly.
        log.error("audit_write_failed", action=event.action.value, error=str(exc))
