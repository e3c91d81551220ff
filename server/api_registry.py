"""The REST route registry: each `/api/v1` route declares itself once, and everything follows.

An `Endpoint` names its method, path, who may call it, its query and body dataclasses, its
success status and response schema. `Api.routes()` mounts them behind one runner that checks,
in this order, the path parameters (404), the caller (401, 403, 404 for an unknown project,
429), the query and the body (400, 422), then calls the handler and maps our exceptions to
statuses in one place. `server/api_openapi.py` writes the OpenAPI document from the same
registry, so the document cannot describe a route that is not served, or miss one that is.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from persistence.blobs import BlobNotFound, BlobStorageUnavailable
from persistence.identity import LastOwner, UnknownProject
from persistence.projection_queries import InvalidCursor
from persistence.store import StoreError
from server.api_schema import invalid, parse_body, parse_query
from server.auth import Authenticator, Principal, Role
from server.http_auth import HttpError, authenticate, error_response
from server.room import RoomUnavailable
from server.rooms import DocumentNotFound


class Auth(StrEnum):
    """Who may call a route. Every project route first needs a role in the project."""

    NONE = "none"  # anyone, no token read
    READ = "read"  # any role: owner, editor, viewer
    WRITE = "write"  # owner or editor
    OWNER = "owner"
    OPERATOR = "operator"  # STORYARN_ADMIN_USERS (anyone with a valid token in development)


_ID = r"^[A-Za-z0-9_-]{1,64}$"
# Every path parameter's schema, checked before anything else (a bad one is a 404).
PATH_PARAMS: Mapping[str, dict[str, Any]] = {
    "project_id": {"type": "string", "pattern": _ID},
    "doc_id": {"type": "string", "pattern": _ID},
    "flow_id": {"type": "string", "pattern": _ID},
    "page_id": {"type": "string", "pattern": _ID},
    "node_id": {"type": "string", "pattern": _ID},
    "connection_id": {"type": "string", "pattern": _ID},
    "kind": {"type": "string", "enum": ["flows", "pages"]},
    "version_id": {"type": "integer", "minimum": 0, "maximum": 2**53 - 1},
    "user_id": {"type": "string", "pattern": r"^[A-Za-z0-9_.@-]{1,64}$"},
    "job_id": {"type": "string", "pattern": _ID},
    "locale": {"type": "string", "pattern": r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$"},
    "asset_id": {"type": "string", "pattern": _ID},
}
MAX_BODY_BYTES = 1024 * 1024  # a REST edit is small; documents travel over the websocket
_NOT_FOUND = {
    "user_id": "no such member",
    "project_id": "no such project",
    "job_id": "no such job",
}
_PARAM = re.compile(r"{([a-z_]+)(?::[a-z]+)?}")
_DIGITS = re.compile(r"^[0-9]{1,16}$")


@dataclass(frozen=True, slots=True)
class Call:
    """What a handler gets: the request, who calls, and the checked path, query and body."""

    request: Request
    principal: Principal
    path: Mapping[str, Any]
    query: Any = None
    body: Any = None

    @property
    def project_id(self) -> str:
        value: str = self.path["project_id"]
        return value

    @property
    def user_id(self) -> str:
        return self.principal.user_id

    @property
    def client_address(self) -> str | None:
        client = self.request.client
        return None if client is None else client.host


Handler = Callable[[Call], Awaitable[Response]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # Starlette form, e.g. "/api/v1/projects/{project_id}/flows/{flow_id}/nodes"
    handler: Handler
    auth: Auth
    summary: str
    tag: str
    status: int = 200
    response: dict[str, Any] | None = None  # JSON Schema of the success body; None: no body
    media_type: str = "application/json"  # of the success body (a download: its file type)
    body: type[Any] | None = None  # a dataclass (server/api_schema.py)
    body_optional: bool = False
    query: type[Any] | None = None
    errors: tuple[int, ...] = ()  # statuses beyond those the auth, path and body imply
    description: str = ""
    # For routes that read their own body (uploads): its OpenAPI requestBody, as written.
    request_body: dict[str, Any] | None = None
    # More success or redirect answers (a 302, a second 2xx), as OpenAPI response objects.
    responses: Mapping[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def params(self) -> list[str]:
        return _PARAM.findall(self.path)

    @property
    def openapi_path(self) -> str:
        return _PARAM.sub(lambda m: "{" + m.group(1) + "}", self.path)

    def error_statuses(self) -> list[int]:
        found = set(self.errors)
        if self.params:
            found.add(404)
        if self.auth is not Auth.NONE:
            found |= {401, 429, 503}
        if "project_id" in self.params or self.auth in (Auth.WRITE, Auth.OWNER, Auth.OPERATOR):
            found.add(403)
        if self.body is not None:
            found |= {400, 413, 422}
        if self.query is not None:
            found.add(422)
        return sorted(found)


def _path_value(schema: Mapping[str, Any], raw: str) -> Any:
    """The parameter's value, or None when it does not fit its schema."""
    if schema["type"] == "integer":
        number = int(raw) if _DIGITS.match(raw) else -1
        return number if schema["minimum"] <= number <= schema["maximum"] else None
    if "enum" in schema:
        return raw if raw in schema["enum"] else None
    return raw if re.match(schema["pattern"], raw) else None


