"""Cursor pagination for every REST list: `?limit=&cursor=` in, `{"items", "next_cursor"}` out.

A cursor is opaque to clients: URL-safe base64 of the JSON sort key of the last item served.
Lists are read in a fixed total order (ties broken by id), so a cursor stays valid while items
are added or removed: the next page starts after that key, whatever happened meanwhile.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from server.api_schema import rule
from server.http_auth import HttpError

T = TypeVar("T")
DEFAULT_LIMIT = 100
MAX_LIMIT = 500
Key = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class PageQuery:
    """`limit` items at most (1-500, default 100), after `cursor` (from `next_cursor`)."""

    limit: int = field(default=DEFAULT_LIMIT, metadata=rule(minimum=1, maximum=MAX_LIMIT))
    cursor: str | None = field(default=None, metadata=rule(min_length=1, max_length=1000))


def encode_cursor(key: Key) -> str:
    raw = json.dumps(list(key), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Key | None:
    """The key a cursor carries; 422 for one this server did not make."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise _bad_cursor() from exc
    if not isinstance(key, list) or not all(isinstance(k, str | int | float) for k in key):
        raise _bad_cursor()
    return tuple(key)


def _bad_cursor() -> HttpError:
    return HttpError(
        422,
        "cursor is not one this list gave",
        details=[{"field": "cursor", "message": "is not a next_cursor of this list"}],
    )


def page_body(items: Sequence[Any], next_key: Key | None) -> dict[str, Any]:
    return {
        "items": list(items),
        "next_cursor": None if next_key is None else encode_cursor(next_key),
    }


def paginate(
    items: Sequence[T], key: Callable[[T], Key], query: PageQuery
) -> tuple[list[T], Key | None]:
    """One page of an in-memory list ordered by `key`, and the key to continue after."""
    after = decode_cursor(query.cursor)
    ordered = sorted(items, key=key)
    if after is not None:
        try:
            ordered = [item for item in ordered if key(item) > after]
        except TypeError as exc:  # a cursor of another list: its key compares with nothing here
            raise _bad_cursor() from exc
    page = ordered[: query.limit]
    more = len(ordered) > query.limit
    return page, key(page[-1]) if more and page else None
