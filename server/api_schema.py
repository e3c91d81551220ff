"""Typed request bodies and query strings: a frozen dataclass is both the validator and the schema.

A route declares `body=CreateNode`; `parse_body` turns the JSON into a `CreateNode` or raises a
422 listing every bad field, and `json_schema(CreateNode)` is what the OpenAPI document shows,
so the two cannot disagree. Field constraints ride in `field(metadata=rule(...))`. Supported
annotations: str, int, float, bool, Literal[...], dict[str, Any], list[...], Any, and `X | None`.
Unknown keys are refused: a typo must not be silently ignored.
"""

from __future__ import annotations

import dataclasses
import json
import re
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from server.http_auth import HttpError

T = TypeVar("T")


def rule(
    *,
    min_length: int | None = None,
    max_length: int | None = None,
    pattern: str | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """Constraints of one field, in JSON Schema's words (put in `field(metadata=...)`)."""
    found = {
        "minLength": min_length,
        "maxLength": max_length,
        "pattern": pattern,
        "minimum": minimum,
        "maximum": maximum,
        "description": description,
    }
    return {"schema": {k: v for k, v in found.items() if v is not None}}


def _is_optional(annotation: Any) -> tuple[bool, Any]:
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) != 1 or len(get_args(annotation)) != 2:
            raise TypeError(f"only `X | None` unions are supported, not {annotation!r}")
        return True, args[0]
    return False, annotation


def type_schema(annotation: Any) -> dict[str, Any]:
    """The JSON Schema of one annotation."""
    optional, inner = _is_optional(annotation)
    schema = _plain_schema(inner)
    if optional:
        return {"anyOf": [schema, {"type": "null"}]}
    return schema


def _plain_schema(annotation: Any) -> dict[str, Any]:
    origin = get_origin(annotation)
    if annotation is str:
        return {"type": "string"}
    if annotation is bool:
        return {"type": "boolean"}
    if annotation is int:
        return {"type": "integer"}
    if annotation is float:
        return {"type": "number"}
    if annotation is Any:
        return {}
    if origin is Literal:
        return {"type": "string", "enum": list(get_args(annotation))}
    if origin is dict:
        return {"type": "object"}
    if origin is list:
        (item,) = get_args(annotation)
        return {"type": "array", "items": type_schema(item)}
    raise TypeError(f"no schema for {annotation!r}")


_FIELDS: dict[type[Any], tuple[tuple[dataclasses.Field[Any], Any], ...]] = {}


def _fields(cls: type[Any]) -> tuple[tuple[dataclasses.Field[Any], Any], ...]:
    found = _FIELDS.get(cls)
    if found is None:  # resolved once per class: annotations are strings under __future__
        hints = typing.get_type_hints(cls)
        found = _FIELDS[cls] = tuple((f, hints[f.name]) for f in dataclasses.fields(cls))
    return found


def _required(f: dataclasses.Field[Any]) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def json_schema(cls: type[Any]) -> dict[str, Any]:
    """The JSON Schema of a body dataclass: an object with exactly its fields."""
    properties: dict[str, Any] = {}
    for f, annotation in _fields(cls):
        schema = type_schema(annotation)
        extra = f.metadata.get("schema", {})
        if extra and "anyOf" in schema:
            schema["anyOf"][0].update(extra)
        else:
            schema.update(extra)
        properties[f.name] = schema
    required = [f.name for f, _ in _fields(cls) if _required(f)]
    out: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        out["required"] = required
    if cls.__doc__:
        out["description"] = cls.__doc__.strip().splitlines()[0]
    return out


def _check_type(value: Any, annotation: Any) -> str | None:
    """Why `value` does not fit `annotation`, or None when it does."""
    optional, inner = _is_optional(annotation)
    if value is None:
        return None if optional or inner is Any else "must not be null"
    origin = get_origin(inner)
    if inner is Any:
        return None
    if inner is str:
        return None if isinstance(value, str) else "must be a string"
    if inner is bool:
        return None if isinstance(value, bool) else "must be a boolean"
    if inner is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else "must be an integer"
    if inner is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok and value == value and abs(value) != float("inf") else "must be a number"
    if origin is Literal:
        choices = get_args(inner)
        return None if value in choices else f"must be one of {', '.join(map(str, choices))}"
    if origin is dict:
        return None if isinstance(value, dict) else "must be an object"
    if origin is list:
        if not isinstance(value, list):
            return "must be an array"
        (item,) = get_args(inner)
        problems = (_check_type(v, item) for v in value)
        return next((f"items {p}" for p in problems if p), None)
    raise TypeError(f"cannot check {inner!r}")  # pragma: no cover - a route's own mistake


