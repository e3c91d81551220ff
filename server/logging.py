"""One logging set-up for our events and every library's: structlog, configured once.

JSON lines outside development, a readable console in development, the same fields for our
events and for uvicorn's, SQLAlchemy's and Alembic's lines: every line of a request or a
connection carries the context bound for it (`request_id`, `user_id`, `project_id`, `room`; see
server/request_context.py). What must never reach a log line is kept out here, once:
- query strings (y-websocket puts the token there) are cut from every string field;
- libraries that dump frames or query results at debug level (the document's content) are held
  at warning, whatever STORYARN_LOG_LEVEL says, and the websocket frames uvicorn's transport
  dumps at debug level are dropped;
- tracebacks are rendered without local variables.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog
from websockets.frames import Frame

from server.error_reporting import report_log_event
from server.settings import Settings

# "?name=value...": a query string; a lone "?" in prose is left alone.
_QUERY = re.compile(r"\?(?=[^\s\"'?]*=)[^\s\"']*")
_REDACTED = "?[redacted]"
# Their debug lines carry frame payloads or rows: document content.
_HELD_AT_WARNING = ("websockets", "aiosqlite", "asyncpg", "hpack", "httpcore")


def redact(text: str) -> str:
    return _QUERY.sub(_REDACTED, text)


class RedactQueryStrings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


class DropFrameDumps(logging.Filter):
    """The websocket protocol logs every frame, payload in hex, at debug level: never keep it."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        return not (isinstance(args, tuple) and args and isinstance(args[0], Frame))


def redact_fields(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: the last line of defence, on every field of every line."""
    for key, value in event_dict.items():
        if isinstance(value, str) and "?" in value:
            event_dict[key] = redact(value)
    return event_dict


def configure_logging(settings: Settings) -> None:
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor
    if settings.is_development:
        # Plain tracebacks: the rich ones print local variables (tokens, document content).
        renderer = structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)
        rendering: list[structlog.types.Processor] = [redact_fields, renderer]
    else:
        rendering = [structlog.processors.format_exc_info, redact_fields]
        rendering.append(structlog.processors.JSONRenderer())
    structlog.configure(
        processors=[
            *shared,
            report_log_event,  # a no-op unless SENTRY_DSN started error reporting
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *rendering],
        )
    )
    handler.addFilter(DropFrameDumps())
    handler.addFilter(RedactQueryStrings())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    level = logging.getLevelName(settings.log_level.upper())
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lib_logger = logging.getLogger(name)
        lib_logger.handlers[:] = []
        lib_logger.propagate = True
    for name in _HELD_AT_WARNING:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
