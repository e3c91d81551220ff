"""Error reporting to Sentry when SENTRY_DSN is set: crashes, with who and where, and no noise.

`init_error_reporting(settings)` is called by the CLI (never at import). After it:
- unhandled exceptions in HTTP routes arrive through sentry-sdk's Starlette integration;
- our own error-level log events arrive through `report_log_event`, a structlog processor:
  with their traceback when they carry one (`log.exception`), grouped by event name otherwise;
- `before_send` drops what is expected in normal operation (no such document, a client that
  went away, a refused token) and strips every event down to what we choose to send: the user
  id, the project, the room and the request id as tags, the route without its query string
  (y-websocket puts the token there). No request bodies, headers, cookies, IP addresses or
  local variables (they could hold document content) are ever sent.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import MutableMapping
from typing import Any

import sentry_sdk
import structlog
from sentry_sdk.integrations.logging import LoggingIntegration
from sentry_sdk.types import Event, Hint
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.websockets import WebSocketDisconnect, WebSocketDisconnected

from server import __version__
from server.auth import AuthError
from server.http_auth import HttpError
from server.rooms import DocumentNotFound
from server.settings import Settings

_EXPECTED: tuple[type[BaseException], ...] = (
    AuthError,
    DocumentNotFound,
    ClientDisconnect,
    WebSocketDisconnect,
    WebSocketDisconnected,
    ConnectionResetError,
    BrokenPipeError,
    asyncio.CancelledError,
)
_CONTEXT_TAGS = ("request_id", "project_id", "room")
_SAFE_HEADERS = ("user-agent", "content-type", "x-request-id")
# Log fields that are bookkeeping, not context worth sending.
_NOT_EXTRA = frozenset(("event", "level", "logger", "timestamp", "exc_info", "user_id"))


def init_error_reporting(settings: Settings, *, component: str = "server") -> bool:
    """Start the SDK if a DSN is configured; return whether it runs."""
    if not settings.sentry_dsn:
        return False
    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        release=f"storyarn@{__version__}",
        environment=settings.env.value,
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        before_send=before_send,
        # Our log events reach Sentry through `report_log_event`, with their tracebacks;
        # the stock handler would see only structlog's rendered dict.
        integrations=[LoggingIntegration(level=None, event_level=None, sentry_logs_level=None)],
        traces_sample_rate=None,
    )
    sentry_sdk.set_tag("component", component)
    return True


def expected(error: BaseException) -> bool:
    if isinstance(error, _EXPECTED):
        return True
    if isinstance(error, HTTPException | HttpError):
        status = error.status_code if isinstance(error, HTTPException) else error.status
        return status < 500
    return False


def before_send(event: Event, hint: Hint) -> Event | None:
    exc_info = hint.get("exc_info")
    if exc_info and isinstance(exc_info[1], BaseException) and expected(exc_info[1]):
        return None
    # Called in the task that raised: structlog's context says who and where.
    context = structlog.contextvars.get_contextvars()
    tags = dict(event.get("tags") or {})
    for name in _CONTEXT_TAGS:
        if context.get(name):
            tags[name] = str(context[name])
    event["tags"] = tags
    user_id = context.get("user_id")
    if user_id:
        event["user"] = {"id": str(user_id)}
    else:
        event.pop("user", None)
    request = event.get("request")
    if request:
        headers: Any = request.get("headers") or {}
        event["request"] = {
            "method": request.get("method"),
            "url": str(request.get("url", "")).split("?", 1)[0],
            "headers": {k: v for k, v in dict(headers).items() if k.lower() in _SAFE_HEADERS},
        }
    return event


def report_log_event(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: send error-level events to Sentry while it runs."""
    if method_name not in ("error", "exception", "critical"):
        return event_dict
    if not sentry_sdk.get_client().is_active():
        return event_dict
    name = str(event_dict.get("event", ""))
    with sentry_sdk.new_scope() as scope:
        scope.set_tag("event", name)
        scope.fingerprint = ["{{ default }}", name]
        for key, value in event_dict.items():
            if key in _CONTEXT_TAGS:
                scope.set_tag(key, str(value))  # bound in context or given with the event
            elif key not in _NOT_EXTRA:
                scope.set_extra(key, value)
        error = _exception(event_dict.get("exc_info"))
        if error is not None:
            scope.capture_exception(error)
        else:
            scope.fingerprint = [name]
            scope.capture_message(name, level="error")
    return event_dict


def _exception(exc_info: object) -> BaseException | None:
    if isinstance(exc_info, BaseException):
        return exc_info
    if isinstance(exc_info, tuple) and len(exc_info) == 3:
        error = exc_info[1]
        return error if isinstance(error, BaseException) else None
    if exc_info:
        return sys.exc_info()[1]
    return None
