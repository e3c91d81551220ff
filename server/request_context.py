"""ASGI middleware: a request id on every request and connection, and the edge's metrics.

Every HTTP request and websocket gets a `request_id`, taken from the `X-Request-ID` header when
it is a plausible id (a proxy's), made up otherwise, and answered in the response's
`X-Request-ID`. It is bound into structlog's context variables, so every log line of the
request or connection carries it; the handlers add `user_id`, `project_id` and `room` once
they know them (`bind_identity`). HTTP latency is recorded per route template (never the raw
path, whose ids would make a series per document), and every websocket close the server sends
is counted by its close code.
"""

from __future__ import annotations

import re
import time
import uuid

import structlog
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server import metrics

HEADER = "x-request-id"
_PLAUSIBLE = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))


def request_id_from(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            # Anything else (too long, spaces, quotes) could forge or break log lines.
            if _PLAUSIBLE.match(candidate):
                return candidate
            break
    return uuid.uuid4().hex


def bind_identity(
    *, user_id: str | None = None, project_id: str | None = None, room: str | None = None
) -> None:
    """Add who and what to every later log line (and error report) of this request."""
    values = {"user_id": user_id, "project_id": project_id, "room": room}
    structlog.contextvars.bind_contextvars(**{k: v for k, v in values.items() if v})


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope)
        # Each request runs in its own task, so nothing bound here leaks into another one.
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        if kind == "websocket":
            await self.app(scope, receive, _websocket_send(send, request_id))
            return
        await self._http(scope, receive, send, request_id)

    async def _http(self, scope: Scope, receive: Receive, send: Send, request_id: str) -> None:
        status = 500  # what the client gets if the app raises before it answers

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append("X-Request-ID", request_id)
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            method = method if method in _METHODS else "OTHER"  # clients choose methods
            metrics.HTTP_SECONDS.labels(template, method, str(status)).observe(
                time.perf_counter() - started
            )


def _websocket_send(send: Send, request_id: str) -> Send:
    async def wrapped(message: Message) -> None:
        kind = message["type"]
        if kind == "websocket.accept":
            headers = list(message.get("headers", []))
            headers.append((b"x-request-id", request_id.encode()))
            message = {**message, "headers": headers}
        elif kind == "websocket.close":
            metrics.CLOSES.labels(str(message.get("code", 1000))).inc()
        await send(message)

    return wrapped
