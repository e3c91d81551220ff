"""REST routes for project owners: memberships and the audit log; and `me` for every member.

GET    /api/v1/projects/{project_id}/members                    (owners; paginated)
PUT    /api/v1/projects/{project_id}/members/{user_id}          {"role": "owner|editor|viewer"}
DELETE /api/v1/projects/{project_id}/members/{user_id}
GET    /api/v1/projects/{project_id}/audit?limit=&cursor=       (owners; newest first)
GET    /api/v1/projects/{project_id}/me                         (any role: who am I, which role)

Every change is audited with the owner and their address, may not leave the project without an
owner (409), and is announced so that every instance re-checks the member's open sockets.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from starlette.responses import JSONResponse, Response

from persistence.audit import AuditEntry, AuditLog
from persistence.identity import Actor, IdentityStore, ProjectRole
from server.api_models import page_of, ref
from server.api_pagination import PageQuery, decode_cursor, page_body, paginate
from server.api_registry import Api, Auth, Call, Endpoint
from server.api_schema import invalid
from server.http_auth import HttpError

Announce = Callable[[str, str | None], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class SetRole:
    """The member's new role."""

    role: Literal["owner", "editor", "viewer"]


def register_me(api: Api) -> None:
    """`me` needs no database: the web app asks it to choose viewer mode in every set-up."""

    async def me(call: Call) -> Response:
        return JSONResponse({"user_id": call.user_id, "role": call.principal.role.value})

    api.add(
        Endpoint(
            "GET",
            "/api/v1/projects/{project_id}/me",
            me,
            Auth.READ,
            "The caller's user id and role in the project",
            "members",
            response=ref("Me"),
        )
    )


def register(api: Api, identity: IdentityStore, audit: AuditLog, announce: Announce) -> None:
    def actor(call: Call) -> Actor:
        return Actor(call.user_id, call.client_address)

    async def list_members(call: Call) -> Response:
        members = await identity.members(call.project_id)
        page, more = paginate(members, lambda m: (m.user_id,), call.query)
        return JSONResponse(
            page_body([{"user_id": m.user_id, "role": m.role.value} for m in page], more)
        )

    async def set_member(call: Call) -> Response:
        user_id = call.path["user_id"]
        role = ProjectRole(call.body.role)
        previous = await identity.set_member(
            call.project_id, user_id, role, actor=actor(call), keep_an_owner=True
        )
        await announce(user_id, call.project_id)
        return JSONResponse(
            {
                "member": {"user_id": user_id, "role": role.value},
                "previous_role": None if previous is None else previous.value,
            }
        )

    async def remove_member(call: Call) -> Response:
        user_id = call.path["user_id"]
        previous = await identity.remove_member(
            call.project_id, user_id, actor=actor(call), keep_an_owner=True
        )
        if previous is None:
            raise HttpError(404, "no such member")
        await announce(user_id, call.project_id)
        return Response(status_code=204)

    async def read_audit(call: Call) -> Response:
        query: PageQuery = call.query
        after = decode_cursor(query.cursor)
        if after is not None and (len(after) != 1 or not isinstance(after[0], int)):
            raise invalid("cursor", "is not a next_cursor of this list")
        # One more than asked: whether it comes back says if there is a next page.
        entries = await audit.for_project(
            call.project_id, limit=query.limit + 1, before_id=None if after is None else after[0]
        )
        page = entries[: query.limit]
        more = (page[-1].id,) if len(entries) > query.limit else None
        return JSONResponse(page_body([_entry(e) for e in page], more))

    prefix = "/api/v1/projects/{project_id}"
    api.add(
        Endpoint(
            "GET",
            f"{prefix}/members",
            list_members,
            Auth.OWNER,
            "List the project's direct members, by user id",
            "members",
            response=page_of("Member"),
            query=PageQuery,
        )
    )
    api.add(
        Endpoint(
            "PUT",
            f"{prefix}/members/{{user_id}}",
            set_member,
            Auth.OWNER,
            "Give a user a role in the project",
            "members",
            response=ref("MemberChange"),
            body=SetRole,
            errors=(409,),
        )
    )
    api.add(
        Endpoint(
            "DELETE",
            f"{prefix}/members/{{user_id}}",
            remove_member,
            Auth.OWNER,
            "Remove a user's direct membership",
            "members",
            status=204,
            errors=(409,),
        )
    )
    api.add(
        Endpoint(
            "GET",
            f"{prefix}/audit",
            read_audit,
            Auth.OWNER,
            "The project's audit log, newest first",
            "members",
            response=page_of("AuditEntry"),
            query=PageQuery,
        )
    )


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