def _check_rules(value: Any, rules: Mapping[str, Any]) -> str | None:
    if isinstance(value, str):
        if "minLength" in rules and len(value) < rules["minLength"]:
            return f"must be at least {rules['minLength']} characters"
        if "maxLength" in rules and len(value) > rules["maxLength"]:
            return f"must be at most {rules['maxLength']} characters"
        if "pattern" in rules and not re.search(rules["pattern"], value):
            return f"must match {rules['pattern']}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in rules and value < rules["minimum"]:
            return f"must be at least {rules['minimum']}"
        if "maximum" in rules and value > rules["maximum"]:
            return f"must be at most {rules['maximum']}"
    return None


def detail(field: str, message: str) -> dict[str, str]:
    """One entry of a 422's `details`."""
    return {"field": field, "message": message}


def invalid(field: str, message: str) -> HttpError:
    """A 422 about one field, for checks a schema cannot express (a node that does not exist)."""
    return HttpError(422, f"{field} {message}", details=[detail(field, message)])


def build(cls: type[T], payload: Any, *, where: str = "body") -> T:
    """Validate a decoded JSON value against `cls`; 422 with every problem found."""
    if not isinstance(payload, dict):
        raise HttpError(
            422, f"the {where} must be a JSON object", details=[detail("", "is not an object")]
        )
    problems: list[dict[str, str]] = []
    known = {f.name for f, _ in _fields(cls)}
    for key in sorted(set(payload) - known, key=str):
        problems.append(detail(str(key), "is not a known field"))
    values: dict[str, Any] = {}
    for f, annotation in _fields(cls):
        if f.name not in payload:
            if _required(f):
                problems.append(detail(f.name, "is required"))
            continue
        value = payload[f.name]
        problem = _check_type(value, annotation) or (
            _check_rules(value, f.metadata.get("schema", {})) if value is not None else None
        )
        if problem:
            problems.append(detail(f.name, problem))
            continue
        if value is not None and _is_optional(annotation)[1] is float:
            value = float(value)  # JSON's 1 is a float field's 1.0
        values[f.name] = value
    if problems:
        summary = "; ".join(f"{p['field']} {p['message']}" for p in problems)
        raise HttpError(422, f"invalid {where}: {summary}", details=problems)
    return cls(**values)


def parse_body(cls: type[T], raw: bytes, *, optional: bool = False) -> T:
    """The request body as `cls`: 400 when it is not JSON, 422 when it does not fit."""
    if not raw.strip():
        if optional:
            return build(cls, {})
        raise HttpError(422, "a JSON body is required", details=[detail("", "is required")])
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        raise HttpError(400, "the body must be JSON") from exc
    return build(cls, payload)


_FLAGS = {"true": True, "1": True, "false": False, "0": False}


def parse_query(cls: type[T], query: Mapping[str, str]) -> T:
    """Query parameters as `cls`: integers are converted, then checked like a body."""
    payload: dict[str, Any] = {}
    problems: list[dict[str, str]] = []
    hints = {f.name: a for f, a in _fields(cls)}
    for key, raw in query.items():
        if key not in hints:
            continue  # unknown parameters (a cache-buster) are ignored, as most APIs do
        annotation = _is_optional(hints[key])[1]
        if annotation is bool:
            flag = _FLAGS.get(raw.lower())
            if flag is None:
                problems.append(detail(key, "must be true or false"))
                continue
            payload[key] = flag
        elif annotation is int:
            try:
                payload[key] = int(raw)
            except ValueError:
                problems.append(detail(key, "must be an integer"))
                continue
        else:
            payload[key] = raw
    if problems:
        summary = "; ".join(f"{p['field']} {p['message']}" for p in problems)
        raise HttpError(422, f"invalid query: {summary}", details=problems)
    return build(cls, payload, where="query")


def query_parameters(cls: type[Any]) -> list[dict[str, Any]]:
    """OpenAPI `parameters` entries for a query dataclass."""
    params = []
    for f, _annotation in _fields(cls):
        schema = json_schema(cls)["properties"][f.name]
        if "anyOf" in schema:
            schema = schema["anyOf"][0]
        params.append({"name": f.name, "in": "query", "required": _required(f), "schema": schema})
    return params
