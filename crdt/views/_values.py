"""Shared vocabulary of the views: plain JSON <-> Yjs values, shapes, and problem reports.

JSON -> Yjs: objects become Y.Map and lists Y.Array (so two people can edit different entries
concurrently), numbers become floats (what every peer reads back, JS semantics), and a string
becomes a Y.Text or a rich-text Y.XmlFragment only where the document's `Shape` says so.
Yjs -> JSON needs no shape: Y.Text is read as a string, an XmlFragment as `<p>`/`<br>` HTML, and
an integral float as an int (as `JSON.stringify` would print it).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeAlias, TypeGuard

from pycrdt import Array, Doc, Map, Text, XmlElement, XmlFragment, XmlText

from crdt.errors import CrdtError
from crdt.views.richtext import fragment_to_html, html_to_fragment, write_html

_MAX_SAFE_INTEGER = 2**53 - 1


class ViewError(CrdtError, ValueError):
    """A view was asked for something impossible: an unknown id, a cycle, a wrong value."""


@dataclass(frozen=True, slots=True)
class Problem:
    """Something odd found while reading a document, reported instead of raised."""

    path: str  # where, e.g. "nodes/<id>/type" or "connections/<id>"
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class Rich(Enum):
    """Which collaborative string type a field holds."""

    TEXT = "text"  # Y.Text: plain text edited character by character
    XML = "xml"  # Y.XmlFragment: paragraphs and hard breaks (TipTap)


@dataclass(frozen=True, slots=True)
class Each:
    """Every item of a Y.Array has this shape."""

    shape: Shape


# Where the Y.Text / XmlFragment fields sit; anything not named is converted generically.
Shape: TypeAlias = "Rich | Mapping[str, Shape] | Each"


def to_y(value: Any, shape: Shape | None = None) -> Any:
    """Convert a JSON value into a (not yet integrated) Yjs value following `shape`."""
    if isinstance(value, str):
        if shape is Rich.TEXT:
            return Text(value)
        if shape is Rich.XML:
            return html_to_fragment(value)
        return value
    if isinstance(value, Mapping):
        fields = shape if isinstance(shape, Mapping) else {}
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ViewError(f"object key {key!r} is not a string")
            out[key] = to_y(item, fields.get(key))
        return Map(out)
    if isinstance(value, list | tuple):
        item_shape = shape.shape if isinstance(shape, Each) else None
        return Array([to_y(item, item_shape) for item in value])
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        number = float(value)
        if not math.isfinite(number):
            raise ViewError(f"{value!r} is not a JSON number")
        return number  # what remote peers read anyway
    raise ViewError(f"{type(value).__name__} is not a JSON value")


def to_json(value: Any) -> Any:
    """A plain JSON-able copy of any value read from a Doc."""
    if isinstance(value, Map):
        # Sorted keys: Y.Map iteration order is not part of the CRDT, and exports should diff.
        return {key: to_json(item) for key, item in sorted(value.items(), key=by_key)}
    if isinstance(value, Array):
        return [to_json(item) for item in value]
    if isinstance(value, Text):
        return str(value)
    if isinstance(value, XmlFragment):
        return fragment_to_html(value)
    if isinstance(value, XmlElement | XmlText):  # never a field of ours; keep its markup
        return str(value)
    if isinstance(value, dict):  # an atomic JSON object written by a peer
        return {str(key): to_json(item) for key, item in sorted(value.items(), key=by_key)}
    if isinstance(value, list):
        return [to_json(item) for item in value]
    if isinstance(value, float) and value.is_integer() and abs(value) <= _MAX_SAFE_INTEGER:
        return int(value)
    return value


def snapshot(target: Map[Any]) -> dict[str, Any]:
    """A plain copy of a map of scalars, made by yrs' own JSON encoder in one native call.

    Much faster than reading entry by entry (each read is a Python -> Rust round trip), but a
    Y.Text comes out as its string and an XmlFragment as raw XML: use only on scalar maps.
    """
    copy = json.loads(str(target))
    return copy if isinstance(copy, dict) else {}


def by_key(entry: tuple[Any, Any]) -> str:
    """Sort key for (key, value) pairs: the key only, values may not be comparable."""
    return str(entry[0])


def assign(target: Map[Any], key: str, value: Any, shape: Shape | None = None) -> None:
    """Set `target[key]`, rewriting an existing Y.Text / XmlFragment in place.

    Rewriting in place keeps the shared object, so editors bound to it stay bound; replacing it
    would detach them and drop their concurrent keystrokes.
    """
    current = target.get(key)
    if shape is Rich.TEXT and isinstance(value, str) and isinstance(current, Text):
        with current.doc.transaction():
            current.clear()
            current.insert(0, value)
        return
    if shape is Rich.XML and isinstance(value, str) and isinstance(current, XmlFragment):
        write_html(current, value)
        return
    target[key] = to_y(value, shape)


def root_map(doc: Doc[Any], name: str) -> Map[Any]:
    # Always through get(type=...): after apply_update, doc.items() yields None for each root.
    root: Map[Any] = doc.get(name, type=Map)
    return root


def root_array(doc: Doc[Any], name: str) -> Array[Any]:
    root: Array[Any] = doc.get(name, type=Array)
    return root


def child_map(parent: Map[Any], key: str, what: str) -> Map[Any]:
    """`parent[key]` as a Y.Map, or `ViewError` naming `what` is missing."""
    value = parent.get(key)
    if not isinstance(value, Map):
        raise ViewError(f"{what} {key!r} does not exist")
    return value


def is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def as_text(value: Any) -> str | None:
    """A string field that a peer may have written as str, Y.Text or XmlFragment."""
    if isinstance(value, str):
        return value
    if isinstance(value, Text | XmlFragment):
        return str(to_json(value))
    return None


class Problems:
    """Collects `Problem`s while reading, with readers for fields that may be missing or odd."""

    def __init__(self) -> None:
        self.found: list[Problem] = []

    def add(self, path: str, message: str) -> None:
        self.found.append(Problem(path, message))

    def string(self, m: Map[Any], key: str, path: str, *, required: bool = False) -> str | None:
        """A string (or Y.Text) field; None if absent or null, reported if required or odd."""
        value = m.get(key)
        if value is None:
            if required:
                self.add(path, f"{key} is missing")
            return None
        text = as_text(value)
        if text is None:
            self.add(path, f"{key} is not a string")
        return text

    def number(self, m: Map[Any], key: str, path: str, default: float = 0.0) -> float:
        value = m.get(key)
        if is_number(value):
            return float(value)
        self.add(path, f"{key} is not a number")
        return default
