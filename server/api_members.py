"""REST routes for project owners: memberships and the audit log.

GET    /api/v1/projects/{project_id}/members
PUT    /api/v1/projects/{project_id}/members/{user_id}   {"role": "owner|editor|viewer"}
DELETE /api/v1/projects/{project_id}/members/{user_id}
GET    /api/v1/projects/{project_id}/audit?limit=100&before=ID

Every change is audited with the owner and their address, may not leave the project without an
owner (409), and is announced so that every instance re-checks the member's open sockets.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from persistence.audit import AuditEntry, AuditLog
from persistence.identity import (
    Actor,
    IdentityStore,
    LastOwner,
    ProjectRole,
    UnknownProject,
    valid_project_id,
    valid_user_id,
)
from persistence.store import StoreError
from server.auth import Authenticator, Principal, Role
from server.http_auth import HttpError, authenticate

Handler = Callable[[Request], Awaitable[Response]]
Announce = Callable[[str, str | None], Awaitable[None]]
_MAX_PAGE = 500


def member_routes(
    identity: IdentityStore, audit: AuditLog, authenticator: Authenticator, announce: Announce
) -> list[BaseRoute]:
    def guarded(handler: Handler) -> Handler:
        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except HttpError as exc:
                return exc.response()
            except LastOwner as exc:
                return JSONResponse({"error": str(exc)}, status_code=409)
            except UnknownProject:
                return JSONResponse({"error": "no such project"}, status_code=404)
            except StoreError:
                return JSONResponse({"error": "storage unavailable"}, status_code=503)

        return run

    async def owner(request: Request) -> tuple[str, Principal]:
        project_id = request.path_params["project_id"]
        if not valid_project_id(project_id):
            raise HttpError(404, "no such project")
        principal = await authenticate(request, authenticator, project_id, write=False)
        if principal.role is not Role.OWNER:
            raise HttpError(403, "project owners only")
        return project_id, principal

    def actor(request: Request, principal: Principal) -> Actor:
        client = request.client
        return Actor(principal.user_id, None if client is None else client.host)

    def member_id(request: Request) -> str:
        user_id: str = request.path_params["user_id"]
        if not valid_user_id(user_id):
            raise HttpError(404, "no such member")
        return user_id

    async def list_members(request: Request) -> Response:
        project_id, _ = await owner(request)
        members = await identity.members(project_id)
        return JSONResponse(
            {"members": [{"user_id": m.user_id, "role": m.role.value} for m in members]}
        )

    async def set_member(request: Request) -> Response:
        project_id, principal = await owner(request)
        user_id = member_id(request)
        role = await _role(request)
        previous = await identity.set_member(
            project_id, user_id, role, actor=actor(request, principal), keep_an_owner=True
        )
        await announce(user_id, project_id)
        return JSONResponse(
            {
                "member": {"user_id": user_id, "role": role.value},
                "previous_role": None if previous is None else previous.value,
            }
        )

    async def remove_member(request: Request) -> Response:
        project_id, principal = await owner(request)
        user_id = member_id(request)
        previous = await identity.remove_member(
            project_id, user_id, actor=actor(request, principal), keep_an_owner=True
        )
        if previous is None:
            raise HttpError(404, "no such member")
        await announce(user_id, project_id)
        return Response(status_code=204)

    async def read_audit(request: Request) -> Response:
        project_id, _ = await owner(request)
        limit = _int_param(request, "limit", 100)
        before = _int_param(request, "before", None)
        entries = await audit.for_project(
            project_id, limit=max(1, min(limit or 100, _MAX_PAGE)), before_id=before
        )
        return JSONResponse({"entries": [_entry(e) for e in entries]})

    prefix = "/api/v1/projects/{project_id}"
    return [
        Route(f"{prefix}/members", guarded(list_members), methods=["GET"]),
        Route(f"{prefix}/members/{{user_id}}", guarded(set_member), methods=["PUT"]),
        Route(f"{prefix}/members/{{user_id}}", guarded(remove_member), methods=["DELETE"]),
        Route(f"{prefix}/audit", guarded(read_audit), methods=["GET"]),
    ]


async def _role(request: Request) -> ProjectRole:
    try:
        payload: Any = json.loads(await request.body())
    except ValueError as exc:
        raise HttpError(400, "the body must be JSON") from exc
    role = payload.get("role") if isinstance(payload, dict) else None
    if role not in {r.value for r in ProjectRole}:
        raise HttpError(400, "role must be owner, editor or viewer")
    return ProjectRole(role)


def _int_param(request: Request, name: str, default: int | None) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise HttpError(400, f"{name} must be an integer") from exc


def _entry(entry: AuditEntry) -> dict[str, Any]:
    event = entry.event
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "actor": event.actor,
        "action": event.action.value,
        "target": event.target,
        "detail": event.detail,
        "client_address": event.client_address,
    }
