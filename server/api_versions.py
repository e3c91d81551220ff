"""REST routes for version history: list, save, fetch as JSON, restore.

/api/v1/projects/{project_id}/{flows|pages}/{doc_id}/versions[...] and
/api/v1/projects/{project_id}/tree/versions[...]. Viewers may read; editors and owners may save
and restore. A restore is written as forward edits on the live document (crdt/restore.py).
Lists are paginated (server/api_pagination.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from pycrdt import Doc
from starlette.responses import JSONResponse, Response

from crdt.schema import DocKey, DocKind
from crdt.views import flow_to_json, page_to_json, tree_to_json
from persistence.audit import AuditAction, AuditEvent, AuditLog
from persistence.store import StoreError, VersionInfo, VersionKind
from server.api_models import page_of, ref
from server.api_pagination import PageQuery, page_body, paginate
from server.api_registry import Api, Auth, Call, Endpoint
from server.api_schema import rule
from server.http_auth import HttpError
from server.rooms import RoomManager

_TO_JSON: dict[DocKind, Callable[[Doc[Any]], dict[str, Any]]] = {
    DocKind.FLOW: flow_to_json,
    DocKind.PAGE: page_to_json,
    DocKind.TREE: tree_to_json,
}
_MAX_NAME = 200
log = structlog.get_logger(__name__)


def _key(call: Call) -> DocKey:
    # /{kind}/{doc_id} names a flow or a page (checked by the registry); the tree has no id.
    kind = call.path.get("kind", DocKind.TREE.value)
    return DocKey(call.project_id, DocKind(kind), call.path.get("doc_id", ""))


def _info(info: VersionInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "seq": info.seq,
        "kind": info.kind.value,
        "name": info.name,
        "author_id": info.author_id,
        "created_at": info.created_at.isoformat(),
    }


@dataclass(frozen=True, slots=True)
class SaveVersion:
    """What to call the new version (optional)."""

    name: str | None = field(default=None, metadata=rule(min_length=1, max_length=_MAX_NAME))


def register(api: Api, rooms: RoomManager, audit: AuditLog | None = None) -> None:
    async def list_versions(call: Call) -> Response:
        key = _key(call)
        versions = await rooms.store.list_versions(key)
        page, more = paginate(versions, lambda v: (-v.id,), call.query)
        return JSONResponse(page_body([_info(v) for v in page], more))

    async def save_version(call: Call) -> Response:
        key = _key(call)
        async with rooms.holding(key) as room:
            version_id = await room.save_version(
                kind=VersionKind.NAMED, name=call.body.name, author_id=call.user_id
            )
            stored = await rooms.store.get_version(key, version_id)
        if stored is None:  # pragma: no cover - just written
            raise HttpError(503, "version vanished")
        return JSONResponse({"version": _info(stored.info)}, status_code=201)

    async def get_version(call: Call) -> Response:
        key = _key(call)
        stored = await rooms.store.get_version(key, call.path["version_id"])
        if stored is None:
            raise HttpError(404, "no such version")
        doc: Doc[Any] = Doc()
        doc.apply_update(stored.state)
        return JSONResponse({"version": _info(stored.info), "document": _TO_JSON[key.kind](doc)})

    async def restore_version(call: Call) -> Response:
        key = _key(call)
        version_id: int = call.path["version_id"]
        async with rooms.holding(key) as room:
            restored = await room.restore_version(version_id, author_id=call.user_id)
            if restored is None:
                raise HttpError(404, "no such version")
            stored = await rooms.store.get_version(key, restored)
        if stored is None:  # pragma: no cover - just written
            raise HttpError(503, "version vanished")
        if audit is not None:
            await _audit_restore(audit, call, key, version_id, restored)
        return JSONResponse({"version": _info(stored.info)})

    for prefix, what in (
        ("/api/v1/projects/{project_id}/{kind}/{doc_id}", "a flow's or page's"),
        ("/api/v1/projects/{project_id}/tree", "the project tree's"),
    ):
        api.add(
            Endpoint(
                "GET",
                f"{prefix}/versions",
                list_versions,
                Auth.READ,
                f"List {what} versions, newest first",
                "versions",
                response=page_of("Version"),
                query=PageQuery,
            )
        )
        api.add(
            Endpoint(
                "POST",
                f"{prefix}/versions",
                save_version,
                Auth.WRITE,
                f"Save {what} committed state as a named version",
                "versions",
                status=201,
                response=ref("VersionResult"),
                body=SaveVersion,
                body_optional=True,
            )
        )
        api.add(
            Endpoint(
                "GET",
                f"{prefix}/versions/{{version_id}}",
                get_version,
                Auth.READ,
                f"Fetch one of {what} versions with its content as JSON",
                "versions",
                response=ref("VersionWithDocument"),
            )
        )
        api.add(
            Endpoint(
                "POST",
                f"{prefix}/versions/{{version_id}}/restore",
                restore_version,
                Auth.WRITE,
                f"Restore one of {what} versions as forward edits on the live document",
                "versions",
                response=ref("VersionResult"),
            )
        )


async def _audit_restore(
    audit: AuditLog, call: Call, key: DocKey, version_id: int, restored: int
) -> None:
    event = AuditEvent(
        actor=call.user_id,
        action=AuditAction.VERSION_RESTORE,
        target=f"{key.name}@{version_id}",
        project_id=key.project_id,
        detail=f"recorded_as={restored}",
        client_address=call.client_address,
    )
    try:
        await audit.record(event)
    except StoreError as exc:
        # The restore is committed: answering 503 would invite a second one. Say it loudly.
        log.error("audit_write_failed", action=event.action.value, error=str(exc))
