"""Authenticating REST requests with the same authenticator as websockets (Bearer token)."""

from __future__ import annotations

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


class HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def response(self) -> JSONResponse:
        headers = {"Retry-After": "1"} if self.status in (429, 503) else None
        return JSONResponse({"error": self.message}, status_code=self.status, headers=headers)


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
        raise HttpError(_STATUS.get(exc.code, 403), exc.reason) from exc
    bind_identity(user_id=principal.user_id, project_id=project_id or None)  # log lines, errors
    if write and principal.role is Role.VIEWER:
        raise HttpError(403, "viewers cannot change documents")
    return principal
