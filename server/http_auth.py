"""Authenticating REST requests with the same authenticator as websockets (Bearer token).

Also the REST error: every `/api/v1` failure is `{"error": {"code", "message"[, "details"]}}`,
so clients branch on a stable `code` and show `message` (docs/api.md#errors).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from server.auth import Authenticator, AuthError, Handshake, Principal, Role
from server.close_codes import CloseCode
from server.request_context import bind_identity

_STATUS = {
    CloseCode.UNAUTHENTICATED: 401,
    CloseCode.FORBIDDEN: 403,
    CloseCode.NOT_FOUND: 404,
    CloseCode.RATE_LIMITED: 429,
    CloseCode.TRY_AGAIN_LATER: 503,
}


# The default `code` of each status; a route may give a more precise one.
CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "validation_failed",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


def error_body(
    status: int, message: str, code: str | None = None, details: Sequence[Any] | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code or CODES.get(status, "error"), "message": message}
    if details:
        error["details"] = list(details)
    return {"error": error}


def error_response(
    status: int, message: str, code: str | None = None, details: Sequence[Any] | None = None
) -> JSONResponse:
    # Both mean "try again": the client should wait before it does.
    headers = {"Retry-After": "1"} if status in (429, 503) else None
    return JSONResponse(
        error_body(status, message, code, details), status_code=status, headers=headers
    )


_CODES = {CloseCode.NOT_FOUND: "no_such_project", CloseCode.FORBIDDEN: "not_a_member"}


class HttpError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        details: Sequence[Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or CODES.get(status, "error")
        self.details = details

    def response(self) -> JSONResponse:
        return error_response(self.status, self.message, self.code, self.details)


async def authenticate(
    request: Request, authenticator: Authenticator, project_id: str, *, write: bool
) -> Principal:
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else None
    client = request.client
    handshake = Handshake(
        project_id=project_id,
        token=token or None,
        headers=request.headers,
        client_host=None if client is None else client.host,
    )
    try:
        principal = await authenticator.authenticate(handshake)
    except AuthError as exc:
        raise HttpError(_STATUS.get(exc.code, 403), exc.reason, code=_CODES.get(exc.code)) from exc
    bind_identity(user_id=principal.user_id, project_id=project_id or None)  # log lines, errors
    if write and principal.role is Role.VIEWER:
        raise HttpError(403, "viewers cannot change documents", code="read_only")
    return principal
