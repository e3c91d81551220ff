"""Websocket close codes (DESIGN.md §4) and the one place where errors become them.

4400-4499 mean "do not retry": the stock y-websocket client stops reconnecting on them.
"""

from __future__ import annotations

from enum import IntEnum

from crdt.errors import CrdtError, TooLarge


class CloseCode(IntEnum):
    NORMAL = 1000
    GOING_AWAY = 1001
    INTERNAL_ERROR = 1011
    SERVER_RESTARTING = 1012
    TRY_AGAIN_LATER = 1013  # overloaded, slow consumer, storage unavailable
    MALFORMED = 4400
    UNAUTHENTICATED = 4401
    FORBIDDEN = 4403
    NOT_FOUND = 4404
    TOO_LARGE = 4413
    RATE_LIMITED = 4429


def close_code_for(error: CrdtError) -> CloseCode:
    if isinstance(error, TooLarge):
        return CloseCode.TOO_LARGE
    return CloseCode.MALFORMED


def close_reason(message: str) -> str:
    # A close frame's reason is at most 123 bytes of UTF-8.
    encoded = message.encode()[:123]
    return encoded.decode(errors="ignore")
