"""Request bodies and queries as dataclasses: what passes, what is refused, and the schema."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pytest

from server.api_schema import json_schema, parse_body, parse_query, rule
from server.http_auth import HttpError


@dataclass(frozen=True, slots=True)
class Body:
    """A body with one of each kind of field."""

    name: str = field(metadata=rule(min_length=1, max_length=5))
    kind: Literal["a", "b"] = "a"
    x: float = field(default=0.0, metadata=rule(minimum=-1, maximum=1))
    count: int | None = None
    tags: list[str] | None = None
    data: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Query:
    """Query parameters."""

    limit: int = 10
    deleted: bool = False
    cursor: str | None = None


def _details(raw: bytes) -> list[dict[str, str]]:
    with pytest.raises(HttpError) as caught:
        parse_body(Body, raw)
    assert caught.value.status == 422
    return list(caught.value.details or [])


def test_api_schema_builds_a_valid_body() -> None:
    body = parse_body(Body, b'{"name": "ann", "x": 1, "tags": ["t"], "data": {"k": [1]}}')
    assert body == Body(name="ann", x=1.0, tags=["t"], data={"k": [1]})
    assert isinstance(body.x, float)  # JSON's 1 in a float field


@pytest.mark.parametrize(
    ("raw", "fields"),
    [
        (b"{}", ["name"]),
        (b'{"name": ""}', ["name"]),
        (b'{"name": "toolong"}', ["name"]),
        (b'{"name": "a", "kind": "c"}', ["kind"]),
        (b'{"name": "a", "x": 2}', ["x"]),
        (b'{"name": "a", "x": true}', ["x"]),
        (b'{"name": "a", "x": NaN}', ["x"]),
        (b'{"name": "a", "count": 1.5}', ["count"]),
        (b'{"name": "a", "tags": [1]}', ["tags"]),
        (b'{"name": "a", "data": []}', ["data"]),
        (b'{"name": "a", "extra": 1}', ["extra"]),
        (b'{"name": null, "kind": null}', ["name", "kind"]),
        (b"[1]", [""]),
    ],
)
def test_api_schema_refuses_with_a_detail_per_field(raw: bytes, fields: list[str]) -> None:
    assert [d["field"] for d in _details(raw)] == fields


def test_api_schema_tells_bad_json_from_a_bad_body() -> None:
    for raw in (b"{", b"[" * 100_000):
        with pytest.raises(HttpError) as caught:
            parse_body(Body, raw)
        assert caught.value.status == 400
    assert parse_body(Query, b"", optional=True) == Query()


def test_api_schema_parses_query_strings() -> None:
    assert parse_query(Query, {"limit": "5", "deleted": "true", "other": "x"}) == Query(5, True)
    for bad in ({"limit": "five"}, {"deleted": "maybe"}):
        with pytest.raises(HttpError) as caught:
            parse_query(Query, bad)
        assert caught.value.status == 422


def test_api_schema_is_the_json_schema_of_the_dataclass() -> None:
    schema = json_schema(Body)
    assert schema["required"] == ["name"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["name"] == {"type": "string", "minLength": 1, "maxLength": 5}
    assert schema["properties"]["kind"] == {"type": "string", "enum": ["a", "b"]}
    assert schema["properties"]["count"] == {"anyOf": [{"type": "integer"}, {"type": "null"}]}
    assert schema["description"] == "A body with one of each kind of field."