def _check_path(endpoint: Endpoint, request: Request) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in endpoint.params:
        value = _path_value(PATH_PARAMS[name], str(request.path_params.get(name, "")))
        if value is None:
            code = "no_such_project" if name == "project_id" else None
            raise HttpError(404, _NOT_FOUND.get(name, "no such document"), code=code)
        values[name] = value
    return values


async def _read_body(request: Request) -> bytes:
    # Counted while it arrives: a client must not make us buffer more than the limit.
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise HttpError(413, f"the body is over {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class Api:
    """The registry: route modules `add` endpoints; the app mounts `routes()`."""

    def __init__(
        self, authenticator: Authenticator, *, is_operator: Callable[[Principal], bool]
    ) -> None:
        self._authenticator = authenticator
        self._is_operator = is_operator
        self.endpoints: list[Endpoint] = []

    def add(self, endpoint: Endpoint) -> None:
        unknown = set(endpoint.params) - set(PATH_PARAMS)
        if unknown:
            raise ValueError(f"{endpoint.path}: no schema for path parameter(s) {unknown}")
        self.endpoints.append(endpoint)

    async def _caller(
        self, endpoint: Endpoint, request: Request, path: Mapping[str, Any]
    ) -> Principal:
        if endpoint.auth is Auth.NONE:
            return Principal("anonymous", Role.VIEWER)
        project_id = path.get("project_id", "")
        principal = await authenticate(
            request, self._authenticator, project_id, write=endpoint.auth is Auth.WRITE
        )
        if endpoint.auth is Auth.OWNER and principal.role is not Role.OWNER:
            raise HttpError(403, "project owners only", code="owners_only")
        if endpoint.auth is Auth.OPERATOR and not self._is_operator(principal):
            raise HttpError(403, "operators only", code="operators_only")
        return principal

    def _runner(self, endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            try:
                path = _check_path(endpoint, request)
                principal = await self._caller(endpoint, request, path)
                query = (
                    parse_query(endpoint.query, request.query_params)
                    if endpoint.query is not None
                    else None
                )
                body = (
                    parse_body(
                        endpoint.body, await _read_body(request), optional=endpoint.body_optional
                    )
                    if endpoint.body is not None
                    else None
                )
                return await endpoint.handler(Call(request, principal, path, query, body))
            except HttpError as exc:
                return exc.response()
            except InvalidCursor:  # the projection queries' own cursor check
                return invalid("cursor", "is not a next_cursor of this list").response()
            except DocumentNotFound:
                return error_response(404, "no such document")
            except LastOwner as exc:
                return error_response(409, str(exc), "last_owner")
            except UnknownProject:
                return error_response(404, "no such project", "no_such_project")
            except (StoreError, RoomUnavailable):
                return error_response(503, "storage unavailable")
            except BlobNotFound:  # a row whose bytes are gone (deleted by hand, lost bucket)
                return error_response(404, "the content is missing from storage", "blob_missing")
            except BlobStorageUnavailable:
                return error_response(503, "blob storage unavailable")

        run.__name__ = endpoint.handler.__name__
        return run

    def routes(self) -> list[BaseRoute]:
        return [
            Route(e.path, self._runner(e), methods=[e.method], name=e.handler.__name__)
            for e in self.endpoints
        ]
